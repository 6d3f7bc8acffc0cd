"""The package's layers: a module imports only from its own layer or below.

Walks every module's imports (function-level imports included) with ``ast``:
games never import dynamics/analysis/sweeps/cli/plotting, dynamics never import
analysis/sweeps/cli, metrics/data/models are leaves, plotting never re-runs a model,
only ``gamedyn.cli`` prints or draws progress bars, and nothing outside ``gamedyn/cli``
and ``tests/cli`` imports ``gamedyn.cli``.
"""

import ast
import json
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "gamedyn"

LAYERS = [
    (
        0,
        (
            "gamedyn._game",
            "gamedyn._validate",
            "gamedyn.losses",
            "gamedyn.regularizers",
            "gamedyn.transforms",
            "gamedyn.optimizers",
            "gamedyn.io",
            "gamedyn.results",
            "gamedyn.outcomes",
            "gamedyn.data",
            "gamedyn.models",
            "gamedyn.metrics",
        ),
    ),
    (1, ("gamedyn.games",)),
    (2, ("gamedyn.dynamics",)),
    (3, ("gamedyn.simulation", "gamedyn.train", "gamedyn.flows")),
    (4, ("gamedyn.analysis",)),
    (5, ("gamedyn.sweeps", "gamedyn.distributed")),
    (6, ("gamedyn.experiments",)),
    (7, ("gamedyn.plotting",)),
    (8, ("gamedyn.cli", "gamedyn.__main__")),
]

# Imports forbidden beyond the layer order (issue: "metrics, data and models are
# leaves below games"; "plotting reads result values and never re-runs the model").
EXTRA = {
    "gamedyn.metrics": ("gamedyn.data", "gamedyn.io", "gamedyn.train"),
    "gamedyn.data": ("gamedyn.models", "gamedyn.metrics"),
    "gamedyn.plotting": (
        "gamedyn._game",
        "gamedyn.games",
        "gamedyn.dynamics",
        "gamedyn.train",
        "gamedyn.sweeps",
    ),
    "gamedyn.experiments": ("argparse", "tqdm", "matplotlib"),
}


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def layer(name: str) -> int | None:
    for level, prefixes in LAYERS:
        if any(_within(name, p) for p in prefixes):
            return level
    return None


def module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = sorted(PACKAGE.rglob("*.py"))


def imports(path: pathlib.Path) -> list[str]:
    """Every module ``path`` imports (``from gamedyn import x`` gives gamedyn.x)."""
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            found += [f"{node.module}.{a.name}" for a in node.names]
    return found


def test_every_module_has_a_layer():
    for path in MODULES:
        name = module_name(path)
        if name != "gamedyn":
            assert layer(name) is not None, f"{name} has no layer in test_layers.py"


@pytest.mark.parametrize("path", MODULES, ids=[module_name(p) for p in MODULES])
def test_imports_respect_the_layers(path):
    name = module_name(path)
    if name == "gamedyn":
        return
    own = layer(name)
    bad = []
    for imported in imports(path):
        target = layer(imported)
        if target is not None and target > own:
            bad.append(imported)
        for prefix, forbidden in EXTRA.items():
            if _within(name, prefix) and any(_within(imported, f) for f in forbidden):
                bad.append(imported)
    assert not bad, f"{name} (layer {own}) imports {sorted(set(bad))}"


@pytest.mark.parametrize("path", MODULES, ids=[module_name(p) for p in MODULES])
def test_only_the_cli_prints(path):
    name = module_name(path)
    if _within(name, "gamedyn.cli") or name == "gamedyn.__main__":
        return
    tree = ast.parse(path.read_text())
    prints = [
        n.lineno
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "print"
    ]
    bars = [i for i in imports(path) if _within(i, "tqdm")]
    assert not prints, f"{name} prints at lines {prints}"
    assert not bars, f"{name} imports {bars}"


def _sources_outside_the_cli():
    for folder in ("benchmarks", "tests", "docs", "notebooks"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix not in (".py", ".md", ".ipynb"):
                continue
            if path.is_relative_to(ROOT / "tests" / "cli") or path.name == (
                "test_layers.py"
            ):
                continue
            yield path


def test_nothing_outside_the_cli_imports_it():
    offenders = []
    for path in _sources_outside_the_cli():
        text = path.read_text()
        if path.suffix == ".ipynb":
            text = "\n".join("".join(c["source"]) for c in json.loads(text)["cells"])
        if "gamedyn.cli" in text or "from gamedyn import cli" in text:
            offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, f"these import gamedyn.cli: {offenders}"
