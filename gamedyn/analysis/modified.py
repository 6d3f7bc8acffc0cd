"""Modified equations of discrete update rules, and the stability of flows.

A discrete rule with step `h` does not follow the gradient flow `dw/dt = -xi(w)`
of a game: it drifts from it by `O(h)` per unit time. Backward error analysis
finds the field it does follow to higher order: a *modified field*
`xi~ = xi + h c` whose flow `dw/dt = -xi~(w)` matches one step of the rule to
`O(h^3)` locally, so over a fixed time `T` the iterates stay `O(h^2)` close to
the modified flow and only `O(h)` close to the plain one.

Derivation (sign convention of `gamedyn.analysis`: `J = d xi / d w`). The flow
of `-xi~` with `xi~ = F + h c` moves in time `h` by
`w(h) = w - h F - h^2 c + (h^2/2) J_F F + O(h^3)` (`J_F = dF/dw`). A rule whose
step is `w' = w - h F(w) - h^2 G(w) + O(h^3)` is matched when
`c = G + (1/2) J_F F`:

* simultaneous GD, `w' = w - h xi`: `G = 0`, so `xi~ = xi + (h/2) J xi`
  (Rosca et al. 2021; the gradient of `L + (h/4) ||grad L||^2` for one player,
  Barrett & Dherin 2021);
* alternating GD, players moving one after the other on the newest params: player
  `i` sees `xi_i(w - h sum_{j before i} P_j xi) = xi_i - h sum_{j before i}
  J_ij xi_j + O(h^2)`, so `G_i = -sum_{j before i} J_ij xi_j` and
  `xi~_i = xi_i + (h/2) (sum_{j not before i} J_ij xi_j - sum_{j before i} J_ij
  xi_j)`: the interaction terms of the players who already moved flip sign
  (Rosca et al. 2021, Theorems 3.1-3.2, with equal step sizes and one step each);
* extragradient, `w' = w - h xi(w - h xi)`: `G = -J xi`, so
  `xi~ = xi - (h/2) J xi`;
* optimistic GD, `w_{k+1} = w_k - 2 h xi(w_k) + h xi(w_{k-1})`: on the modified
  flow `w_{k-1} = w_k + h xi(w_k) + O(h^2)`, hence `xi(w_{k-1}) = xi + h J xi +
  O(h^2)`, `G = -J xi` and `xi~ = xi - (h/2) J xi` as for extragradient: both
  approximate the proximal point method to second order (Mokhtari, Ozdaglar,
  Pattathil 2020; Lu 2022), whose implicit step `w' = w - h xi(w')` has the same
  correction. The second root of the two-step recursion (`mu ~ -h lambda`) decays
  within a few steps and does not change the order. The start shifts time: after a
  plain first step `w_1 = w_0 - h xi(w_0)` the iterates follow `w~(k h)`, after
  one with a zero previous update (`w_1 = w_0 - 2 h xi(w_0)`, Daskalakis et al.'s
  code) they follow `w~((k + 1) h)`, both to `O(h^2)`;
* consensus optimization, `w' = w - h g` with `g = xi + gamma J^T xi`:
  `xi~ = g + (h/2) J_g g`.

References:
  Rosca, Wu, Dherin, Barrett 2021, Discretization Drift in Two-Player Games. ICML.
  Barrett, Dherin 2021, Implicit Gradient Regularization. ICLR.
  Hairer, Lubich, Wanner 2006, Geometric Numerical Integration, ch. IX (backward
    error analysis).
  Mokhtari, Ozdaglar, Pattathil 2020, A Unified Analysis of Extra-gradient and
    Optimistic Gradient Methods for Saddle Point Problems. AISTATS.
  Lu 2022, An O(s^r)-Resolution ODE Framework for Understanding Discrete-Time
    Algorithms. Mathematical Programming.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from gamedyn import dynamics as _dynamics
from gamedyn._game import Game, Params, check_params, vector_field
from gamedyn._validate import check_bounds, check_float, check_int, check_key
from gamedyn.analysis.stability import RegionGrid
from gamedyn.flows import consensus_field

MODIFIED_RULES = (
    "simultaneous",
    "alternating",
    "extragradient",
    "optimistic",
    "consensus",
)
"""Registry names (`gamedyn.dynamics.get`) that `modified_field`
knows."""

Field = Callable[..., Params]


def _check_game(game: Any) -> None:
    if not isinstance(game, Game):
        raise TypeError(f"game: expected a gamedyn.Game, got {type(game).__name__}")


def _rule_name(rule: Any) -> str:
    if isinstance(rule, _dynamics.Rule):
        rule = rule.name
    if not isinstance(rule, str):
        raise TypeError(
            f"rule: expected one of {list(MODIFIED_RULES)}, got {type(rule).__name__}"
        )
    if rule not in MODIFIED_RULES:
        raise ValueError(
            f"rule: expected one of {list(MODIFIED_RULES)} (the rules with a derived "
            f"modified equation), got {rule!r}"
        )
    return rule


def _check_player_order(rule: str, player_order: Any) -> tuple[int, ...] | None:
    if player_order is None:
        return None
    if rule != "alternating":
        raise ValueError(
            f"player_order: only the 'alternating' rule has an order of players, got "
            f"{player_order!r} for {rule!r}"
        )
    if not isinstance(player_order, (tuple, list)):
        raise TypeError(
            "player_order: expected a tuple of player indices (the order in which "
            f"they move), got {type(player_order).__name__}"
        )
    return tuple(check_int("player_order", i, 0) for i in player_order)


def _rule_param(rule: str, param: Any) -> Any:
    entry = _dynamics.get(rule)
    if entry.param is None:
        if param is not None:
            raise ValueError(f"param: the rule {rule!r} takes none, got {param!r}")
        return None
    if param is None:
        return entry.default
    return check_float("param", param, minimum=0.0)


def _resolve_order(player_order: tuple[int, ...] | None, n: int) -> tuple[int, ...]:
    if player_order is None:
        return tuple(reversed(range(n)))  # gd.dynamics.alternating: last player first
    if sorted(player_order) != list(range(n)):
        raise ValueError(
            f"player_order: expected a permutation of range({n}) (one entry per "
            f"player), got {player_order}"
        )
    return player_order


def _zeros(tree):
    return jax.tree.map(jnp.zeros_like, tree)


def _parts(
    game: Game, rule: str, param: Any, player_order: tuple[int, ...] | None
) -> Callable[[Params, Any], tuple[Params, Params]]:
    """`fn(params, key) -> (F, c)`: the rule's leading field and its correction,
    so that the modified field is `F + h c`."""
    if rule == "consensus":
        base = consensus_field(game, param)
    else:
        base = vector_field(game)

    def parts(params: Params, key: Any) -> tuple[Params, Params]:
        check_params(params)
        f, jvp = jax.linearize(lambda p: base(p, key), params)
        jf = jvp(f)
        if rule in ("simultaneous", "consensus"):
            c = jax.tree.map(lambda x: 0.5 * x, jf)
        elif rule in ("extragradient", "optimistic"):
            c = jax.tree.map(lambda x: -0.5 * x, jf)
        else:  # alternating
            order = _resolve_order(player_order, len(params))
            c = list(_zeros(f))
            for pos, i in enumerate(order):
                earlier = set(order[:pos])
                if earlier:
                    seen = tuple(
                        f[j] if j in earlier else _zeros(f[j]) for j in range(len(f))
                    )
                    back = jvp(seen)[i]
                else:
                    back = _zeros(f[i])
                c[i] = jax.tree.map(lambda a, b: 0.5 * a - b, jf[i], back)
            c = tuple(c)
        return f, c

    return parts


def modified_field(
    game: Game,
    rule: str,
    h: float | jax.Array,
    order: int = 1,
    *,
    param: float | None = None,
    player_order: Sequence[int] | None = None,
) -> Field:
    """The modified field of a discrete rule: the flow a rule with step `h` follows.

    Returns `xi~` such that the flow `dw/dt = -xi~(w)` (e.g.
    `gamedyn.flows.flow(game, params, T, field=xi~)`) stays within `O(h^2)` of
    the rule's iterates `w_k` at times `t = k h` over a fixed horizon, while the
    plain gradient flow is only `O(h)` close (`order=1`). Closed forms (`J`
    the Jacobian of `xi`; derivation in `gamedyn.analysis.modified`):

    * `"simultaneous"`: `xi + (h/2) J xi` (Rosca et al. 2021);
    * `"alternating"`: `xi~_i = xi_i + (h/2) (sum_{j not before i} J_ij xi_j -
      sum_{j before i} J_ij xi_j)`, players moving in `player_order`; for the
      default discriminator-first order of `gamedyn.dynamics.alternating`
      on `(theta, phi)`: `xi~_phi = xi_phi + (h/2)(J_pp xi_p + J_pt xi_t)` and
      `xi~_theta = xi_theta + (h/2)(J_tt xi_t - J_tp xi_p)` (Rosca et al. 2021,
      Theorems 3.1-3.2);
    * `"extragradient"` and `"optimistic"`: `xi - (h/2) J xi`, the proximal
      point method's correction (Mokhtari et al. 2020; Lu 2022). Optimistic GD's
      iterates follow `w~((k + s) h)`: `s = 0` after a plain first step,
      `s = 1` when its first step uses a zero previous update;
    * `"consensus"` (`param` = `gamma`): `g + (h/2) J_g g` with
      `g = xi + gamma J^T xi`.

    Each correction costs one or two Jacobian-vector products (`jax.linearize`),
    never a dense Jacobian; `h` may be traced (`jax.vmap` over step sizes). The
    same (hashable) arguments return the same function, so a second
    `flow(..., field=modified_field(...))` does not re-trace.

    Args:
      game: the game.
      rule: a registry name from `MODIFIED_RULES` (or its
        `gamedyn.dynamics.Rule`); the rule with plain gradient steps
        `optax.sgd(h)`.
      h: the step size (`>= 0`; may be traced).
      order: `1` (default) adds the `O(h)` correction (second-order accurate);
        `0` is the rule's leading field (`xi`, or `g` for consensus).
      param: the rule's own number (consensus `gamma`; default the registry's).
      player_order: for `"alternating"`, the players in the order they move;
        default: the last player first, then the others in reverse order (the
        discriminator first, as `gamedyn.dynamics.alternating` does today);
        `(0, 1)` is the generator first (Mescheder et al. 2017's convention).

    Returns:
      `fn(params, key=None) -> tuple` shaped like `gd.vector_field(game)`'s
      output, a descent field (the flow is `dw/dt = -fn(w)`).

    Raises:
      TypeError: `game` not a Game, `rule` not a string.
      ValueError: an unknown `rule`, `h < 0`, `order` not 0 or 1, a
        `param` for a rule without one, a `player_order` that is not a
        permutation of the players (checked at the first call).
    """
    _check_game(game)
    rule = _rule_name(rule)
    h = check_float("h", h, minimum=0.0)
    order = check_int("order", order, 0, 1)
    param = _rule_param(rule, param)
    player_order = _check_player_order(rule, player_order)
    args = (game, rule, h, order, param, player_order)
    try:
        return _cached_field(*args)
    except TypeError:  # unhashable: a traced h, a game holding arrays
        return _build_field(*args)


def _build_field(game, rule, h, order, param, player_order) -> Field:
    parts = _parts(game, rule, param, player_order)

    def fn(params: Params, key: jax.Array | None = None) -> Params:
        f, c = parts(params, key)
        if order == 0:
            return f
        return jax.tree.map(lambda a, b: a + h * b, f, c)

    return fn


# The same arguments give the same function, so flows of it reuse diffrax's
# compiled solve instead of re-tracing.
_cached_field = functools.lru_cache(maxsize=64)(_build_field)


# --------------------------------------------------------------------------------
# Stability of flows.


class FlowStability(NamedTuple):
    """Result of `flow_stability`: the continuous-time verdict at a point.

    With an array of step sizes `h` every field has that leading shape (`verdict`
    a NumPy array of strings).

    Attributes:
      verdict: `"stable"` (every eigenvalue with real part `> eig_tol`: the
        flow converges locally, exponentially), `"unstable"` (some real part
        `< -eig_tol`: it leaves), `"marginal"` (none negative, some on the
        imaginary axis: centres, e.g. cycles) or `"not stationary"`.
      eigenvalues: complex `(n,)` eigenvalues of the analysed field's Jacobian,
        sorted by increasing real part.
      real_parts: their real parts (the local exponential rates of the flow).
      min_real: the smallest real part.
      stable: `verdict == "stable"`.
      stationary: `||field(params)|| <= tol`.
      grad_norm: `||field(params)||`.
    """

    verdict: Any
    eigenvalues: np.ndarray
    real_parts: np.ndarray
    min_real: Any
    stable: Any
    stationary: Any
    grad_norm: Any


def _linearization(game, rule, param, player_order):
    """`jit(fn(params, key) -> (dF/dw, dc/dw, F, c))` on flattened params, for the
    modified field `F + h c` of `rule` (`c = 0` for `rule=None`)."""
    if rule is None:
        xi = vector_field(game)

        def parts(p, k):
            f = xi(p, k)
            return f, _zeros(f)

    else:
        parts = _parts(game, rule, param, player_order)

    def fn(params, key):
        w0, unravel = ravel_pytree(params)

        def both(w):
            f, c = parts(unravel(w), key)
            flat = (ravel_pytree(f)[0], ravel_pytree(c)[0])
            return tuple(v.astype(w0.dtype) for v in flat)

        jac_f, jac_c = jax.jacfwd(both)(w0)
        f0, c0 = both(w0)
        return jac_f, jac_c, f0, c0

    return jax.jit(fn)


# compiled once per (game, rule, param, player_order)
_cached_linearization = functools.lru_cache(maxsize=32)(_linearization)


def flow_stability(
    game: Game,
    params: Params,
    *,
    rule: str | None = None,
    h: float | Sequence[float] | np.ndarray = 0.0,
    param: float | None = None,
    player_order: Sequence[int] | None = None,
    key: jax.Array | None = None,
    tol: float | None = None,
    eig_tol: float | None = None,
) -> FlowStability:
    """Local stability of a game's gradient flow, or of a rule's modified flow.

    The flow `dw/dt = -F(w)` is locally asymptotically stable at a stationary
    point iff every eigenvalue of `dF/dw` has a positive real part; the real
    parts are the local exponential rates. This is the `h -> 0` limit of the
    discrete verdict: the multiplier `1 - h lambda` of simultaneous GD satisfies
    `|1 - h lambda|^(1/h) -> exp(-Re lambda)` (see `flow_region`).

    With `rule` and `h`, `F` is the `modified_field` of the rule, whose
    Jacobian at a stationary point is `J + h dc/dw` (for simultaneous GD
    `J + (h/2) J^2`: eigenvalues `lambda + (h/2) lambda^2`). On the unregularized
    Dirac-GAN (`lambda = +-i/2`) that turns the gradient flow's centre into an
    unstable focus for simultaneous GD (`Re = -h/8`), a stable one for
    extragradient (`+h/8`), and keeps a centre for alternating GD: SimGD spirals
    out, extragradient in, AltGD cycles (Rosca et al. 2021).

    Args:
      game: the game.
      params: the point (usually an equilibrium).
      rule: None for the gradient flow of `xi`; else a name from
        `MODIFIED_RULES`.
      h: the step size of `rule`'s modified field: a number or a 1-D array
        (the Jacobian is affine in `h`; it is built once).
      param: as in `modified_field`.
      player_order: as in `modified_field`.
      key: fixed PRNG key for a stochastic game.
      tol: threshold on `||F||` for stationarity (default `sqrt(eps)`).
      eig_tol: threshold below which a real part counts as zero (default
        `sqrt(eps) * max(1, max |lambda|)`).

    Returns:
      A `FlowStability`.
    """
    key = check_key("key", key)
    _check_game(game)
    check_params(params)
    params = jax.tree.map(jnp.asarray, params)
    for leaf in jax.tree.leaves(params):
        if not jnp.issubdtype(leaf.dtype, jnp.floating):
            raise TypeError(
                f"params: expected floating-point leaves, got dtype {leaf.dtype}"
            )
    hs = np.asarray(h, np.float64)
    if hs.ndim > 1:
        raise ValueError(f"h: expected a number or a 1-D array, got shape {hs.shape}")
    for value in np.ravel(hs):
        check_float("h", float(value), minimum=0.0)
    if rule is None:
        if param is not None or player_order is not None:
            raise ValueError("rule: param and player_order need a rule, got None")
        args = (game, None, None, None)
    else:
        rule = _rule_name(rule)
        args = (
            game,
            rule,
            _rule_param(rule, param),
            _check_player_order(rule, player_order),
        )
    try:
        linearized = _cached_linearization(*args)
    except TypeError:  # unhashable game
        linearized = _linearization(*args)
    dtype = ravel_pytree(params)[0].dtype
    jac_f, jac_c, f0, c0 = (np.asarray(a, np.float64) for a in linearized(params, key))
    eps = float(np.sqrt(np.finfo(np.dtype(dtype)).eps))
    tol = eps if tol is None else float(tol)
    flat_h = np.ravel(hs)
    lam = np.stack([np.linalg.eigvals(jac_f + x * jac_c) for x in flat_h])
    lam = np.stack([row[np.lexsort((row.imag, row.real))] for row in lam])
    norms = np.array([np.linalg.norm(f0 + x * c0) for x in flat_h])
    scale = np.maximum(1.0, np.max(np.abs(lam), axis=-1))
    etol = eps * scale if eig_tol is None else np.full(len(flat_h), float(eig_tol))
    min_real = lam.real.min(axis=-1)
    stationary = norms <= tol
    verdict = np.where(
        ~stationary,
        "not stationary",
        np.where(
            min_real > etol,
            "stable",
            np.where(min_real < -etol, "unstable", "marginal"),
        ),
    )
    shape = hs.shape
    out = FlowStability(
        verdict=verdict.reshape(shape),
        eigenvalues=lam.reshape(shape + lam.shape[-1:]),
        real_parts=lam.real.reshape(shape + lam.shape[-1:]),
        min_real=min_real.reshape(shape),
        stable=(verdict == "stable").reshape(shape),
        stationary=stationary.reshape(shape),
        grad_norm=norms.reshape(shape),
    )
    if shape == ():
        out = out._replace(
            verdict=str(out.verdict),
            min_real=float(out.min_real),
            stable=bool(out.stable),
            stationary=bool(out.stationary),
            grad_norm=float(out.grad_norm),
        )
    return out


def flow_region(
    *,
    bounds: tuple[float, float, float, float] = (-1.0, 3.0, -2.0, 2.0),
    num: int = 400,
    time: float = 1.0,
) -> RegionGrid:
    """The stability region of the gradient flow: the `h -> 0` limit of the rules'
    regions, as a `gamedyn.analysis.RegionGrid` for the region plots.

    The flow's time-`T` map multiplies the direction of eigenvalue `lambda` by
    `exp(-lambda T)`, of modulus `exp(-T Re lambda)`; this is the limit of a
    consistent rule's `T / h` steps, e.g. `|1 - h lambda|^(T/h)` for simultaneous
    GD. The region `radius < 1` is the open right half-plane `Re lambda > 0`
    (draw it with `gamedyn.plotting.plot_stability_region`).

    Args:
      bounds: `(re_min, re_max, im_min, im_max)` of the eigenvalue grid.
      num: grid points per axis (at least 2).
      time: the horizon `T > 0`.

    Returns:
      `RegionGrid(rule="flow", step_size=0.0, momentum=0.0, re, im, radius)` with
      `radius[i, j] = exp(-T re[j])`.
    """
    num = check_int("num", num, 2)
    time = check_float("time", time, minimum=0.0, exclusive_minimum=True)
    x0, x1, y0, y1 = check_bounds("bounds", bounds, "re_min, re_max, im_min, im_max")
    re, im = np.linspace(x0, x1, num), np.linspace(y0, y1, num)
    radius = np.broadcast_to(np.exp(-time * re)[None, :], (num, num)).copy()
    return RegionGrid(
        rule="flow", step_size=0.0, momentum=0.0, re=re, im=im, radius=radius
    )
