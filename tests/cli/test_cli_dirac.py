"""The ``gamedyn dirac`` job."""

import json
import os

import pytest

from gamedyn.cli import main


def test_dirac_study_outcomes_and_files(tmp_path, capsys):
    out = tmp_path / "dirac"
    args = ["dirac", "--out", str(out), "--method", "simultaneous", "alternating"]
    assert main(args + ["--variant", "gan", "r1"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    got = {(r["method"], r["variant"]): r for r in summary["runs"]}
    # Mescheder et al. 2018, Fig. 3: simGD diverges, altGD cycles, R1 converges.
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


def test_dirac_custom_variant(tmp_path):
    out = tmp_path / "c"
    args = ["dirac", "--out", str(out), "--method", "extragradient", "--no-plots"]
    assert main(args + ["--regularizer", "r1", "--gamma", "1.0", "--steps", "200"]) == 0
    (run,) = json.loads((out / "summary.json").read_text())["runs"]
    assert run["variant"] == "custom" and run["regularizer"] == "r1"
    assert run["outcome"] == "converged"


@pytest.mark.parametrize(
    "bad,message",
    [
        (["--lr", "-1"], "--lr: expected > 0"),
        (["--steps", "-3"], "expected an integer >= 0"),
        (["--method", "newton"], "invalid choice"),
    ],
)
def test_dirac_bad_arguments(bad, message, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["dirac", "--out", str(tmp_path)] + bad)
    assert message in capsys.readouterr().err
