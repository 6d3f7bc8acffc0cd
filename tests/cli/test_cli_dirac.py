"""The ``gamedyn dirac`` job."""

import json
import os

import pytest

from gamedyn.cli import main


def test_dirac_study_outcomes_and_files(tmp_path, capsys):
    out = tmp_path / "dirac"
    args = ["dirac", "--out", str(out), "--rule", "simultaneous", "alternating"]
    assert main(args + ["--variant", "gan", "r1", "--no-progress"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    got = {(r["rule"], r["variant"]): r for r in summary["runs"]}
    # Mescheder et al. 2018, Fig. 3: simGD diverges, altGD cycles, R1 converges.
    assert summary["judge"]["function"] == "gamedyn.outcomes.classify_runs"
    assert "discriminator first" in summary["conventions"]
    assert got["simultaneous", "gan"]["outcome"] == "diverged"
    assert got["alternating", "gan"]["outcome"] == "cycles"
    assert got["simultaneous", "r1"]["outcome"] == "converged"
    assert got["alternating", "r1"]["outcome"] == "converged"
    assert got["simultaneous", "r1"]["final_distance"] < 1e-3
    assert got["alternating", "gan"]["final_distance"] == pytest.approx(1.41, abs=0.1)
    for name in summary["figures"]:
        assert os.path.getsize(out / name) > 10_000
    assert "dirac_overview.png" in summary["figures"]
    printed = capsys.readouterr().out
    assert "simultaneous  gan" in printed and "diverged" in printed


def test_dirac_paper_mode(tmp_path, capsys):
    out = tmp_path / "paper"
    args = ["dirac", "--paper", "--out", str(out), "--rule", "alternating"]
    assert main(args + ["--variant", "gan", "r1_critical", "--steps", "1"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["paper"] is True and "generator first" in summary["conventions"]
    got = {r["variant"]: r for r in summary["runs"]}
    # One alternating step from (1, 1), generator first (Mescheder et al. 2018).
    assert got["gan"]["final"] == pytest.approx([0.94621, 1.05292], abs=5e-6)
    printed = capsys.readouterr().out
    assert "reference notebook's conventions" in printed
    assert "dirac_overview.png" in summary["figures"]


def test_dirac_custom_variant(tmp_path):
    out = tmp_path / "c"
    args = ["dirac", "--out", str(out), "--rule", "extragradient", "--no-plots"]
    assert main(args + ["--regularizer", "r1", "--gamma", "1.0", "--steps", "200"]) == 0
    (run,) = json.loads((out / "summary.json").read_text())["runs"]
    assert run["variant"] == "custom" and run["regularizer"] == "r1"
    assert run["outcome"] == "converged"


def test_dirac_summary_is_strict_json_when_a_run_diverges(tmp_path):
    out = tmp_path / "d"
    args = ["dirac", "--out", str(out), "--rule", "simultaneous", "--no-plots"]
    assert main(args + ["--variant", "wgan_gp", "--lr", "1e3", "--steps", "50"]) == 0
    text = (out / "summary.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    (run,) = json.loads(text)["runs"]
    assert run["outcome"] == "diverged" and run["final_distance"] is None
    assert run["diverged_step"] > 0 and run["final"] == [None, None]


@pytest.mark.parametrize(
    "bad,message",
    [
        (["--lr", "-1"], "--lr: expected a number > 0, got -1"),
        (["--lr", "inf"], "--lr: expected a finite number"),
        (["--steps", "0"], "--steps: expected an integer >= 1, got 0"),
        (["--rule", "newton"], "invalid choice"),
        (["--gamma", "nan"], "--gamma: expected a finite number"),
    ],
)
def test_dirac_bad_arguments(bad, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["dirac", "--out", str(tmp_path)] + bad)
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_dirac_bad_rule_param_is_one_line(tmp_path, capsys):
    args = ["dirac", "--out", str(tmp_path / "o"), "--rule", "unrolled"]
    assert main(args + ["--rule-param", "0.5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gamedyn dirac: error: rule_param (unrolled steps)")
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_help_shows_defaults_and_no_markup(capsys):
    with pytest.raises(SystemExit):
        main(["dirac", "--help"])
    text = capsys.readouterr().out
    assert "(default: 0.2)" in text and "consensus (gamma, default 1.0)" in text
    assert ":func:" not in text and "``" not in text


def test_dirac_animate_writes_a_gif(tmp_path):
    from PIL import Image

    out = tmp_path / "anim"
    args = ["dirac", "--out", str(out), "--rule", "simultaneous", "alternating"]
    args += ["--variant", "gan", "--steps", "40", "--no-plots", "--no-progress"]
    assert main(args + ["--animate"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["figures"] == ["dirac.gif"]
    with Image.open(out / "dirac.gif") as im:
        assert im.n_frames == 41  # 41 records, fewer than the 60 frames asked for


def _fake_results(outcomes_by_run):
    """RunResults drawn from made-up spirals (no simulation): the figures only
    read them."""
    import numpy as np

    import gamedyn as gd
    from gamedyn.analysis import FieldGrid
    from gamedyn.experiments import dirac

    x = np.linspace(-2, 2, 9)
    u, v = np.meshgrid(x, x)
    field = FieldGrid(x=x, y=x, u=-v, v=u)
    t = np.arange(50)
    results = []
    for i, ((rule, variant), outcome) in enumerate(outcomes_by_run.items()):
        r = (1 - 0.01 * i) ** t
        traj = gd.Trajectory(
            params=(r * np.cos(t / 5), r * np.sin(t / 5)),
            final=(r[-1], 0.0),
            diverged_step=np.array(-1),
            steps=t,
            metrics={"distance": np.sqrt(2) * r},
            state=None,
        )
        results.append(
            dirac.RunResult(
                rule, variant, None, outcome, r[-1], (0, 0), -1, traj, field
            )
        )
    return results


STUDY = {
    **{
        (rule, v): "cycles"
        for v in ("gan", "nsgan", "wgan", "wgan_gp", "instance_noise", "r1")
        for rule in ("simultaneous", "alternating")
    },
    ("simultaneous", "consensus"): "converged",
    ("alternating", "consensus"): "converged",
    ("extragradient", "gan"): "slow",
    ("optimistic", "gan"): "diverged",
}


def test_distance_figure_tells_the_sixteen_runs_apart():
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_hex

    from gamedyn.cli import dirac as cli

    assert len(STUDY) == 16
    fig = cli.distance_figure(_fake_results(STUDY))
    (ax,) = fig.axes
    lines = [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]
    keys = {(to_hex(ln.get_color()), str(ln.get_linestyle())) for ln in lines}
    assert len(lines) == 16 and len(keys) == 16  # colour and line style differ
    assert tuple(fig.get_size_inches()) == (9, 4.5)
    assert ax.get_yscale() == "log"  # the distances span decades
    fig.canvas.draw()
    legend = ax.get_legend()
    assert not legend.get_window_extent().overlaps(ax.get_window_extent())
    texts = [t.get_text() for t in legend.get_texts()]
    assert "optimistic/gan (diverged)" in texts
    plt.close(fig)


def test_overview_colours_runs_by_outcome_with_one_legend():
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_hex

    from gamedyn.cli import dirac as cli
    from gamedyn.plotting import OUTCOME_COLORS

    runs = {
        ("simultaneous", "gan"): "diverged",
        ("simultaneous", "r1"): "converged",
        ("alternating", "gan"): "cycles",
        ("alternating", "r1"): "converged",
        ("extragradient", "gan"): "slow",
    }
    results = _fake_results(runs)
    fig = cli.overview_figure(results, caption="c")
    panels = [ax for ax in fig.axes if ax.axison]
    assert len(panels) == 5
    for ax, r in zip(panels, results):
        path = max(ax.get_lines(), key=lambda ln: len(ln.get_xdata()))
        assert to_hex(path.get_color()) == to_hex(OUTCOME_COLORS[r.outcome])
    (legend,) = fig.legends
    texts = [t.get_text() for t in legend.get_texts()]
    assert texts == ["converged", "diverged", "cycles", "slow"] + [
        "start",
        "end",
        "equilibrium",
    ]
    fig.canvas.draw()
    box = legend.get_window_extent()
    assert all(box.y1 <= ax.get_tightbbox().y0 + 1 for ax in panels)  # below
    # axis labels on the outer panels only: 2 columns (variants), 3 rows
    assert [bool(ax.get_ylabel()) for ax in panels] == [1, 0, 1, 0, 1]
    assert [bool(ax.get_xlabel()) for ax in panels] == [0, 0, 0, 1, 1]
    plt.close(fig)
