"""The documentation site's sources: navigation, gallery runs, the README's table.

``mkdocs build --strict`` itself runs in ``.ci/run`` (it needs the ``docs`` extra);
these checks need only the repository: every guide and notebook is in the
navigation, every gallery entry has a committed full run whose claims all hold, and
the README's gallery table is the one ``docs/gallery/generate.py`` writes from them.
"""

from __future__ import annotations

import importlib.util
import json
import pathlib
import re

import pytest

from gamedyn.experiments import reproduce

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def _load(path: pathlib.Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _nav() -> str:
    return (ROOT / "mkdocs.yml").read_text()


def test_every_guide_and_notebook_is_in_the_navigation():
    nav = _nav()
    pages = [p.name for p in DOCS.glob("*.md")]
    notebooks = [f"notebooks/{p.name}" for p in (ROOT / "notebooks").glob("*.ipynb")]
    missing = [
        p for p in pages + notebooks if not re.search(rf"\b{re.escape(p)}\b", nav)
    ]
    assert not missing, f"not in mkdocs.yml's nav: {missing}"
    assert (DOCS / "notebooks").resolve() == (ROOT / "notebooks").resolve()


@pytest.mark.parametrize("name", reproduce.names())
def test_gallery_entry_has_a_committed_full_run(name):
    folder = DOCS / "gallery" / name
    info = json.loads((folder / "reproduction.json").read_text())
    claims = json.loads((folder / "claims.json").read_text())
    assert info["entry"]["name"] == name and info["quick"] is False
    assert claims and all(
        set(c) == {"claim", "paper", "ours", "tolerance", "holds"} for c in claims
    )
    assert info["holds"] == all(c["holds"] for c in claims)
    assert list(folder.glob("*.png")), f"{folder} has no figure"
    assert info["entry"] == reproduce.entry(name)._asdict()


def test_gallery_page_shows_every_claim_and_figure():
    hook = _load(DOCS / "hooks" / "gallery.py", "gallery_hook")
    for name in reproduce.names():
        folder = DOCS / "gallery" / name
        page, summary = hook._entry_page(name, str(folder))
        claims = json.loads((folder / "claims.json").read_text())
        assert summary["total"] == len(claims)
        assert page.count("\n| ") == len(claims) + 1  # header + one row per claim
        for png in folder.glob("*.png"):
            assert f"({name}/{png.name})" in page


def test_readme_gallery_table_matches_the_committed_runs():
    generate = _load(DOCS / "gallery" / "generate.py", "gallery_generate")
    readme = (ROOT / "README.md").read_text()
    table = readme.split(generate.START, 1)[1].split(generate.END, 1)[0].strip()
    assert table == generate.readme_table(list(reproduce.names()))
    assert len(reproduce.names()) >= 12
