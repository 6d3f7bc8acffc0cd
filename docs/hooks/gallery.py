"""MkDocs hook: one page per reproduction-gallery entry, from its committed run.

``python docs/gallery/generate.py`` runs every entry of ``gamedyn reproduce`` in its
full setting and writes ``docs/gallery/<name>/`` (claims.json, reproduction.json and
the PNGs). This hook turns each such folder into ``gallery/<name>.md`` (the figures,
the claims table, the paper) and writes the gallery's index table. An entry without
a committed run fails the build, so the site never lacks one.
"""

from __future__ import annotations

import json
import os

GALLERY = "gallery"


def _cell(value) -> str:
    if isinstance(value, float):
        text = f"{value:.6g}"
    elif isinstance(value, list):
        text = ", ".join(_cell(v) for v in value[:8]) + (
            ", …" if len(value) > 8 else ""
        )
        text = f"[{text}]"
    else:
        text = str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _entry_page(name: str, folder: str) -> tuple[str, dict]:
    with open(os.path.join(folder, "reproduction.json")) as f:
        info = json.load(f)
    with open(os.path.join(folder, "claims.json")) as f:
        claims = json.load(f)
    e = info["entry"]
    held = sum(c["holds"] for c in claims)
    lines = [
        f"# {e['name']}: {e['title']}",
        "",
        f"**Paper.** {e['paper']}",
        "",
        f"**Redrawn.** {e['figures']}",
        "",
    ]
    if e["reference"]:
        lines += [f"**The paper's code.** <{e['reference']}>", ""]
    setting = "quick" if info["quick"] else "full"
    lines += [
        f"**Verdict.** {held} of {len(claims)} claims hold ({setting} setting, "
        f"{info['seconds']:.0f} s on the machine that built these pages).",
        "",
        "```bash",
        f"gamedyn reproduce {name} --out runs/reproduce/{name}",
        "```",
        "",
    ]
    for png in sorted(p for p in os.listdir(folder) if p.endswith(".png")):
        stem = png[:-4]
        lines += [f"![{name}: {stem}]({name}/{png})", ""]
    lines += [
        "## Claims",
        "",
        "| # | Claim | Paper | Ours | Tolerance | Holds |",
        "|---|---|---|---|---|---|",
    ]
    for i, c in enumerate(claims, 1):
        lines.append(
            f"| {i} | {_cell(c['claim'])} | {_cell(c['paper'])} | {_cell(c['ours'])} "
            f"| {_cell(c['tolerance'])} | {'yes' if c['holds'] else '**no**'} |"
        )
    return "\n".join(lines) + "\n", {"entry": e, "held": held, "total": len(claims)}


def on_files(files, config):
    from mkdocs.structure.files import File

    from gamedyn.experiments import reproduce

    root = os.path.join(config["docs_dir"], GALLERY)
    rows = []
    for name in reproduce.names():
        folder = os.path.join(root, name)
        if not os.path.exists(os.path.join(folder, "claims.json")):
            raise RuntimeError(
                f"gallery entry {name!r} has no committed run in {folder}: "
                "run `python docs/gallery/generate.py`"
            )
        content, summary = _entry_page(name, folder)
        files.append(File.generated(config, f"{GALLERY}/{name}.md", content=content))
        rows.append(summary)
    index = [
        "# Reproduction gallery",
        "",
        "Each entry recomputes one paper's central result with gamedyn, redraws its "
        "figure in the paper's layout and checks the paper's numbers and verdicts "
        "against ours. `gamedyn reproduce --list` lists them; "
        "`gamedyn reproduce NAME --out DIR` writes `DIR/claims.json` and the figures "
        "and exits 0 when every claim holds (`--quick`: the small setting the test "
        "suite runs).",
        "",
        "| Entry | Paper | Claims that hold |",
        "|---|---|---|",
    ]
    for r in rows:
        e = r["entry"]
        index.append(
            f"| [{e['name']}]({e['name']}.md) | {_cell(e['paper'])} "
            f"| {r['held']}/{r['total']} |"
        )
    files.append(
        File.generated(config, f"{GALLERY}/index.md", content="\n".join(index) + "\n")
    )
    return files
