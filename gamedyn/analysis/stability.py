"""Classification of points, fixed-point finding, stability regions, path-angle.

Sign convention as in `gamedyn.analysis.jacobian`: `J` is the Jacobian of the
descent field `xi`; gradient flow is stable where every eigenvalue of `J` has a
positive real part, and the step with size `h` of an update rule on the linearised
game `xi(w) = J w` is stable where its multipliers (the eigenvalues of the step
matrix, memory included) lie inside the unit disc. `classify` reports both
verdicts side by side, and `stability_map` the step's over (`h`, a game
parameter) with the flow's as its `h -> 0` edge.

References:
  Mescheder, Nowozin, Geiger 2017, The Numerics of GANs. NeurIPS.
  Gidel et al. 2019, Negative Momentum for Improved Game Dynamics. AISTATS.
  Mazumdar, Ratliff, Sastry 2020, On Gradient-Based Learning in Continuous Games.
  Berard et al. 2020, A Closer Look at the Optimization Landscapes of GANs. ICLR.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize

from gamedyn._game import Game, Params, vector_field
from gamedyn._validate import (
    check_bounds,
    check_choice,
    check_float,
    check_int,
    check_key,
)
from gamedyn.analysis._jacobian import (
    NotAFixedPointWarning,
    check_float_params,
    compiled,
    flat_vector_field,
    jacobian,
    player_sizes,
    ravel_players,
)

RULES = (
    "simultaneous",
    "alternating",
    "extragradient",
    "optimistic",
    "momentum",
    "consensus",
)
"""Update rules whose linearised SGD step `linear_step` builds."""

SPECTRAL_RULES = ("simultaneous", "extragradient", "optimistic", "momentum")
"""Rules whose multipliers depend on the eigenvalues of `J` alone
(`multipliers`); alternating and consensus depend on the blocks / `J^T J`."""


def _default_tol(dtype) -> float:
    return float(np.sqrt(np.finfo(np.dtype(dtype)).eps))


def _flat_dtype(params: Params):
    return ravel_players(check_float_params(params))[0].dtype


# --------------------------------------------------------------------------------
# Classification.


class Classification(NamedTuple):
    """What kind of point `params` is, with the numbers behind the verdict.

    Attributes:
      kind: a short label: `"not stationary"`; for a stationary point that
        gradient play converges to, `"differential Nash, stable"`,
        `"local Nash, stable"` or `"stable, not Nash"`; for one it avoids
        (some eigenvalue of `J` in the open left half-plane),
        `"differential Nash, unstable"` or `"local Nash, unstable"` when the
        point is nevertheless a Nash equilibrium (Mazumdar et al. 2020's Nash
        points that gradient play avoids), else `"strict saddle"`; or
        `"marginal"` (no eigenvalue in the open left half-plane but some on the
        imaginary axis); `", rotational"` is appended when rotation dominates.
      stationary: `||xi|| <= tol`.
      grad_norm: `||xi(params)||`.
      eigenvalues: the Jacobian's eigenvalues (complex, `(n,)`).
      min_real: the smallest real part (positive: stable under gradient flow).
      max_imag_ratio: `max |Im lambda| / |Re lambda|` (inf for a non-zero purely
        imaginary eigenvalue; 0 for a real spectrum).
      hessian_min_eigenvalues: each player's smallest eigenvalue of its own Hessian.
      local_nash: stationary and every own Hessian positive semidefinite.
      differential_nash: stationary and every own Hessian positive definite
        (Ratliff, Burden, Sastry 2013).
      stable: stationary and every eigenvalue with real part `> eig_tol`.
      strict_saddle: stationary and some eigenvalue with real part `< -eig_tol`:
        an unstable fixed point of gradient play, which avoids it from almost
        every start (Mazumdar et al. 2020), whether or not it is a Nash point.
      rotational: some eigenvalue with `|Im| > max(|Re|, eig_tol)`.
      unstable_nash: a local Nash point that is a strict saddle of gradient play
        (`local_nash and strict_saddle`): an equilibrium of the game that
        gradient play avoids.
      flow_verdict: the continuous-time verdict, the gradient flow
        `dw/dt = -xi(w)` linearised at the point (whose Jacobian is `-J`):
        `"stable"` (every real part of `J`'s eigenvalues `> eig_tol`:
        exponential convergence at rate `min_real`), `"marginal"` (none
        `< -eig_tol`, some within `eig_tol` of 0: a centre, e.g. cycles, which
        the linearisation does not decide), `"unstable"` (some `< -eig_tol`) or
        `"not stationary"`; the same as
        `gamedyn.analysis.flow_stability`'s `verdict`, so `"stable"` iff
        `stable`.
      flow_real_parts: `Re lambda` of `J`'s eigenvalues in increasing order
        (`flow_real_parts[0] == min_real`; positive is stable, as
        `gamedyn.analysis.FlowStability`'s `real_parts`).
      step_rule: the rule of the discrete-step verdict (None without
        `step_size`).
      step_size: its SGD step `h` (None when not asked for).
      step_radius: spectral radius of `linear_step` `(J, h, rule)`, the
        local rate per step (None without `step_size`).
      step_verdict: `"stable"` (`step_radius < 1 - h eig_tol`), `"marginal"`
        (within `h eig_tol` of 1: the real-part tolerance carried through
        `rho ~ 1 - h Re lambda`), `"unstable"`, `"not stationary"` or None
        without `step_size`. As `h -> 0` a consistent rule's verdict tends to
        `flow_verdict` where that is stable or unstable; a marginal flow leaves
        it to the rule's `O(h)` drift (`gamedyn.analysis.modified_field`).
    """

    kind: str
    stationary: bool
    grad_norm: float
    eigenvalues: np.ndarray
    min_real: float
    max_imag_ratio: float
    hessian_min_eigenvalues: tuple[float, ...]
    local_nash: bool
    differential_nash: bool
    stable: bool
    strict_saddle: bool
    rotational: bool
    unstable_nash: bool
    flow_verdict: str
    flow_real_parts: np.ndarray
    step_rule: str | None = None
    step_size: float | None = None
    step_radius: float | None = None
    step_verdict: str | None = None


def _verdict(stationary: bool, value: float, tol: float) -> str:
    """`"stable"` / `"unstable"` / `"marginal"` for a margin `value` that is
    positive where stable, zero within `tol`."""
    if not stationary:
        return "not stationary"
    if value > tol:
        return "stable"
    return "unstable" if value < -tol else "marginal"


def _step_radius(
    j: np.ndarray, h: float, rule: str, sizes, gamma: float, momentum: float
) -> float:
    step = linear_step(j, h, rule, sizes=sizes, gamma=gamma, momentum=momentum)
    return float(np.max(np.abs(np.linalg.eigvals(step))))


def _check_step(step_size) -> float:
    if np.ndim(step_size) != 0:
        raise ValueError(
            f"step_size: expected one positive number, got shape {np.shape(step_size)}"
        )
    return check_float("step_size", step_size, minimum=0.0, exclusive_minimum=True)


def classify(
    game: Game,
    params: Params,
    *,
    key: jax.Array | None = None,
    tol: float | None = None,
    eig_tol: float | None = None,
    rule: str = "simultaneous",
    step_size: float | None = None,
    gamma: float = 0.0,
    momentum: float = 0.0,
) -> Classification:
    """Classifies a point of a game from its vector field and dense Jacobian.

    A stationary point (`xi = 0`) is a differential Nash equilibrium when each
    player's own Hessian `grad^2_i L_i` (a diagonal block of `J`) is positive
    definite, and locally asymptotically stable (for gradient flow and small enough
    steps of simultaneous GD) when every eigenvalue of `J` has a positive real part.
    The two differ: stable points need not be Nash, and in general-sum games Nash
    points need not be stable (Mazumdar et al. 2020; Jin et al. 2020): a
    differential Nash point where `J` has an eigenvalue with a negative real
    part is avoided by gradient play and labelled `"differential Nash,
    unstable"` (e.g. `L_1 = x^2/2 + 2xy`, `L_2 = y^2/2 + 2xy`: own Hessians 1,
    `J = [[1, 2], [2, 1]]` with eigenvalues 3 and -1).

    Continuous and discrete time side by side: the gradient flow `dw/dt =
    -xi(w)` is locally stable iff every `Re lambda(J) > 0` (`flow_verdict`,
    `flow_real_parts`; Mescheder et al. 2017, with their ascent Jacobian's sign
    flipped), while a rule's step of size `h` converges iff the spectral radius of
    its step matrix is below 1 (`step_verdict`, with `step_size`; e.g.
    simultaneous GD's `|1 - h lambda| < 1`, i.e. `h < 2 Re lambda / |lambda|^2`).
    A stable flow can thus have unstable large steps (the Dirac-GAN with R1
    `gamma`: `h >= 4 gamma`), and a marginal flow (`lambda = +-i/2` without a
    regularizer) an unstable (simultaneous), marginal (alternating) or stable
    (extragradient) step at every `h`.

    Args:
      game: the game.
      params: the point.
      key: fixed PRNG key for a stochastic game.
      tol: threshold on `||xi||` for stationarity (default `sqrt(eps)` of the
        dtype).
      eig_tol: threshold below which a real part / Hessian eigenvalue counts as zero
        (default `sqrt(eps) * max(1, max |lambda|)`, `eps` of the dtype); the
        flow is marginal when `min_real` is within it of 0, the step when its
        radius is within `h eig_tol` of 1.
      rule: the rule of the discrete-step verdict, one of `RULES`.
      step_size: its SGD step `h > 0`; None (default) skips the step verdict.
      gamma: the consensus weight (`linear_step`).
      momentum: the heavy-ball `beta` (`linear_step`).

    Returns:
      a `Classification`.
    """
    key = check_key("key", key)
    _check_rule(rule, RULES)
    h = None if step_size is None else _check_step(step_size)
    params = check_float_params(params)
    dtype = _flat_dtype(params)
    tol = _default_tol(dtype) if tol is None else float(tol)
    grad_norm = float(jnp.linalg.norm(compiled(game).field(params, key)))
    j = np.asarray(jacobian(game, params, key=key), np.float64)
    lam = np.linalg.eigvals(j)
    lam = lam[np.lexsort((-lam.imag, -lam.real))]
    scale = max(1.0, float(np.max(np.abs(lam))))
    eig_tol = _default_tol(dtype) * scale if eig_tol is None else float(eig_tol)
    bounds = np.cumsum((0,) + player_sizes(check_float_params(params)))
    hmins = tuple(
        float(np.min(np.linalg.eigvalsh(0.5 * (b + b.T))))
        for b in (j[s:e, s:e] for s, e in zip(bounds[:-1], bounds[1:], strict=True))
    )
    re, im = np.abs(lam.real), np.abs(lam.imag)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(im > eig_tol, im / re, 0.0)
    stationary = grad_norm <= tol
    min_real = float(np.min(lam.real))
    local_nash = stationary and min(hmins) >= -eig_tol
    differential_nash = stationary and min(hmins) > eig_tol
    stable = stationary and min_real > eig_tol
    strict_saddle = stationary and min_real < -eig_tol
    rotational = bool(np.any((im > re) & (im > eig_tol)))
    if not stationary:
        kind = "not stationary"
    elif stable and differential_nash:
        kind = "differential Nash, stable"
    elif stable and local_nash:
        kind = "local Nash, stable"
    elif stable:
        kind = "stable, not Nash"
    elif strict_saddle and differential_nash:
        kind = "differential Nash, unstable"
    elif strict_saddle and local_nash:
        kind = "local Nash, unstable"
    elif strict_saddle:
        kind = "strict saddle"
    else:
        kind = "marginal"
    if rotational:
        kind += ", rotational"
    step_radius = step_verdict = None
    if h is not None:
        sizes = player_sizes(params)
        step_radius = _step_radius(j, h, rule, sizes, gamma, momentum)
        step_verdict = _verdict(stationary, 1.0 - step_radius, h * eig_tol)
    return Classification(
        kind=kind,
        stationary=bool(stationary),
        grad_norm=grad_norm,
        eigenvalues=lam,
        min_real=min_real,
        max_imag_ratio=float(np.max(ratios)) if ratios.size else 0.0,
        hessian_min_eigenvalues=hmins,
        local_nash=bool(local_nash),
        differential_nash=bool(differential_nash),
        stable=bool(stable),
        strict_saddle=bool(strict_saddle),
        rotational=rotational,
        unstable_nash=bool(local_nash and strict_saddle),
        flow_verdict=_verdict(stationary, min_real, eig_tol),
        flow_real_parts=np.sort(lam.real),
        step_rule=None if h is None else rule,
        step_size=h,
        step_radius=step_radius,
        step_verdict=step_verdict,
    )


def warn_if_not_stationary(
    game: Game, params: Params, key=None, tol: float | None = None
) -> float:
    """Warns `NotAFixedPointWarning` if `||xi(params)|| > tol`; returns it."""
    key = check_key("key", key)
    params = check_float_params(params)
    tol = _default_tol(_flat_dtype(params)) if tol is None else float(tol)
    norm = float(jnp.linalg.norm(compiled(game).field(params, key)))
    if norm > tol:
        warnings.warn(
            f"params: not a stationary point (||xi|| = {norm:.3g} > {tol:.3g}); the "
            "stability analysis assumes an equilibrium and describes only the "
            "linearisation here",
            NotAFixedPointWarning,
            stacklevel=3,
        )
    return norm


# --------------------------------------------------------------------------------
# Fixed points.


class FixedPoint(NamedTuple):
    """Result of `find_fixed_point`.

    Attributes:
      params: the point found.
      grad_norm: `||xi(params)||` there.
      converged: `grad_norm <= tol`; False also when the Hamiltonian method stopped
        at a minimum of `1/2 ||xi||^2` that is not stationary (`J^T xi = 0`,
        `xi != 0`).
      num_steps: Newton steps or optimizer iterations taken.
    """

    params: Params
    grad_norm: float
    converged: bool
    num_steps: int


def find_fixed_point(
    game: Game,
    params: Params,
    *,
    key: jax.Array | None = None,
    method: Literal["newton", "hamiltonian"] = "newton",
    tol: float | None = None,
    maxiter: int = 100,
) -> FixedPoint:
    """Finds a stationary point `xi(w) = 0` near `params`.

    `"newton"`: Newton on `xi` damped by Levenberg-Marquardt,
    `w <- w - (J^T J + mu I)^{-1} J^T xi` with `mu` adapted so that `||xi||`
    decreases (a singular `J` is fine); quadratic convergence near a regular root
    (`mu -> 0`), dense `J` (small games). It finds every kind of stationary point,
    saddles included: check the result with `classify`. `"hamiltonian"`: L-BFGS
    on `H(w) = 1/2 ||xi(w)||^2` with `grad H = J^T xi` from one VJP (matrix-free;
    Balduzzi et al. 2018, Mescheder et al. 2017); it may stop at a non-stationary
    minimum of `H`, reported by `converged=False`.

    Args:
      game: the game.
      params: the starting point.
      key: fixed PRNG key for a stochastic game.
      method: `"newton"` or `"hamiltonian"`.
      tol: target `||xi||` (default `sqrt(eps)` of the dtype, times 1e-2 for
        Newton).
      maxiter: iteration limit.

    Returns:
      a `FixedPoint`.
    """
    key = check_key("key", key)
    if method not in ("newton", "hamiltonian"):
        raise ValueError(f"method: expected 'newton' or 'hamiltonian', got {method!r}")
    maxiter = check_int("maxiter", maxiter, 1)
    field, w, unravel = flat_vector_field(game, params, key)
    dtype = w.dtype
    if tol is None:
        tol = _default_tol(dtype) * (1e-2 if method == "newton" else 1.0)
    fns = compiled(game)

    def field_jit(v):
        return fns.field(unravel(v), key)

    if method == "newton":

        def jac(v):
            return fns.jacobian(unravel(v), key)

        g = np.asarray(field_jit(w), np.float64)
        norm = float(np.linalg.norm(g))
        steps, mu = 0, None
        while norm > tol and steps < maxiter:
            j = np.asarray(jac(w), np.float64)
            jtj, jtg = j.T @ j, j.T @ g
            if mu is None:
                mu = 1e-6 * float(np.max(np.diag(jtj), initial=1.0))
            for _ in range(40):  # Levenberg-Marquardt damping of the Newton step
                d = np.linalg.solve(jtj + mu * np.eye(len(g)), jtg)
                cand = w - jnp.asarray(d, w.dtype)
                g_c = np.asarray(field_jit(cand), np.float64)
                n_c = float(np.linalg.norm(g_c))
                if np.isfinite(n_c) and n_c < norm:
                    mu = max(mu / 4, 1e-15)
                    break
                mu *= 4
            else:
                break  # no decrease even for tiny steps: stuck
            w, g, norm = cand, g_c, n_c
            steps += 1
        return FixedPoint(unravel(w), norm, norm <= tol, steps)

    def h(v):
        x = field(v)
        return 0.5 * jnp.sum(x * x)

    vg = jax.jit(jax.value_and_grad(h))

    def fun(v):
        val, grad = vg(jnp.asarray(v, dtype))
        return float(val), np.asarray(grad, np.float64)

    res = scipy.optimize.minimize(
        fun,
        np.asarray(w, np.float64),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": maxiter, "gtol": 0.0, "ftol": 0.0},
    )
    w = jnp.asarray(res.x, dtype)
    norm = float(jnp.linalg.norm(field_jit(w)))
    return FixedPoint(unravel(w), norm, norm <= tol, int(res.nit))


# --------------------------------------------------------------------------------
# Stability regions.


def _check_rule(rule: str, allowed: Sequence[str]) -> None:
    if rule not in allowed:
        raise ValueError(f"rule: expected one of {tuple(allowed)}, got {rule!r}")


def multipliers(z, rule: str, *, momentum: float = 0.0) -> np.ndarray:
    """Multipliers of a rule's SGD step on the scalar linear game `xi(w) = lambda w`
    with `z = h lambda`: the roots of its characteristic polynomial.

    * simultaneous: `mu = 1 - z`;
    * extragradient: `mu = 1 - z + z^2` (`w~ = w - h J w`, `w+ = w - h J w~`);
    * optimistic: `mu^2 - (1 - 2 z) mu - z = 0` (`w+ = w - 2 h J w + h J w-`; the
      memory doubles the multipliers);
    * momentum (heavy ball, `optax.sgd(h, momentum=beta)`):
      `mu^2 - (1 + beta - z) mu + beta = 0`; negative `beta` is Gidel et al.
      (2019)'s negative momentum.

    Args:
      z: complex array of `h * lambda`.
      rule: one of `SPECTRAL_RULES`.
      momentum: `beta` for `"momentum"`.

    Returns:
      complex array of shape `z.shape + (r,)`, `r` 1 or 2.
    """
    _check_rule(rule, SPECTRAL_RULES)
    z = np.asarray(z, np.complex128)
    if rule == "simultaneous":
        return (1 - z)[..., None]
    if rule == "extragradient":
        return (1 - z + z * z)[..., None]
    if rule == "optimistic":
        b, c = -(1 - 2 * z), -z
    else:
        b, c = -(1 + momentum - z), momentum + 0 * z
    root = np.sqrt(b * b - 4 * c)
    return np.stack([(-b + root) / 2, (-b - root) / 2], axis=-1)


def multiplier_radius(z, rule: str, *, momentum: float = 0.0) -> np.ndarray:
    """`max |mu|` over `multipliers`: the step contracts the direction of
    eigenvalue `lambda = z / h` iff it is below 1."""
    return np.max(np.abs(multipliers(z, rule, momentum=momentum)), axis=-1)


class RegionGrid(NamedTuple):
    """Result of `stability_region`: a rule's step radius on a grid of the
    complex plane of eigenvalues `lambda`.

    Attributes:
      rule: the rule's name.
      step_size: the step size `h`.
      momentum: `beta` (for `"momentum"`; 0 otherwise).
      re: `(num,)` real parts (horizontal axis).
      im: `(num,)` imaginary parts (vertical axis).
      radius: `(num, num)` `multiplier_radius` of `h (re[j] + i im[i])` at
        `[i, j]` (the `np.meshgrid` layout of `contour`); the region is
        `radius < 1`.
    """

    rule: str
    step_size: float
    momentum: float
    re: np.ndarray
    im: np.ndarray
    radius: np.ndarray


def stability_region(
    rule: str,
    *,
    step_size: float = 1.0,
    bounds: tuple[float, float, float, float] | None = None,
    num: int = 400,
    momentum: float = 0.0,
) -> RegionGrid:
    """Evaluates `max |mu(h lambda)|` on a grid of eigenvalues `lambda`: the
    region `{lambda : radius < 1}` holds the eigenvalues of `J` whose direction
    the rule's step of size `h` contracts. With `step_size=1` the axes are
    `z = h lambda`.

    Args:
      rule: one of `SPECTRAL_RULES`.
      step_size: `h > 0`; the region scales as `1 / h`.
      bounds: `(re_min, re_max, im_min, im_max)` (default
        `[-1, 3] x [-2, 2] / h`).
      num: grid points per axis (at least 2).
      momentum: `beta` for `"momentum"`.

    Returns:
      a `RegionGrid`.
    """
    _check_rule(rule, SPECTRAL_RULES)
    h = float(step_size)
    if not (np.isfinite(h) and h > 0):
        raise ValueError(f"step_size: expected a positive number, got {step_size!r}")
    if isinstance(num, bool) or not isinstance(num, (int, np.integer)) or num < 2:
        raise ValueError(f"num: expected an integer >= 2, got {num!r}")
    if bounds is None:
        bounds = (-1.0 / h, 3.0 / h, -2.0 / h, 2.0 / h)
    x0, x1, y0, y1 = check_bounds("bounds", bounds, "re_min, re_max, im_min, im_max")
    re, im = np.linspace(x0, x1, num), np.linspace(y0, y1, num)
    z = h * (re[None, :] + 1j * im[:, None])
    radius = multiplier_radius(z, rule, momentum=momentum)
    return RegionGrid(rule, h, float(momentum), re, im, radius)


def max_stable_step(
    lam,
    rule: str,
    *,
    momentum: float = 0.0,
    h_max: float | None = None,
    num: int = 4096,
) -> float:
    """The largest `h` such that every step size in `(0, h)` makes the linearised
    rule converge (spectral radius `< 1` for every eigenvalue `lam`).

    Simultaneous GD has the closed form `min 2 Re(lambda) / |lambda|^2` (0 if some
    `Re(lambda) <= 0`); the others are found on a geometric grid refined by
    bisection. On the bilinear game (`lambda = +-i sigma`) extragradient gives
    `1 / sigma_max`.

    Args:
      lam: eigenvalues of the game Jacobian (non-zero).
      rule: one of `SPECTRAL_RULES`.
      momentum: `beta` for `"momentum"`.
      h_max: largest step considered (default `10 / max |lambda|`).
      num: grid size.

    Returns:
      `h*` (0.0 when no small step is stable).
    """
    _check_rule(rule, SPECTRAL_RULES)
    lam = np.ravel(np.asarray(lam, np.complex128))
    if lam.size == 0 or np.any(lam == 0):
        raise ValueError("lam: expected a non-empty array of non-zero eigenvalues")
    if rule == "simultaneous":
        if np.any(lam.real <= 0):
            return 0.0
        return float(np.min(2 * lam.real / np.abs(lam) ** 2))
    scale = float(np.max(np.abs(lam)))
    h_max = 10.0 / scale if h_max is None else float(h_max)

    def rho(h):
        return float(np.max(multiplier_radius(h * lam, rule, momentum=momentum)))

    grid = np.geomspace(h_max * 1e-6, h_max, num)
    bad = [h for h in grid if rho(h) >= 1.0]
    if not bad:
        return h_max
    hi = bad[0]
    if hi == grid[0]:
        return 0.0
    lo = grid[np.searchsorted(grid, hi) - 1]
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if rho(mid) < 1.0 else (lo, mid)
    return float(lo)


def linear_step(
    jac,
    h: float,
    rule: str,
    *,
    sizes: Sequence[int] | None = None,
    gamma: float = 0.0,
    momentum: float = 0.0,
    order: Sequence[int] | None = None,
) -> np.ndarray:
    """The matrix of a rule's SGD step with size `h` on the linear game
    `xi(w) = J w`, in the coordinates of `gamedyn.analysis.update_jacobian`.

    * simultaneous: `I - h J`; extragradient: `I - h J + h^2 J^2`;
      consensus: `I - h (J + gamma J^T J)`;
    * alternating: players updated one after the other, each with the newest
      params, `(I - h P_{o_n} J) ... (I - h P_{o_1} J)` with `P_i` the
      projection on player `i` and `o` the order in which they move (default
      last to first, as `gamedyn.dynamics.alternating`); every order has the
      same spectrum;
    * optimistic on `(w, u_prev)`: `[[I - 2hJ, -I], [-hJ, 0]]`;
    * momentum on `(w, v)` (optax's trace): `[[I - hJ, -h beta I], [J, beta I]]`.

    Args:
      jac: `(n, n)` Jacobian (e.g. `gamedyn.analysis.jacobian`).
      h: step size.
      rule: one of `RULES`.
      sizes: per-player sizes (required for `"alternating"`, see
        `gamedyn.analysis.jacobian.player_sizes`).
      gamma: consensus weight.
      momentum: heavy-ball `beta`.
      order: for `"alternating"`, the player indices in the order they move
        (default last to first).

    Returns:
      `(n, n)` or `(2n, 2n)` float64 array.
    """
    _check_rule(rule, RULES)
    j = np.asarray(jac, np.float64)
    if j.ndim != 2 or j.shape[0] != j.shape[1]:
        raise ValueError(f"jac: expected a square matrix, got shape {j.shape}")
    n = j.shape[0]
    eye = np.eye(n)
    if rule == "simultaneous":
        return eye - h * j
    if rule == "extragradient":
        return eye - h * j + h * h * j @ j
    if rule == "consensus":
        return eye - h * (j + gamma * j.T @ j)
    if rule == "optimistic":
        return np.block([[eye - 2 * h * j, -eye], [-h * j, np.zeros((n, n))]])
    if rule == "momentum":
        return np.block([[eye - h * j, -h * momentum * eye], [j, momentum * eye]])
    if sizes is None or sum(sizes) != n:
        raise ValueError(
            f"sizes: expected per-player sizes summing to {n} for 'alternating', got "
            f"{sizes!r}"
        )
    bounds = np.cumsum((0,) + tuple(sizes))
    players = len(sizes)
    moves = tuple(reversed(range(players))) if order is None else tuple(order)
    if sorted(moves) != list(range(players)):
        raise ValueError(
            f"order: expected a permutation of the {players} player indices, got "
            f"{order!r}"
        )
    m = eye
    for i in moves:
        sub = eye.copy()
        sub[bounds[i] : bounds[i + 1]] -= h * j[bounds[i] : bounds[i + 1]]
        m = sub @ m
    return m


def spectral_radius_by_step(
    game: Game,
    params: Params,
    rule: str,
    step_sizes,
    *,
    key: jax.Array | None = None,
    gamma: float = 0.0,
    momentum: float = 0.0,
) -> np.ndarray:
    """Spectral radius of `linear_step` at an equilibrium, for each step size.

    The rule converges locally with SGD step `h` iff the value is below 1; it is
    the local linear rate per step. Warns `NotAFixedPointWarning` when
    `params` is not stationary.

    Args:
      game: the game.
      params: the equilibrium.
      rule: one of `RULES`.
      step_sizes: 1-D array of `h`.
      key: fixed PRNG key for a stochastic game.
      gamma: the consensus weight.
      momentum: the heavy-ball `beta`.

    Returns:
      float array shaped like `step_sizes`.
    """
    key = check_key("key", key)
    _check_rule(rule, RULES)
    warn_if_not_stationary(game, params, key)
    j = np.asarray(jacobian(game, params, key=key))
    sizes = player_sizes(check_float_params(params))
    return np.array(
        [
            np.max(
                np.abs(
                    np.linalg.eigvals(
                        linear_step(
                            j,
                            float(h),
                            rule,
                            sizes=sizes,
                            gamma=gamma,
                            momentum=momentum,
                        )
                    )
                )
            )
            for h in np.ravel(np.asarray(step_sizes, np.float64))
        ]
    ).reshape(np.shape(step_sizes))


class StabilityMap(NamedTuple):
    """Result of `stability_map`: a rule's local verdict over (step size,
    parameter), with the gradient flow's verdict as its `h -> 0` limit.

    Attributes:
      rule: the rule's name.
      name: the parameter's name (the plot's vertical axis).
      step_sizes: `(m,)` step sizes `h` (horizontal axis).
      values: `(p,)` parameter values (vertical axis).
      radius: `(p, m)` spectral radius of `linear_step` at `values[i]`,
        `step_sizes[j]` (the layout of `contour(step_sizes, values, radius)`);
        the step is stable where `radius < 1`.
      flow_min_real: `(p,)` `min Re lambda(J)` at each value: the gradient
        flow's local rate (`Classification`'s `min_real`).
      flow_verdict: `(p,)` `Classification`'s `flow_verdict` at each
        value (`"stable"`, `"marginal"`, `"unstable"`, `"not
        stationary"`): the flow's region (`gamedyn.analysis.flow_region`,
        `exp(-Re lambda) < 1`) at the point's eigenvalues.
    """

    rule: str
    name: str
    step_sizes: np.ndarray
    values: np.ndarray
    radius: np.ndarray
    flow_min_real: np.ndarray
    flow_verdict: np.ndarray


def stability_map(
    make_game,
    params: Params,
    rule: str,
    step_sizes,
    values,
    *,
    name: str = "parameter",
    key: jax.Array | None = None,
    tol: float | None = None,
    eig_tol: float | None = None,
    gamma: float = 0.0,
    momentum: float = 0.0,
) -> StabilityMap:
    """A rule's local stability at a fixed point over a grid of (step size `h`,
    game parameter), and the gradient flow's verdict per parameter: the `h -> 0`
    edge of the map (`gamedyn.plotting.plot_stability_region` with
    `limit=True` draws it there).

    For each value `v`, `make_game(v)` is classified at `params`
    (`classify`: one dense Jacobian) and the spectral radius of the rule's
    step matrix `linear_step` `(J, h)` is taken for every `h`. E.g. the
    Dirac-GAN with R1 weight `gamma` (`lambda = (gamma +- sqrt(gamma^2 -
    1)) / 2`): simultaneous GD is stable for `h < 4 gamma` (`gamma < 1`), and
    its flow for every `gamma > 0`; at `gamma = 0` the flow is marginal
    (a centre) and simultaneous GD unstable at every `h`.

    Args:
      make_game: `fn(value) -> Game`, the family of games.
      params: the fixed point (the same for every value).
      rule: one of `RULES`.
      step_sizes: 1-D positive step sizes `h`.
      values: 1-D parameter values.
      name: the parameter's name, for the plot.
      key: fixed PRNG key for a stochastic game.
      tol: as in `classify`.
      eig_tol: as in `classify`.
      gamma: the consensus weight.
      momentum: the heavy-ball `beta`.

    Returns:
      a `StabilityMap`.
    """
    _check_rule(rule, RULES)
    if not callable(make_game):
        raise TypeError(
            "make_game: expected a function value -> Game, got "
            f"{type(make_game).__name__}"
        )
    hs = np.asarray(step_sizes, np.float64)
    if hs.ndim != 1 or hs.size == 0 or not np.all(np.isfinite(hs) & (hs > 0)):
        raise ValueError(
            f"step_sizes: expected a non-empty 1-D array of positive numbers, got "
            f"{step_sizes!r}"
        )
    vs = np.asarray(values, np.float64)
    if vs.ndim != 1 or vs.size == 0 or not np.all(np.isfinite(vs)):
        raise ValueError(
            f"values: expected a non-empty 1-D array of finite numbers, got {values!r}"
        )
    params = check_float_params(params)
    sizes = player_sizes(params)
    radius = np.empty((vs.size, hs.size))
    min_real = np.empty(vs.size)
    verdict = []
    for i, v in enumerate(vs):
        game = make_game(float(v))
        if not isinstance(game, Game):
            raise TypeError(
                f"make_game: expected it to return a Game, got {type(game).__name__} "
                f"for {v!r}"
            )
        c = classify(game, params, key=key, tol=tol, eig_tol=eig_tol)
        min_real[i] = c.min_real
        verdict.append(c.flow_verdict)
        j = np.asarray(jacobian(game, params, key=key), np.float64)
        radius[i] = [_step_radius(j, h, rule, sizes, gamma, momentum) for h in hs]
    return StabilityMap(
        rule, str(name), hs, vs, radius, min_real, np.array(verdict, dtype=str)
    )


# --------------------------------------------------------------------------------
# Path-angle.


class PathAngle(NamedTuple):
    """Result of `path_angle`.

    Attributes:
      alpha: `(m,)` positions on the line, 0 at `start`, 1 at `end`.
      cosine: `(m,)` cosine between `xi(w_alpha)` and the direction `d`
        (`end - start` or `start - end`, see `direction`).
      player_cosines: `(m, num_players)` the same per player.
      grad_norm: `(m,)` `||xi(w_alpha)||`.
      direction: `"forward"` (`d = end - start`) or `"backward"`
        (`d = start - end`, Berard et al.'s code).
    """

    alpha: np.ndarray
    cosine: np.ndarray
    player_cosines: np.ndarray
    grad_norm: np.ndarray
    direction: str = "forward"


def path_angle(
    game: Game,
    start: Params,
    end: Params,
    *,
    key: jax.Array | None = None,
    alpha=None,
    direction: Literal["forward", "backward"] = "forward",
) -> PathAngle:
    """The path-angle of Berard et al. (2020) on the segment from `start` to `end`.

    At `w_alpha = (1 - alpha) start + alpha end` it measures
    `cos(xi(w_alpha), d)`, `xi` the players' descent gradients. With
    `direction="forward"` (the default) `d = end - start`, the direction of
    training: near a locally stable equilibrium `end` reached from `start`, a
    potential (minimisation) game shows a sign change from negative to positive
    at `alpha = 1`, a rotational game a bump of the cosine around it while
    `||xi||` dips. Berard et al.'s code (`plot_path_tools.compute_path_stats`)
    measures against `d = start - end`: `direction="backward"` gives its
    numbers (every cosine with the opposite sign: positive to negative for a
    minimisation).

    Args:
      game: the game.
      start: per-player params with the same structure.
      end: per-player params with the same structure.
      key: fixed PRNG key for a stochastic game.
      alpha: positions (default `linspace(-0.1, 1.1, 121)`, as Berard et al.).
      direction: `"forward"` (`end - start`) or `"backward"`
        (`start - end`, the reference code's sign).

    Returns:
      a `PathAngle`.
    """
    key = check_key("key", key)
    check_choice("direction", direction, ("forward", "backward"))
    start = check_float_params(start, "start")
    end = check_float_params(end, "end")
    if jax.tree.structure(start) != jax.tree.structure(end):
        raise ValueError("end: expected the same pytree structure as start")
    alpha = (
        np.linspace(-0.1, 1.1, 121) if alpha is None else np.ravel(np.asarray(alpha))
    )
    xi = vector_field(game)
    if direction == "forward":
        delta = jax.tree.map(lambda a, b: b - a, start, end)
    else:
        delta = jax.tree.map(lambda a, b: a - b, start, end)
    d_flat = [ravel_players((d,))[0] for d in delta]

    def at(a):
        # (1 - a) s + a e, not s + a (e - s): near a = 1 the point stays a scaled
        # copy of start plus end, so round-off does not turn the direction of xi.
        w = jax.tree.map(lambda s, e: (1 - a) * s + a * e, start, end)
        g = [ravel_players((gi,))[0] for gi in xi(w, key)]
        dots = jnp.stack([jnp.vdot(x, d) for x, d in zip(g, d_flat, strict=True)])
        gn = jnp.stack([jnp.linalg.norm(x) for x in g])
        dn = jnp.stack([jnp.linalg.norm(d) for d in d_flat])
        total = jnp.sum(dots) / (jnp.sqrt(jnp.sum(gn**2)) * jnp.sqrt(jnp.sum(dn**2)))
        return total, dots / (gn * dn), jnp.sqrt(jnp.sum(gn**2))

    dtype = jnp.result_type(*jax.tree.leaves(start))
    cos, per, norm = jax.jit(jax.vmap(at))(jnp.asarray(alpha, dtype))
    return PathAngle(
        np.asarray(alpha),
        np.asarray(cos),
        np.asarray(per),
        np.asarray(norm),
        direction,
    )
