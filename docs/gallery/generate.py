"""Regenerates the gallery's committed runs (the full setting of every entry).

Usage: ``python docs/gallery/generate.py [NAME ...]`` (``--readme-only``: rewrite the
README's gallery table from the committed runs without running anything).

Runs ``gamedyn reproduce NAME --out docs/gallery/NAME`` for every entry, or the named
ones, then rewrites the table between the ``gallery`` markers of README.md. The
site's gallery pages are built from these folders by ``docs/hooks/gallery.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
README = os.path.join(HERE, os.pardir, os.pardir, "README.md")
START, END = "<!-- gallery:start -->", "<!-- gallery:end -->"


def committed(name: str) -> tuple[dict, list[dict]]:
    """An entry's committed ``reproduction.json`` and ``claims.json``."""
    folder = os.path.join(HERE, name)
    with open(os.path.join(folder, "reproduction.json")) as f:
        info = json.load(f)
    with open(os.path.join(folder, "claims.json")) as f:
        claims = json.load(f)
    return info, claims


def readme_table(names: list[str]) -> str:
    """The README's gallery table from the committed runs."""
    rows = [
        "| Entry | Paper | Claims that hold (full setting) |",
        "|---|---|---|",
    ]
    for name in names:
        info, claims = committed(name)
        held = sum(c["holds"] for c in claims)
        paper = info["entry"]["paper"].replace("|", "\\|")
        rows.append(f"| `{name}` | {paper} | {held}/{len(claims)} |")
    return "\n".join(rows)


def write_readme(names: list[str]) -> None:
    with open(README) as f:
        text = f.read()
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    with open(README, "w") as f:
        f.write(f"{head}{START}\n{readme_table(names)}\n{END}{tail}")


def main(argv: list[str]) -> int:
    from gamedyn.experiments import reproduce

    every = list(reproduce.names())
    if argv == ["--readme-only"]:
        write_readme(every)
        return 0
    failed = []
    for name in argv or every:
        out = os.path.join(HERE, name)
        status = subprocess.call(
            [sys.executable, "-m", "gamedyn", "reproduce", name, "--out", out]
        )
        if status != 0:
            failed.append(name)
    write_readme(every)
    if failed:
        print(f"claims fail in: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
