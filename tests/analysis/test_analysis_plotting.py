"""Grids for plots (vector fields, stability regions) and the plots that draw them."""

import io
import warnings

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.contour import ContourSet  # noqa: E402

import gamedyn as gd  # noqa: E402
from gamedyn import analysis, plotting  # noqa: E402


def boundary_points(ax):
    pts = [
        p.vertices
        for c in ax.collections
        if isinstance(c, ContourSet) and not c.filled  # the level-1 lines
        for p in c.get_paths()
        if len(p.vertices) > 20
    ]
    return np.concatenate(pts)


def sigmoid(t):
    return 1 / (1 + np.exp(-t))


# --------------------------------------------------------------------------------
# vector_field_grid and plot_vector_field.


def test_vector_field_grid_is_the_dirac_gan_closed_form(x64):
    gamma = 0.3
    game = gd.games.dirac_gan(regularizer=gd.regularizers.r1(gamma))
    field = analysis.vector_field_grid(game, bounds=(-2.0, 1.0, -0.5, 3.0), num=7)
    np.testing.assert_allclose(field.x, np.linspace(-2.0, 1.0, 7))
    np.testing.assert_allclose(field.y, np.linspace(-0.5, 3.0, 7))
    assert field.u.shape == field.v.shape == (7, 7)
    theta, psi = np.meshgrid(field.x, field.y)  # u[i, j] at (x[j], y[i])
    fprime = sigmoid(-psi * theta)  # f(t) = -log(1 + e^-t)
    # descent direction -xi: xi = (psi f'(psi theta), -theta f'(psi theta) + gamma psi)
    np.testing.assert_allclose(field.u, -psi * fprime, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(
        field.v, theta * fprime - gamma * psi, rtol=1e-12, atol=1e-14
    )


def test_vector_field_grid_wgan_default_bounds_and_key():
    game = gd.games.dirac_gan("wgan")  # f(t) = t: -xi = (-psi, theta)
    field = analysis.vector_field_grid(game, key=jax.random.key(0))
    np.testing.assert_allclose(field.x, np.linspace(-2, 2, 25))
    theta, psi = np.meshgrid(field.x, field.y)
    np.testing.assert_allclose(field.u, -psi, atol=1e-6)
    np.testing.assert_allclose(field.v, theta, atol=1e-6)
    # a stochastic game is evaluated with the same fixed key at every point
    noisy = gd.games.dirac_gan(instance_noise=0.5, num_samples=64)
    a = analysis.vector_field_grid(noisy, num=4, key=jax.random.key(1))
    b = analysis.vector_field_grid(noisy, num=4, key=jax.random.key(1))
    np.testing.assert_array_equal(a.u, b.u)
    point = (jnp.float32(a.x[1]), jnp.float32(a.y[2]))
    xi = gd.vector_field(noisy)(point, jax.random.key(1))
    np.testing.assert_allclose([a.u[2, 1], a.v[2, 1]], [-xi[0], -xi[1]], rtol=1e-5)
    assert not np.allclose(a.u, analysis.vector_field_grid(noisy, num=4).u)


def test_vector_field_grid_rejects_other_games():
    bil = gd.games.bilinear(jnp.eye(2))
    with pytest.raises(ValueError, match="game: expected two players with one scalar"):
        analysis.vector_field_grid(bil)
    game = gd.games.dirac_gan()
    with pytest.raises(ValueError, match="num: expected an integer >= 2"):
        analysis.vector_field_grid(game, num=1)
    with pytest.raises(ValueError, match="bounds: expected finite"):
        analysis.vector_field_grid(game, bounds=(1.0, -1.0, -1.0, 1.0))
    with pytest.raises(ValueError, match="bounds: expected finite"):
        analysis.vector_field_grid(game, bounds=(0.0, 1.0))


def test_plot_vector_field_draws_the_grid():
    field = analysis.FieldGrid(
        x=np.linspace(-1, 1, 5),
        y=np.linspace(0, 2, 5),
        u=-np.ones((5, 5)),
        v=np.zeros((5, 5)),
    )
    fig, ax = plt.subplots()
    assert plotting.plot_vector_field(field, ax, color="r") is ax
    assert ax.get_xlim() == (-1.0, 1.0) and ax.get_ylim() == (0.0, 2.0)
    segs = np.concatenate([c.get_segments() for c in ax.collections])
    assert len(segs) > 0
    # every streamline segment points in the -x direction of the field
    dx = np.array([s[-1, 0] - s[0, 0] for s in segs])
    assert np.all(dx <= 1e-12) and np.any(dx < 0)
    with pytest.raises(TypeError, match="field: expected a FieldGrid"):
        plotting.plot_vector_field(gd.games.dirac_gan(), ax)
    with pytest.raises(ValueError, match="field: expected 1-D x, y"):
        plotting.plot_vector_field(field._replace(u=np.zeros((4, 5))), ax)
    plt.close(fig)


# --------------------------------------------------------------------------------
# stability_region, plot_stability_region, plot_eigenvalues.


def test_stability_region_values():
    region = analysis.stability_region("momentum", step_size=0.5, num=30, momentum=-0.5)
    assert region.rule == "momentum" and region.momentum == -0.5
    np.testing.assert_allclose(region.re, np.linspace(-2.0, 6.0, 30))  # [-1, 3] / h
    np.testing.assert_allclose(region.im, np.linspace(-4.0, 4.0, 30))
    z = 0.5 * (region.re[None, :] + 1j * region.im[:, None])
    np.testing.assert_allclose(
        region.radius, analysis.multiplier_radius(z, "momentum", momentum=-0.5)
    )
    disc = analysis.stability_region(
        "simultaneous", step_size=0.25, bounds=(0, 8, -1, 1), num=9
    )
    np.testing.assert_allclose(disc.radius[4], np.abs(1 - 0.25 * disc.re))
    with pytest.raises(ValueError, match="rule: expected one of"):
        analysis.stability_region("alternating")
    with pytest.raises(ValueError, match="step_size: expected a positive number"):
        analysis.stability_region("simultaneous", step_size=0.0)
    with pytest.raises(ValueError, match="num: expected an integer >= 2"):
        analysis.stability_region("simultaneous", num=1)
    with pytest.raises(ValueError, match="bounds: expected finite"):
        analysis.stability_region("simultaneous", bounds=(0, 0, -1, 1))


def test_simultaneous_region_is_the_disc():
    h = 0.5
    fig, ax = plt.subplots()
    region = analysis.stability_region("simultaneous", step_size=h)
    plotting.plot_stability_region(region, ax, fill=False)
    z = boundary_points(ax) @ np.array([1.0, 1j])
    np.testing.assert_allclose(np.abs(1 - h * z), 1.0, atol=0.02)
    assert ax.get_xlim() == (-2.0, 6.0)
    with pytest.raises(TypeError, match="region: expected a RegionGrid"):
        plotting.plot_stability_region("simultaneous", ax)
    plt.close(fig)


def test_plot_eigenvalues_with_region_and_reference():
    lam = np.array([0.15 + 0.477j, 0.15 - 0.477j])
    fig, ax = plt.subplots()
    region = analysis.stability_region("extragradient", step_size=0.5)
    plotting.plot_eigenvalues(lam, ax, region=region, reference=lam, title="Dirac-GAN")
    z = boundary_points(ax) @ np.array([1.0, 1j])
    np.testing.assert_allclose(
        analysis.multiplier_radius(0.5 * z, "extragradient"), 1.0, atol=0.03
    )
    assert ax.get_title() == "Dirac-GAN"
    assert ax.get_xlim() == (-2.0, 6.0)  # the region's grid covers the points
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "closed form" in labels and "extragradient stable, $h = 0.5$" in labels
    plt.close(fig)
    fig, ax = plt.subplots()
    plotting.plot_eigenvalues(lam, ax)  # no region: a square around the points
    assert ax.get_xlim() == pytest.approx((-0.6, 0.6), rel=1e-2)
    plt.close(fig)


# --------------------------------------------------------------------------------
# The continuous-time limit (limit=True): flow_region on the plots.


def flow_verdict_from_region(lam, region):
    """The flow's verdict read off flow_region's radius exp(-T Re lambda)."""
    radius = np.interp(np.real(lam), region.re, region.radius[0])
    if np.all(radius < 1 - 1e-9):
        return "stable"
    return "unstable" if np.any(radius > 1 + 1e-9) else "marginal"


def render(fig):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig.savefig(io.BytesIO(), format="png")


def test_stability_map_limit_agrees_with_flow_region(x64):
    gammas, hs = np.array([0.0, 0.2, 0.5, 0.8]), np.linspace(0.1, 3.0, 12)
    eq = (jnp.asarray(0.0), jnp.asarray(0.0))

    def make(g):
        return gd.games.dirac_gan(regularizer=gd.regularizers.r1(g))

    m = analysis.stability_map(make, eq, "simultaneous", hs, gammas, name="gamma")
    fig, ax = plt.subplots()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plotting.plot_stability_region(m, ax, limit=True)
        plotting.legend(ax)
    render(fig)
    drawn = {}  # gamma -> the verdict drawn at h = 0
    for c in ax.collections:
        if c.get_label().startswith(plotting.analysis.FLOW_LABEL + ": "):
            xy = c.get_offsets()
            np.testing.assert_array_equal(xy[:, 0], 0.0)
            drawn.update({float(y): c.get_label().split(": ")[1] for y in xy[:, 1]})
    region = analysis.flow_region(bounds=(-1.0, 1.0, -1.0, 1.0), num=201)
    expected = {  # J(0)'s eigenvalues (gamma +- i sqrt(1 - gamma^2)) / 2
        float(g): flow_verdict_from_region(g / 2, region) for g in gammas
    }
    assert (
        drawn
        == expected
        == {0.0: "marginal", 0.2: "stable", 0.5: "stable", 0.8: "stable"}
    )
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [
        "simultaneous stable",
        "flow (h -> 0): stable",
        "flow (h -> 0): marginal",
    ]
    assert ax.get_xlim()[0] < 0 < hs[0] and ax.get_xlabel() == "step size $h$"
    # the step's boundary is SimGD's h = 4 gamma (up to the coarse grid's
    # interpolation): the axes are (h, gamma), not transposed
    lines = [c for c in ax.collections if isinstance(c, ContourSet) and not c.filled]
    pts = np.concatenate([p.vertices for p in lines[0].get_paths()])
    np.testing.assert_allclose(pts[:, 0], 4 * pts[:, 1], atol=0.1)
    plt.close(fig)
    fig, ax = plt.subplots()  # without limit: no markers, the axes start at h[0]
    plotting.plot_stability_region(m, ax)
    assert ax.get_xlim()[0] == hs[0] and not [
        c for c in ax.collections if c.get_label().startswith("flow")
    ]
    with pytest.raises(ValueError, match="region: expected at least 2 step sizes"):
        plotting.plot_stability_region(m._replace(step_sizes=hs[:1]), ax)
    plt.close(fig)


def test_unstable_flow_marker():
    m = analysis.StabilityMap(
        "extragradient",
        "a",
        np.array([0.5, 1.0]),
        np.array([-1.0, 0.0, 1.0]),
        np.array([[1.2, 1.4], [1.0, 1.0], [0.8, 0.9]]),
        np.array([-1.0, 0.0, 1.0]),
        np.array(["unstable", "marginal", "stable"]),
    )
    fig, ax = plt.subplots()
    plotting.plot_stability_region(m, ax, limit=True)
    marks = {
        c.get_label(): c.get_offsets()[:, 1].tolist()
        for c in ax.collections
        if c.get_label().startswith("flow")
    }
    assert marks == {
        "flow (h -> 0): stable": [1.0],
        "flow (h -> 0): marginal": [0.0],
        "flow (h -> 0): unstable": [-1.0],
    }
    render(fig)
    plt.close(fig)


def test_region_limit_is_the_flow_half_plane(x64):
    bounds = (-1.0, 3.0, -2.0, 2.0)
    region = analysis.stability_region(
        "simultaneous", step_size=0.5, bounds=bounds, num=100
    )
    label = r"flow (h -> 0): Re $\lambda > 0$"
    fig, (a1, a2, a3) = plt.subplots(1, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plotting.plot_stability_region(region, a1, limit=True)
        lam = np.array([0.15 + 0.477j, 0.15 - 0.477j])
        plotting.plot_eigenvalues(lam, a2, region=region, limit=True)
        plotting.plot_eigenvalues(lam, a3, limit=True)  # over the bounds alone
    render(fig)
    for ax in (a1, a2):
        lines = [
            c for c in ax.collections if isinstance(c, ContourSet) and not c.filled
        ]
        disc, flow = (
            np.concatenate([p.vertices for p in c.get_paths()]) for c in lines
        )
        np.testing.assert_allclose(np.abs(1 - 0.5 * (disc @ [1.0, 1j])), 1.0, atol=0.02)
        # flow_region's boundary on the region's grid: the imaginary axis
        np.testing.assert_allclose(flow[:, 0], 0.0, atol=1e-4)
        assert np.ptp(flow[:, 1]) == pytest.approx(4.0)
    assert label in [t.get_text() for t in a2.get_legend().get_texts()]
    assert label in [t.get_text() for t in a3.get_legend().get_texts()]
    assert label in a1.get_legend_handles_labels()[1]
    plt.close(fig)
    fig, ax = plt.subplots()  # the flow's own region is not drawn twice
    plotting.plot_stability_region(
        analysis.flow_region(bounds=bounds, num=20), ax, limit=True
    )
    assert ax.get_legend_handles_labels()[1] == ["flow"]
    plt.close(fig)


def test_radii_and_path_angle_plots():
    fig, (a1, a2) = plt.subplots(1, 2)
    h = np.linspace(0.1, 1, 5)
    plotting.plot_spectral_radii(h, {"extragradient": 1 - h / 2}, a1, title="radii")
    assert len(a1.lines) == 2 and a1.get_title() == "radii"
    np.testing.assert_allclose(a1.lines[0].get_ydata(), 1 - h / 2)
    with pytest.raises(ValueError, match=r"radii\['x'\]: expected 5 values"):
        plotting.plot_spectral_radii(h, {"x": h[:3]}, a1)
    res = analysis.PathAngle(
        np.linspace(0, 1, 4), np.zeros(4), np.zeros((4, 2)), np.ones(4)
    )
    plotting.plot_path_angle(res, a2)
    assert len(a2.lines) == 5  # total, two players, two markers
    plt.close(fig)
