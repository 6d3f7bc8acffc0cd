"""Spectrum plots: the drawn stability regions have the right boundaries."""

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.contour import ContourSet  # noqa: E402

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


def test_simultaneous_region_is_the_disc():
    h = 0.5
    fig, ax = plt.subplots()
    plotting.plot_stability_region("simultaneous", h, ax, fill=False)
    z = boundary_points(ax) @ np.array([1.0, 1j])
    np.testing.assert_allclose(np.abs(1 - h * z), 1.0, atol=0.02)
    plt.close(fig)


def test_plot_eigenvalues_with_region_and_reference():
    lam = np.array([0.15 + 0.477j, 0.15 - 0.477j])
    fig, ax = plt.subplots()
    plotting.plot_eigenvalues(
        lam, ax, rule="extragradient", step_size=0.5, reference=lam, title="Dirac-GAN"
    )
    z = boundary_points(ax) @ np.array([1.0, 1j])
    np.testing.assert_allclose(
        analysis.step_radius(0.5 * z, "extragradient"), 1.0, atol=0.03
    )
    assert ax.get_title() == "Dirac-GAN"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "closed form" in labels and "extragradient stable, h=0.5" in labels
    with pytest.raises(ValueError, match="step_size: expected a positive number"):
        plotting.plot_eigenvalues(lam, ax, rule="simultaneous")
    with pytest.raises(ValueError, match="rule: expected one of"):
        plotting.plot_stability_region("alternating")
    plt.close(fig)


def test_radii_and_path_angle_plots():
    fig, (a1, a2) = plt.subplots(1, 2)
    h = np.linspace(0.1, 1, 5)
    plotting.plot_spectral_radii(h, {"extragradient": 1 - h / 2}, a1, title="radii")
    assert len(a1.lines) == 2 and a1.get_title() == "radii"
    res = analysis.PathAngle(
        np.linspace(0, 1, 4), np.zeros(4), np.zeros((4, 2)), np.ones(4)
    )
    plotting.plot_path_angle(res, a2)
    assert len(a2.lines) == 5  # total, two players, two markers
    plt.close(fig)
