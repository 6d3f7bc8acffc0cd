"""The figure style: every plotting function renders small inputs without warnings,
encodings are stable and distinct, legends cover no data, spectra limits ignore
outliers, no line crosses a gap, samples lie on top of the modes."""

import io
import warnings

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import PathCollection, QuadMesh  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

import gamedyn as gd  # noqa: E402
from gamedyn import analysis, plotting  # noqa: E402
from gamedyn.plotting import style  # noqa: E402

VARIANTS = ("gan", "nsgan", "wgan", "wgan_gp", "instance_noise", "r1", "consensus")
"""Seven variants of the Dirac-GAN study: with two rules and two more runs, 16."""


def trajectory(x, y):
    x, y = np.asarray(x, float), np.asarray(y, float)
    return gd.Trajectory(
        params=(x, y),
        final=(x[-1], y[-1]),
        diverged_step=np.array(-1),
        steps=np.arange(len(x)),
        metrics={},
        state=None,
    )


def spiral(n=60, rate=0.97):
    t = np.arange(n)
    return trajectory(rate**t * np.cos(t / 5), rate**t * np.sin(t / 5))


def records(k=3, steps=(100, 200)):
    rng = np.random.default_rng(0)
    return [
        {
            "step": s,
            "jacobian": [[float(a), float(b)] for a, b in rng.normal(size=(k, 2))],
            "hessian_g_bottom": list(-np.sort(rng.uniform(0.1, 1, k))),
            "hessian_g_top": list(np.sort(rng.uniform(1, 2, k))),
            "hessian_d_bottom": list(-np.sort(rng.uniform(0.1, 5, k))),
            "hessian_d_top": list(np.sort(rng.uniform(1, 50, k))),
        }
        for s in steps
    ]


class Mixture:
    angles = np.arange(8) * np.pi / 4
    centers = np.stack([2 * np.cos(angles), 2 * np.sin(angles)], 1)
    std = 0.02


def field():
    x = np.linspace(-1, 1, 9)
    u, v = np.meshgrid(x, x)
    return analysis.FieldGrid(x=x, y=x, u=-v, v=u)


def region():
    return analysis.stability_region("extragradient", step_size=0.5, num=40)


def snapshots():
    rng = np.random.default_rng(1)
    c = Mixture.centers
    return np.stack(
        [c[rng.integers(0, k, 200)] + 0.05 * rng.normal(size=(200, 2)) for k in (2, 8)]
    )


def subplots(**kw):
    return plt.subplots(**kw)


def _field_and_path():
    fig, ax = subplots()
    plotting.plot_vector_field(field(), ax)
    plotting.plot_trajectory(spiral(), ax, label="simultaneous")
    return fig


def _histogram():
    fig, axes = subplots(ncols=2, sharey=True)
    plotting.plot_mode_histogram(np.array([0, 3, 5, 0, 1, 2, 0, 4]), axes[0], label="a")
    plotting.plot_mode_histogram(np.zeros(8, int), axes[1])  # nothing to label
    return fig


def _eigenvalues():
    fig, ax = subplots()
    lam = np.array([0.15 + 0.48j, 0.15 - 0.48j])
    plotting.plot_eigenvalues(lam, ax, region=region(), reference=lam, title="t")
    return fig


def _animate(tmp_path):
    path = plotting.animate(
        {"simultaneous": spiral(20)}, tmp_path / "a.gif", field=field(), frames=4
    )
    assert path.endswith(".gif")
    return None


# Every public plotting function, drawn on small inputs.
RENDERERS = {
    "plot_vector_field": lambda _: _field_and_path(),
    "plot_trajectory": lambda _: _field_and_path(),
    "plot_distances": lambda _: (
        plotting.plot_distances(
            {
                "simultaneous": np.linspace(1.4, 3, 50),
                "extragradient": 0.9 ** np.arange(50),
            }
        ).figure
    ),
    "plot_stability_region": lambda _: plotting.plot_stability_region(region()).figure,
    "plot_eigenvalues": lambda _: _eigenvalues(),
    "plot_spectral_radii": lambda _: (
        plotting.plot_spectral_radii(
            np.linspace(0.1, 1, 20), {"extragradient": 1 - np.linspace(0.1, 1, 20) / 3}
        ).figure
    ),
    "plot_path_angle": lambda _: (
        plotting.plot_path_angle(
            analysis.PathAngle(
                np.linspace(-0.1, 1.1, 13),
                np.linspace(-1, 1, 13),
                np.zeros((13, 2)),
                np.linspace(1, 0.1, 13),
            ),
            title="path-angle",
        ).figure
    ),
    "phase_diagram": lambda _: (
        plotting.phase_diagram(
            np.array([[0, 1], [2, 3]]), [0.1, 0.2], [0.0, 1.0]
        ).figure
    ),
    "plot_samples": lambda _: (
        plotting.plot_samples(
            np.zeros((20, 28, 28), np.uint8), nrow=10, title="digits"
        ).figure
    ),
    "image_grid": lambda _: (
        plt.imshow(plotting.image_grid(np.zeros((4, 28, 28)))).figure
    ),
    "plot_fid_curve": lambda _: (
        plotting.plot_fid_curve(
            [100, 200, 300], [80.0, 20.0, 5.0], label="simultaneous"
        ).figure
    ),
    "plot_complex_eigenvalues": lambda _: (
        plotting.plot_complex_eigenvalues(
            {"plain GAN": [1 + 2j, 1 - 2j], "NS-GAN + R1": [[3.0, 0.5], [3.0, -0.5]]}
        ).figure
    ),
    "plot_hessian_ends": lambda _: plotting.plot_hessian_ends(records(), "d").figure,
    "plot_spectra": lambda _: plotting.plot_spectra(records()),
    "plot_spectra_over_steps": lambda _: plotting.plot_spectra_over_steps(
        [
            dict(
                r,
                seed=seed,
                jacobian_imag=[[0.1 * i, 1.0 + i] for i in range(3)],
                rotation=0.4 + 0.1 * seed,
            )
            for seed in (0, 1)
            for r in records()
        ]
    ),
    "plot_mog_samples": lambda _: plotting.plot_mog_samples(
        snapshots(), [0, 100], Mixture(), title="ring"
    ),
    "plot_mode_histogram": lambda _: _histogram(),
    "animate": _animate,
}


# Functions whose legend placement is not done yet (owned elsewhere): rendered
# without warnings; their legend check is expected to fail until then.
LEGEND_PENDING: set[str] = set()


def test_every_plotting_function_has_a_renderer():
    functions = {
        name
        for name in plotting.__all__
        if callable(getattr(plotting, name))
        and name not in ("encoding", "encodings", "legend")
    }
    assert functions == set(RENDERERS)


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_renders_without_warnings(name, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = RENDERERS[name](tmp_path)
        if fig is not None:
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=50)
            assert buffer.tell() > 1000
            assert any(ax.has_data() for ax in fig.axes)
            if name not in LEGEND_PENDING:
                for ax in fig.axes:
                    check_legend(ax)
    plt.close("all")


# --------------------------------------------------------------------------------
# Legends: outside the axes, or over no data (checked independently of the
# placement code: points sampled along every line and every marker).


def data_points(ax):
    pts = []
    for line in ax.get_lines():
        xy = line.get_transform().transform(np.asarray(line.get_xydata(), float))
        xy = xy[np.all(np.isfinite(xy), axis=1)]
        if line.get_linestyle() not in ("None", "", " ") and len(xy) > 1:
            s = np.linspace(0, 1, 40)[:, None, None]
            xy = (xy[:-1] * (1 - s) + xy[1:] * s).reshape(-1, 2)
        pts.append(xy)
    for c in ax.collections:
        if isinstance(c, PathCollection) and len(c.get_offsets()):
            off = c.get_offset_transform().transform(np.asarray(c.get_offsets()))
            pts.append(off)
        elif isinstance(c, QuadMesh):  # a heat map covers its whole extent
            box = c.get_window_extent()
            pts.append(np.array([[box.x0, box.y0], [box.x1, box.y1]]))
            xs, ys = np.meshgrid(
                *(np.linspace(a, b, 30) for a, b in box.get_points().T)
            )
            pts.append(np.stack([xs.ravel(), ys.ravel()], 1))
    return np.concatenate(pts) if pts else np.zeros((0, 2))


def check_legend(ax):
    leg = ax.get_legend()
    if leg is None:
        return
    ax.figure.canvas.draw()
    box = leg.get_window_extent()
    if not box.overlaps(ax.get_window_extent()):
        return  # outside the axes
    pts = data_points(ax)
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    inside = (
        (pts[:, 0] > box.x0)
        & (pts[:, 0] < box.x1)
        & (pts[:, 1] > box.y0)
        & (pts[:, 1] < box.y1)
    )
    assert not inside.any(), f"the legend covers {inside.sum()} data points"


def test_legend_goes_where_it_covers_no_data():
    fig, axes = subplots(ncols=3, figsize=(12, 4))
    x = np.linspace(0, 1, 50)
    # data in the upper right: the legend goes to another corner
    axes[0].plot(x, x**4, label="a")
    axes[0].plot(x, x**3, label="b")
    leg = style.legend(axes[0])
    fig.canvas.draw()
    box, frame = leg.get_window_extent(), axes[0].get_window_extent()
    assert frame.x0 <= box.x0 and box.x1 <= frame.x1  # inside the axes
    assert frame.y0 <= box.y0 and box.y1 <= frame.y1  # (and over no data: below)
    # data everywhere: outside
    rng = np.random.default_rng(0)
    axes[1].scatter(*rng.uniform(size=(2, 3000)), s=4, label="noise")
    leg = style.legend(axes[1])
    fig.canvas.draw()
    assert not leg.get_window_extent().overlaps(axes[1].get_window_extent())
    # nothing labelled: no legend and no warning
    axes[2].plot(x, x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert style.legend(axes[2]) is None
    for ax in axes:
        check_legend(ax)
    plt.close(fig)


def test_legend_below_sits_under_the_x_label():
    fig, ax = subplots()
    ax.plot([0, 1], [0, 1], label="a")
    ax.set_xlabel("x label")
    leg = style.legend(ax, where="below")
    fig.tight_layout()
    fig.canvas.draw()
    label = ax.xaxis.label.get_window_extent()
    assert leg.get_window_extent().y1 <= label.y0 + 1
    plt.close(fig)


# --------------------------------------------------------------------------------
# Encodings.


def line_keys(ax):
    return [
        (to_hex(line.get_color()), line.get_linestyle(), line.get_marker())
        for line in ax.get_lines()
        if not line.get_label().startswith("_")
    ]


def test_sixteen_runs_are_distinct_and_outside_legend():
    runs = {
        f"{rule}/{variant}": np.geomspace(1.4, 0.1 + i, 300)
        for i, (rule, variant) in enumerate(
            (r, v) for v in VARIANTS for r in ("simultaneous", "alternating")
        )
    }
    runs["extragradient/gan"] = np.geomspace(1.4, 0.2, 300)
    runs["optimistic/gan"] = np.geomspace(1.4, 0.2, 300)  # on top of the last
    assert len(runs) == 16
    fig, ax = subplots(figsize=(7, 4))
    plotting.plot_distances(runs, ax)
    keys = line_keys(ax)
    assert len(keys) == 16 and len(set(keys)) == 16
    # the two runs of one variant share its colour; rules differ in style
    enc = style.encodings(runs)
    assert enc["simultaneous/gan"]["color"] == enc["alternating/gan"]["color"]
    assert enc["simultaneous/gan"]["color"] != enc["simultaneous/wgan_gp"]["color"]
    fig.tight_layout()
    fig.canvas.draw()
    assert not ax.get_legend().get_window_extent().overlaps(ax.get_window_extent())
    # markers of lines lying on top of each other are staggered
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert (
        lines["extragradient/gan"].get_markevery()
        != lines["optimistic/gan"].get_markevery()
    )
    plt.close(fig)


def test_registry_rules_and_variants_have_fixed_distinct_encodings():
    rules = gd.dynamics.names()
    assert set(rules) <= set(style.RULE_STYLES)
    assert set(gd.experiments.dirac.VARIANTS) <= set(style.VARIANT_STYLES)
    keys = [tuple(map(str, style.encoding(r).values())) for r in rules]
    assert len(set(keys)) == len(keys)
    assert len({style.encoding(r)["color"] for r in rules}) == len(rules)
    # one mapping for every plot: a rule looks the same in each figure
    fig, (a1, a2) = subplots(ncols=2)
    plotting.plot_distances({"x": np.ones(5), "extragradient SGD": np.ones(5)}, a1)
    h = np.linspace(0.1, 1, 5)
    plotting.plot_spectral_radii(h, {"optimistic": h, "extragradient": h}, a2)
    c1 = {line.get_label(): to_hex(line.get_color()) for line in a1.get_lines()}
    c2 = {line.get_label(): to_hex(line.get_color()) for line in a2.get_lines()}
    assert c1["extragradient SGD"] == c2["extragradient"] == to_hex("tab:green")
    plt.close(fig)


def test_encodings_of_other_labels():
    enc = style.encodings(["optimistic SGD", "optimistic Adam (b1=0)", "p", "q"])
    assert enc["optimistic SGD"] == style.RULE_STYLES["optimistic"]
    assert (
        enc["optimistic Adam (b1=0)"]["color"]
        == style.RULE_STYLES["optimistic"]["color"]
    )
    assert enc["optimistic Adam (b1=0)"] != enc["optimistic SGD"]
    colours = [e["color"] for e in enc.values()]
    assert len(set(colours[1:])) == 3  # new labels take unused colours first
    many = style.encodings([f"run {i}" for i in range(40)])
    assert len({tuple(map(str, e.values())) for e in many.values()}) == 40
    assert style.encoding("run 7") == style.encoding("run 7")
    with pytest.raises(TypeError, match="label: expected a string"):
        style.encoding(3)


# --------------------------------------------------------------------------------
# Scales and limits.


def test_log_scale_only_when_values_span_decades():
    fig, (a1, a2, a3) = subplots(ncols=3)
    plotting.plot_fid_curve([1, 2, 3], [7.6, 7.9, 7.7], ax=a1)
    plotting.plot_fid_curve([1, 2, 3], [300.0, 30.0, 3.0], ax=a2)
    plotting.plot_distances({"a": np.geomspace(1, 1e-4, 30)}, a3)
    assert a1.get_yscale() == "linear"
    assert a2.get_yscale() == "log" and a3.get_yscale() == "log"
    plt.close(fig)


def test_outlier_does_not_set_the_eigenvalue_limits():
    rng = np.random.default_rng(0)
    lam = 0.08 * (rng.normal(size=200) + 1j * rng.normal(size=200))
    lam = np.r_[lam, 9.4]
    fig, ax = subplots()
    plotting.plot_eigenvalues(lam, ax)
    x0, x1 = ax.get_xlim()
    assert x1 < 1.0 and x0 > -1.0  # not stretched to 9.4
    marks = [c for c in ax.collections if c.get_gid() == style.OUTLIER_GID]
    offsets = np.concatenate([c.get_offsets() for c in marks if len(c.get_offsets())])
    assert offsets.shape == (1, 2) and offsets[0, 0] == pytest.approx(x1)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("9.4" in t for t in texts)
    check_legend(ax)
    plt.close(fig)


def test_mixed_signs_over_decades_get_symlog():
    rng = np.random.default_rng(0)
    plain = np.r_[rng.normal(0, 2, 16), [-370.0, -150.0, 130.0, 60.0]]
    plain = plain + 1j * rng.normal(0, 1, plain.size)
    fig, ax = subplots()
    plotting.plot_complex_eigenvalues(
        {"plain GAN": plain, "R1": 2 + rng.normal(size=20)}, ax
    )
    assert ax.get_xscale() == "symlog"
    x0, x1 = ax.get_xlim()
    assert x0 < -370 and x1 > 130  # the large ones are shown, not clipped
    ticks = ax.get_xticks()
    assert 0.0 in ticks and len(ticks) <= 12
    # compact values stay linear
    fig2, ax2 = subplots()
    plotting.plot_complex_eigenvalues([1 + 1j, 2 - 1j, 0.5 + 0.2j], ax2)
    assert ax2.get_xscale() == "linear" and ax2.get_yscale() == "linear"
    plt.close("all")


def test_robust_limits_and_outliers():
    x = np.r_[np.linspace(-1, 1, 50), 40.0]
    lim = style.robust_limits(x)
    assert lim.scale == "linear" and lim.hi < 2 and lim.outside[-1]
    assert lim.outside.sum() == 1
    # few points: nothing is an outlier
    assert not style.robust_limits([1.0, 2.0, 50.0]).outside.any()
    # a mass at one value: the others are not outliers of it
    assert not style.outliers(np.r_[np.zeros(30), 1.0]).any()
    # both signs, most values small: symlog with a power-of-ten linear range
    y = np.r_[np.linspace(-1, 1, 30), -300.0, -120.0, 80.0, 200.0, 150.0, -90.0]
    lim = style.robust_limits(y)
    assert lim.scale == "symlog" and lim.lo < -300 and lim.hi > 200
    assert np.log10(lim.linthresh) == int(np.log10(lim.linthresh))
    assert style.robust_limits(np.ones(5)).hi > 1
    with pytest.raises(ValueError, match="scale: expected"):
        style.robust_limits(x, scale="log2")


# --------------------------------------------------------------------------------
# Gaps, layering.


def test_hessian_bottom_and_top_are_separate_lines():
    recs = records(k=4, steps=(100, 200, 300))
    fig = plotting.plot_spectra(recs)
    for ax in fig.axes[1:3]:
        lines = [line for line in ax.get_lines() if len(line.get_xdata()) > 2]
        assert len(lines) == 2 * len(recs)  # bottom-k and top-k per checkpoint
        for line in lines:
            x = np.asarray(line.get_xdata(), float)
            y = np.asarray(line.get_ydata(), float)
            assert np.isfinite(y).all()  # no NaN-joined line
            assert np.all(np.diff(x) == 1)  # consecutive ranks, no jump over the gap
        tops = {float(line.get_xdata()[0]) for line in lines}
        assert len(tops) == 2  # two groups: the smallest and the largest
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=40)
    plt.close(fig)


def test_trajectory_breaks_at_non_finite_records():
    x = np.r_[np.linspace(1, 0.5, 5), np.nan, np.linspace(0.4, 0.1, 4)]
    fig, ax = subplots()
    plotting.plot_trajectory(trajectory(x, x), ax, label="alternating/r1")
    path = ax.get_lines()[0]
    assert np.isnan(path.get_xdata()[5])  # a gap, not a line across it
    assert path.get_color() == style.VARIANT_STYLES["r1"]["color"]
    assert path.get_linestyle() == "--"  # alternating
    plt.close(fig)


def test_mog_samples_are_drawn_over_the_modes():
    fig = plotting.plot_mog_samples(snapshots(), [0, 100], Mixture())
    for ax in fig.axes:
        samples = [c for c in ax.collections if c.get_label() == "generated"]
        modes = [c for c in ax.collections if c.get_label().startswith("modes")]
        assert len(samples) == len(modes) == 1
        assert samples[0].get_zorder() > modes[0].get_zorder()
        assert all(p.get_zorder() < samples[0].get_zorder() for p in ax.patches)
        assert modes[0].get_sizes().max() <= 25  # small markers
        assert np.all(modes[0].get_facecolor()[:, 3] == 0)  # hollow: samples show
        assert ax.get_legend() is None
    # one legend for the panels, under them all
    (leg,) = fig.legends
    assert [t.get_text() for t in leg.get_texts()][1] == "generated"
    fig.canvas.draw()
    box = leg.get_window_extent()
    assert all(box.y1 <= ax.get_tightbbox().y0 + 1 for ax in fig.axes)
    plt.close(fig)


@pytest.mark.parametrize("where", ["below", "right"])
def test_figure_legend_is_outside_every_panel(where):
    fig, axes = subplots(ncols=3, figsize=(9, 3))
    x = np.linspace(-1, 1, 30)
    for k, ax in enumerate(axes):
        ax.plot(x, x**2, label="parabola")  # the same label in every panel: once
        ax.plot(x, x + k, label=f"line {k}")
        ax.set(xlabel="$x$", ylabel="$y$", aspect="equal", ylim=(-1, 3))
        ax.legend()  # replaced by the figure's
    sizes = [ax.get_window_extent().size / fig.dpi for ax in axes]
    leg = style.figure_legend(fig, where=where)
    fig.canvas.draw()
    assert [t.get_text() for t in leg.get_texts()] == [
        "parabola",
        "line 0",
        "line 1",
        "line 2",
    ]
    assert all(ax.get_legend() is None for ax in axes)
    box = leg.get_window_extent()
    for ax in axes:
        tight = ax.get_tightbbox()  # with tick labels and axis labels
        assert (box.y1 <= tight.y0 + 1) if where == "below" else (box.x0 >= tight.x1)
    # the figure grew by the legend's strip; tight_layout set the panels' size
    grown = fig.get_size_inches()
    assert grown[0] > 9 if where == "right" else grown[1] > 3
    now = [ax.get_window_extent().size / fig.dpi for ax in axes]
    assert np.allclose(now, now[0]) and now[0][0] > 0.5 * sizes[0][0]
    with pytest.raises(ValueError, match="where: expected 'below' or 'right'"):
        style.figure_legend(fig, where="left")
    plt.close(fig)


def test_boundary_through_radii_of_one_is_unbroken():
    # alternating GD without a regularizer is a centre: rho = 1 up to round-off on
    # gamma = 0, which once drew the boundary there in fragments
    from matplotlib.contour import ContourSet
    from matplotlib.path import Path

    from gamedyn.experiments.dirac_sweep import dirac_spectral_radius

    lr, gamma = np.linspace(0.02, 1.5, 24), np.linspace(0.0, 2.0, 24)
    rho = dirac_spectral_radius("alternating", lr[:, None], gamma[None, :])
    assert np.ptp(rho[:, 0]) > 0 and np.abs(rho[:, 0] - 1).max() < 1e-12
    fig, ax = subplots()
    plotting.phase_diagram(np.where(rho < 1, 0, 1), lr, gamma, theory=rho, ax=ax)
    (boundary,) = [c for c in ax.collections if isinstance(c, ContourSet)]
    (path,) = boundary.get_paths()
    starts = path.vertices[path.codes == Path.MOVETO]
    on_zero = np.abs(path.vertices[:, 1]) < 1e-6
    assert np.sum(np.abs(starts[:, 1]) < 1e-6) == 1  # one piece along gamma = 0
    assert np.ptp(path.vertices[on_zero, 0]) == pytest.approx(np.ptp(lr))
    plt.close(fig)
