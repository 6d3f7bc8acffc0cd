"""API hygiene: no shadowed modules, dotted names in the docs resolve, validators."""

import importlib
import pathlib
import pkgutil
import re
import subprocess
import sys

import jax
import numpy as np
import pytest

import gamedyn as gd
from gamedyn import _validate

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _public_modules(package):
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        yield package, info.name, module
        if info.ispkg:
            yield from _public_modules(module)


def test_no_public_module_is_shadowed_by_a_function():
    importlib.import_module("gamedyn.plotting")
    shadowed = [
        f"{pkg.__name__}.{name}"
        for pkg, name, module in _public_modules(gd)
        if getattr(pkg, name) is not module
    ]
    assert not shadowed


DOTTED = re.compile(r"`((?:gd|gamedyn)(?:\.[A-Za-z_][A-Za-z0-9_]*)+)")


def _doc_names():
    names = set()
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for name in DOTTED.findall(path.read_text()):
            names.add((path.name, name))
    return sorted(names)


@pytest.mark.parametrize("where,name", _doc_names())
def test_dotted_names_in_the_docs_resolve(where, name):
    parts = name.split(".")[1:]
    obj = gd
    for i, part in enumerate(parts):
        if not hasattr(obj, part):
            # a submodule that is not imported by its package's __init__
            module = ".".join(["gamedyn", *parts[: i + 1]])
            obj = importlib.import_module(module)
        else:
            obj = getattr(obj, part)


def test_py_typed_marker_is_shipped():
    assert (ROOT / "gamedyn" / "py.typed").is_file()


def test_version_and_python_m():
    out = subprocess.run(
        [sys.executable, "-m", "gamedyn", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip().startswith("gamedyn ")


@pytest.mark.parametrize(
    "fn,args,error,match",
    [
        (_validate.check_int, ("n", np.int64(64), 1), None, None),
        (_validate.check_int, ("n", 64.0, 1), TypeError, "n: expected an integer >= 1"),
        (_validate.check_int, ("n", True), TypeError, "n: expected an integer"),
        (_validate.check_int, ("n", 0, 1), ValueError, "n: expected an integer >= 1"),
        (_validate.check_positive, ("lr", np.float32(0.1)), None, None),
        (_validate.check_positive, ("lr", float("nan")), ValueError, "lr: expected"),
        (_validate.check_positive, ("lr", "0.1"), TypeError, "lr: expected a number"),
        (_validate.check_positive, ("lr", None), TypeError, "lr: expected a number"),
        (
            _validate.check_fraction,
            ("beta1", 1.0),
            ValueError,
            r"beta1: .*\[0.0, 1.0\)",
        ),
        (_validate.check_choice, ("rule", 3, ("a",)), TypeError, "rule: expected one"),
        (_validate.check_choice, ("rule", "b", ("a",)), ValueError, "got 'b'"),
        (_validate.check_key, ("key", 0), None, None),
        (_validate.check_key, ("key", 1.5), TypeError, "key: expected a PRNG key"),
    ],
)
def test_validators(fn, args, error, match):
    if error is None:
        fn(*args)
    else:
        with pytest.raises(error, match=match):
            fn(*args)


def test_check_key_accepts_seeds_typed_and_raw_keys():
    k = jax.random.key(3)
    assert _validate.check_key("key", k) is k
    raw = jax.random.key_data(k)
    np.testing.assert_array_equal(
        jax.random.key_data(_validate.check_key("key", raw)), raw
    )
    np.testing.assert_array_equal(
        jax.random.key_data(_validate.check_key("key", 3)), raw
    )


def test_integer_seeds_are_keys_everywhere():
    import jax.numpy as jnp
    import optax

    game = gd.games.dirac_gan(instance_noise=0.5)
    eq = (jnp.zeros(()), jnp.zeros(()))
    by_seed = gd.analysis.eigenvalues(game, eq, key=3)
    by_key = gd.analysis.eigenvalues(game, eq, key=jax.random.key(3))
    np.testing.assert_array_equal(by_seed, by_key)
    dyn = gd.dynamics.simultaneous(gd.games.dirac_gan(), optax.sgd(0.1))
    assert float(gd.analysis.spectral_radius(dyn, eq, key=3)) == float(
        gd.analysis.spectral_radius(dyn, eq, key=jax.random.key(3))
    )
    for call in (
        lambda: gd.analysis.jacobian(game, eq, key="3"),
        lambda: gd.simulate(dyn, eq, 3, key=1.5),
    ):
        with pytest.raises(TypeError, match="key: expected a PRNG key"):
            call()
