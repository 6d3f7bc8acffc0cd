"""``gamedyn mog``: files written, metrics consistent, bad arguments rejected."""

import json

import numpy as np
import pytest

from gamedyn.cli import build_parser, main

TINY = [
    "--steps", "20", "--seeds", "2", "--hidden", "8", "--batch-size", "16",
    "--latent-dim", "2", "--snapshots", "2", "--no-progress",
]  # fmt: skip


def test_mog_writes_metrics_and_samples(tmp_path, capsys):
    out = tmp_path / "ring"
    assert main(["mog", "--dataset", "ring", "--out", str(out), *TINY]) == 0
    data = json.loads((out / "metrics.json").read_text())
    assert {"modes", "high_quality", "reverse_kl", "per_seed", "std"} <= set(data)
    assert data["num_modes"] == 8 and data["num_eval_samples"] == 2500
    assert [s["seed"] for s in data["per_seed"]] == [0, 1]
    for key in ("modes", "high_quality", "reverse_kl"):
        per = [s[key] for s in data["per_seed"]]
        assert data[key] == pytest.approx(np.mean(per))
        assert data["std"][key] == pytest.approx(np.std(per), abs=1e-6)
    for s in data["per_seed"]:
        assert 0 <= s["modes"] <= 8 and 0.0 <= s["high_quality"] <= 1.0
        assert 0.0 <= s["reverse_kl"] <= np.log(8) + 1e-6
    assert (out / "samples.png").stat().st_size > 1000
    assert "modes" in capsys.readouterr().out


@pytest.mark.slow
def test_mog_options_reach_the_config(tmp_path):
    out = tmp_path / "grid"
    args = ["mog", "--dataset", "grid", "--out", str(out), "--loss", "hinge",
            "--regularizer", "gp", "--gamma", "5", "--rule", "simultaneous",
            "--optimizer", "rmsprop", "--lr", "1e-3", *TINY]  # fmt: skip
    assert main(args) == 0
    data = json.loads((out / "metrics.json").read_text())
    cfg = data["config"]
    assert (cfg["dataset"], cfg["loss"], cfg["regularizer"], cfg["rule"]) == (
        "grid",
        "hinge",
        "gp",
        "simultaneous",
    )
    assert cfg["optimizer"] == "rmsprop" and cfg["gamma"] == 5.0
    assert data["num_modes"] == 25


@pytest.mark.parametrize(
    "extra,match",
    [
        (["--steps", "0"], "steps"),
        (["--seeds", "0"], "seeds"),
        (["--lr", "-1"], "lr"),
        (["--gamma", "-1"], "gamma"),
        (["--ema", "1.5"], "ema_decay"),
        (["--dim", "1"], "dim"),
    ],
)
def test_bad_numbers(tmp_path, extra, match):
    with pytest.raises(ValueError, match=match):
        main(["mog", "--out", str(tmp_path), *TINY, *extra])


def test_bad_choices():
    with pytest.raises(SystemExit):
        build_parser().parse_args(["mog", "--out", "x", "--dataset", "spiral"])
    with pytest.raises(SystemExit):
        build_parser().parse_args(["mog", "--out", "x", "--loss", "nope"])


def test_mog_high_dimensional_variant(tmp_path):
    out = tmp_path / "ring16"
    assert (
        main(["mog", "--dataset", "ring", "--dim", "16", "--out", str(out), *TINY]) == 0
    )
    data = json.loads((out / "metrics.json").read_text())
    assert data["config"]["dim"] == 16 and data["num_modes"] == 8
    assert (out / "samples.png").stat().st_size > 0
