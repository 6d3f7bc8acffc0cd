"""Shared argument validators: one message format for every public function.

Wrong types raise `TypeError`, wrong values `ValueError`; the message
always starts with the argument's name and says what was expected, e.g.
`num_steps: expected an integer >= 0, got -1`. NumPy scalars (`np.int64(64)`,
`np.float32(0.1)`) are accepted wherever Python numbers are; `bool` is never an
integer. Traced JAX values pass the number checks untouched (they are checked by
the caller's shape logic, not here).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def is_traced(value: Any) -> bool:
    """Whether `value` is a JAX tracer (inside `jit`/`vmap`/`grad`)."""
    return isinstance(value, jax.core.Tracer)


def check_int(
    name: str, value: Any, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Returns `value` as a Python `int` after checking it.

    Raises:
      TypeError: when `value` is not an integer (`bool` included).
      ValueError: when it is outside `[minimum, maximum]`.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(
            f"{name}: expected an integer{_range(minimum, maximum)}, got "
            f"{type(value).__name__} {value!r}"
        )
    value = int(value)
    if (minimum is not None and value < minimum) or (
        maximum is not None and value > maximum
    ):
        raise ValueError(
            f"{name}: expected an integer{_range(minimum, maximum)}, got {value}"
        )
    return value


def check_optional_int(
    name: str, value: Any, minimum: int | None = None, maximum: int | None = None
) -> int | None:
    """`check_int`, letting `None` through."""
    return None if value is None else check_int(name, value, minimum, maximum)


def _range(minimum, maximum) -> str:
    if minimum is not None and maximum is not None:
        return f" in [{minimum}, {maximum}]"
    if minimum is not None:
        return f" >= {minimum}"
    if maximum is not None:
        return f" <= {maximum}"
    return ""


def check_float(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
    exclusive_maximum: bool = False,
) -> Any:
    """Checks a real number (finite, in range); traced arrays pass unchecked.

    Returns:
      `float(value)` for a Python or NumPy number, `value` itself for an array.

    Raises:
      TypeError: when `value` is not a real number.
      ValueError: when it is NaN, infinite or out of range.
    """
    if is_traced(value) or (
        isinstance(value, (jax.Array, np.ndarray)) and np.ndim(value) > 0
    ):
        return value
    if isinstance(value, (bool, np.bool_, str, bytes)):
        raise TypeError(
            f"{name}: expected a number, got {type(value).__name__} {value!r}"
        )
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name}: expected a number, got {type(value).__name__} {value!r}"
        ) from None
    lo = "(" if exclusive_minimum else "["
    hi = ")" if exclusive_maximum else "]"
    want = (
        f"a finite number in {lo}{minimum if minimum is not None else '-inf'}, "
        f"{maximum if maximum is not None else 'inf'}{hi}"
        if minimum is not None or maximum is not None
        else "a finite number"
    )
    bad = not math.isfinite(number)
    if minimum is not None:
        bad |= number <= minimum if exclusive_minimum else number < minimum
    if maximum is not None:
        bad |= number >= maximum if exclusive_maximum else number > maximum
    if bad:
        raise ValueError(f"{name}: expected {want}, got {value!r}")
    return number


def check_positive(name: str, value: Any) -> Any:
    """`check_float` with `value > 0`."""
    return check_float(name, value, minimum=0.0, exclusive_minimum=True)


def check_nonnegative(name: str, value: Any) -> Any:
    """`check_float` with `value >= 0`."""
    return check_float(name, value, minimum=0.0)


def check_fraction(name: str, value: Any) -> Any:
    """`check_float` with `0 <= value < 1` (decays, Adam's betas)."""
    return check_float(name, value, minimum=0.0, maximum=1.0, exclusive_maximum=True)


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """Checks that `value` is one of `choices` (strings).

    Raises:
      TypeError: when `value` is not a string.
      ValueError: when it is not one of `choices`.
    """
    if not isinstance(value, str):
        raise TypeError(
            f"{name}: expected one of {list(choices)}, got {type(value).__name__} "
            f"{value!r}"
        )
    if value not in choices:
        raise ValueError(f"{name}: expected one of {list(choices)}, got {value!r}")
    return value


def check_key(name: str, key: Any, *, allow_none: bool = True) -> jax.Array | None:
    """A PRNG key from a typed key, raw `uint32[2]` key data or an integer seed.

    Returns:
      A new-style typed key (or None when `key` is None and `allow_none`).

    Raises:
      TypeError: for anything else.
    """
    if key is None:
        if allow_none:
            return None
        raise TypeError(f"{name}: expected a PRNG key or an integer seed, got None")
    if isinstance(key, (int, np.integer)) and not isinstance(key, (bool, np.bool_)):
        return jax.random.key(int(key))
    if isinstance(key, (jax.Array, np.ndarray)):
        if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
            return key
        if key.dtype == np.uint32 and key.shape[-1:] == (2,):
            return jax.random.wrap_key_data(key)
    raise TypeError(
        f"{name}: expected a PRNG key (jax.random.key(seed)) or an integer seed, got "
        f"{type(key).__name__}"
        + (f" of dtype {key.dtype}" if hasattr(key, "dtype") else "")
    )


def check_bounds(
    name: str, bounds: Any, axes: str = "x_min, x_max, y_min, y_max"
) -> tuple[float, float, float, float]:
    """A plotting window `(lo_0, hi_0, lo_1, hi_1)`: four finite numbers with
    `lo < hi` on each axis; `axes` names them in the message.

    Raises:
      ValueError: naming `name` otherwise.
    """
    try:
        x0, x1, y0, y1 = (float(b) for b in bounds)
        ok = bool(np.isfinite([x0, x1, y0, y1]).all() and x0 < x1 and y0 < y1)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(
            f"{name}: expected finite ({axes}) with min < max, got {bounds!r}"
        )
    return x0, x1, y0, y1
