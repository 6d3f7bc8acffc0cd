"""``gamedyn sweep``: files, equality with the library, clean errors."""

import numpy as np
import pytest

import gamedyn as gd
from gamedyn import outcomes
from gamedyn.cli import main
from gamedyn.experiments.dirac_sweep import dirac_run


def test_cli_writes_npz_and_png(tmp_path, capsys):
    args = [
        "sweep",
        "--game",
        "dirac",
        "--rule",
        "alternating",
        "--lr",
        "0.1:0.9:3",
        "--gamma",
        "0:1:2",
        "--steps",
        "60",
        "--every",
        "6",
        "--chunk-size",
        "4",
        "--out",
        str(tmp_path),
    ]
    assert main(args) == 0
    data = np.load(tmp_path / "sweep.npz")
    assert data["outcome"].shape == (3, 2) and data["theory"].shape == (3, 2)
    np.testing.assert_allclose(data["lr"], [0.1, 0.5, 0.9])
    direct = gd.sweep(
        dirac_run("alternating", num_steps=60, every=6),
        {"lr": data["lr"], "gamma": data["gamma"]},
    )
    np.testing.assert_array_equal(data["outcome"], direct["outcome"])
    assert (tmp_path / "phase.png").stat().st_size > 1000
    assert "6 configs" in capsys.readouterr().out


def test_cli_basin_mode(tmp_path, capsys):
    args = ["sweep", "--rule", "alternating", "--lr", "0.5:1:2", "--gamma"]
    args += ["0.5:1.7:2", "--no-progress", "--no-plots", "--out", str(tmp_path)]
    assert main(args + ["--mode", "basin"]) == 0
    data = np.load(tmp_path / "sweep.npz")
    assert str(data["mode"]) == "basin"
    np.testing.assert_array_equal(data["start"], [1.0, 1.0])
    assert data["outcome"][1, 1] == outcomes.OUTSIDE_BASIN
    assert "outside basin" in data["outcomes"].tolist()
    out = capsys.readouterr().out
    assert "from (1, 1) (basin mode)" in out and "outside basin 1" in out
    assert main(args) == 0  # local mode by default
    data = np.load(tmp_path / "sweep.npz")
    assert str(data["mode"]) == "local"
    np.testing.assert_array_equal(data["start"], [0.01, 0.01])
    assert outcomes.OUTSIDE_BASIN not in data["outcome"]


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--mode", "global"], "invalid choice"),
        (["--lr", "0.1:1"], "--lr: expected start:stop:num"),
        (["--gamma", "0:1:x"], "--gamma: expected start:stop:num"),
        (["--lr", "0:1:0"], "expected num >= 1"),
        (["--lr", "nan"], "--lr: expected finite numbers"),
        (["--lr", "0:1:3"], "--lr: expected values > 0"),
        (["--gamma", "-1"], "--gamma: expected values >= 0"),
        (["--rule", "sgd"], "invalid choice"),
        (["--steps", "0"], "--steps: expected an integer >= 1, got 0"),
        (["--start", "inf", "1"], "--start: expected a finite number"),
    ],
)
def test_cli_bad_arguments(tmp_path, capsys, extra, message):
    with pytest.raises(SystemExit) as e:
        main(["sweep", "--out", str(tmp_path), *extra])
    assert e.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--every", "40", "--steps", "60"], "--every: expected at most --steps / 2"),
        (["--rule-param", "0.5"], "--rule-param: the rule 'simultaneous' takes no"),
    ],
)
def test_cli_usage_errors_are_one_line(tmp_path, capsys, extra, message):
    assert main(["sweep", "--out", str(tmp_path / "o"), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gamedyn sweep: error: ") and message in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o" / "sweep.npz").exists()


def test_cli_out_that_is_a_file_fails_before_computing(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    assert main(["sweep", "--out", str(target), "--lr", "0.1", "--gamma", "0"]) == 2
    err = capsys.readouterr().err
    assert (
        err == f"gamedyn sweep: error: --out: {target} exists and is not a directory\n"
    )


def test_phase_figure_size_labels_and_legend_outside():
    import matplotlib.pyplot as plt

    from gamedyn.cli.sweep import phase_figure
    from gamedyn.experiments import dirac_sweep

    lr, gamma = np.linspace(0.1, 1.5, 6), np.linspace(0.0, 2.0, 5)
    theory = dirac_sweep.dirac_spectral_radius("simultaneous", lr[:, None], gamma)
    outcome = np.where(theory < 1, 0, 1)  # converged / diverged
    outcome[-1, -1] = 2  # one cycling cell in the diverged corner
    result = dirac_sweep.Result(
        lr=lr,
        gamma=gamma,
        outcome=outcome,
        rate=np.where(theory < 1, theory, np.nan),
        distance=np.zeros_like(theory),
        diverged_step=np.full(theory.shape, -1),
        theory=theory,
        agreement=1.0,
        mode="local",
        start=(0.01, 0.01),
    )
    fig = phase_figure(result, dirac_sweep.Config(lr=tuple(lr), gamma=tuple(gamma)))
    (ax,) = fig.axes
    assert tuple(fig.get_size_inches()) == (7, 4.8)
    assert "$h$" in ax.get_xlabel() and r"$\gamma$" in ax.get_ylabel()
    fig.canvas.draw()
    legend = ax.get_legend()
    # not on the rho = 1 boundary nor the diverged corner: outside the heat map
    assert not legend.get_window_extent().overlaps(ax.get_window_extent())
    assert r"theory: $\rho = 1$" in [t.get_text() for t in legend.get_texts()]
    plt.close(fig)
