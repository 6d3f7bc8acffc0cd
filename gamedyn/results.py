"""Saving and loading results: trajectories, sweep outputs, experiment results.

`gd.save(path, result)` writes any result value — a `gamedyn.Trajectory`, the
dict a `gamedyn.sweep` returns, an experiment's result NamedTuple, or any
nesting of NamedTuples, dicts, tuples, lists, arrays and plain numbers/strings — to
one `.npz` file that NumPy reads without pickle; `gd.load(path)` rebuilds the
same value, arrays bit for bit.

The format is open: every array is an `.npz` member `leaf_00000`,
`leaf_00001`, ..., and the member `__gamedyn__` is a JSON document (stored as a
0-d unicode array) with `format`, `version`, `gamedyn` (the library version
that wrote it) and `tree`, the nesting as JSON: `{"array": i}` for array
`leaf_i` (`"key": true` when it held PRNG keys, saved as their raw
`uint32` data), `{"namedtuple": "module:QualName", "fields": {...}}`,
`{"dict": [[key, node], ...]}`, `{"tuple": [...]}`, `{"list": [...]}` and
`{"value": v}` for JSON scalars. Plain NumPy users get the arrays with
`np.load(path)` and the structure with
`json.loads(np.load(path)["__gamedyn__"].item())`.
"""

from __future__ import annotations

import importlib
import json
import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

FORMAT = "gamedyn-result"
VERSION = 1
HEADER = "__gamedyn__"
_PACKAGES = ("gamedyn", "optax", "flax", "chex")
"""Packages whose NamedTuple types (results, optimizer states) are rebuilt on load."""


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def _encode(node: Any, arrays: list[np.ndarray]) -> Any:
    if _is_namedtuple(node):
        cls = type(node)
        return {
            "namedtuple": f"{cls.__module__}:{cls.__qualname__}",
            "fields": {f: _encode(getattr(node, f), arrays) for f in node._fields},
        }
    if isinstance(node, dict):
        for k in node:
            if not isinstance(k, (str, int)):
                raise TypeError(
                    f"result: dict keys must be strings or integers, got {k!r}"
                )
        return {"dict": [[k, _encode(v, arrays)] for k, v in node.items()]}
    if isinstance(node, tuple):
        return {"tuple": [_encode(v, arrays) for v in node]}
    if isinstance(node, list):
        return {"list": [_encode(v, arrays) for v in node]}
    if node is None or isinstance(node, (bool, str)):
        return {"value": node}
    if isinstance(node, (int, float)) and not isinstance(node, np.generic):
        if isinstance(node, float) and not np.isfinite(node):
            arrays.append(np.asarray(node))
            return {"array": len(arrays) - 1, "scalar": "float"}
        return {"value": node}
    if isinstance(node, (jax.Array, np.ndarray, np.generic)):
        if isinstance(node, jax.core.Tracer):
            raise TypeError("result: cannot save traced values (inside jit/vmap)")
        is_key = jnp.issubdtype(node.dtype, jax.dtypes.prng_key)
        data = np.asarray(jax.random.key_data(node) if is_key else node)
        if data.dtype == object:
            raise TypeError("result: object arrays cannot be saved without pickle")
        arrays.append(data)
        entry: dict[str, Any] = {"array": len(arrays) - 1}
        if is_key:
            entry["key"] = str(jax.random.key_impl(node))
        if isinstance(node, jax.Array):
            entry["jax"] = True
        return entry
    raise TypeError(
        f"result: cannot save a {type(node).__name__}; expected NamedTuples, dicts, "
        "tuples, lists, arrays, numbers, strings or None"
    )


def save(path: str | os.PathLike, result: Any) -> str:
    """Writes `result` to `path` (`.npz` appended when missing).

    Args:
      path: the file to write.
      result: a `gamedyn.Trajectory`, a sweep's output, an experiment's
        result, or any nesting of NamedTuples, dicts, tuples, lists, arrays
        (JAX or NumPy, PRNG keys included), numbers, strings and None.

    Returns:
      The path written.

    Raises:
      TypeError: for values that cannot be stored without pickle (objects,
        functions, traced arrays).
    """
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    arrays: list[np.ndarray] = []
    tree = _encode(result, arrays)
    from gamedyn import __version__

    header = {
        "format": FORMAT,
        "version": VERSION,
        "gamedyn": __version__,
        "tree": tree,
    }
    members = {f"leaf_{i:05d}": a for i, a in enumerate(arrays)}
    members[HEADER] = np.asarray(json.dumps(header))
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = path + ".part"
    with open(tmp, "wb") as f:
        np.savez(f, **members)
    os.replace(tmp, path)
    return path


def _namedtuple_class(name: str):
    module, _, qualname = name.partition(":")
    if module.split(".")[0] not in _PACKAGES:
        return None
    try:
        obj = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        return None
    return obj


def _decode(node: Any, data) -> Any:
    if "array" in node:
        a = data[f"leaf_{node['array']:05d}"]
        if node.get("scalar") == "float":
            return float(a)
        if "key" in node:
            return jax.random.wrap_key_data(jnp.asarray(a), impl=node["key"])
        return jnp.asarray(a) if node.get("jax") else a
    if "value" in node:
        return node["value"]
    if "namedtuple" in node:
        fields = {k: _decode(v, data) for k, v in node["fields"].items()}
        cls = _namedtuple_class(node["namedtuple"])
        if cls is None or tuple(getattr(cls, "_fields", ())) != tuple(fields):
            return fields  # a type this version does not know: its fields, as a dict
        return cls(**fields)
    if "dict" in node:
        return {k: _decode(v, data) for k, v in node["dict"]}
    if "tuple" in node:
        return tuple(_decode(v, data) for v in node["tuple"])
    if "list" in node:
        return [_decode(v, data) for v in node["list"]]
    raise ValueError(f"path: unknown node {sorted(node)} in the file's tree")


def load(path: str | os.PathLike) -> Any:
    """Reads a result written by `save`.

    NamedTuples of gamedyn (and optax's optimizer states) come back as their types
    (a type this version does not have comes back as a dict of its fields); JAX
    arrays as JAX arrays, NumPy arrays as NumPy arrays, PRNG keys as keys.

    Raises:
      ValueError: when the file is not a gamedyn result or was written by a newer
        format version.
    """
    path = os.fspath(path)
    with np.load(path, allow_pickle=False) as data:
        if HEADER not in data.files:
            raise ValueError(f"path: {path} is not a gamedyn result (no {HEADER})")
        header = json.loads(data[HEADER].item())
        if header.get("format") != FORMAT:
            raise ValueError(f"path: {path} is not a gamedyn result")
        if header.get("version", 0) > VERSION:
            raise ValueError(
                f"path: {path} has format version {header['version']}; this gamedyn "
                f"reads up to {VERSION}"
            )
        return _decode(header["tree"], data)
