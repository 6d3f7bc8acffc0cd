"""``gamedyn mog``: files written, metrics consistent, bad arguments rejected."""

import json

import filelock
import numpy as np
import pytest

from gamedyn import io
from gamedyn.cli import build_parser, main
from gamedyn.experiments import mog

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
    assert data["steps"] == 20
    assert [s["seed"] for s in data["per_seed"]] == [0, 1]
    for key in ("modes", "high_quality", "reverse_kl"):
        per = [s[key] for s in data["per_seed"]]
        assert data[key] == pytest.approx(np.mean(per))
        assert data["std"][key] == pytest.approx(np.std(per), abs=1e-6)
    for s in data["per_seed"]:
        assert 0 <= s["modes"] <= 8 and 0.0 <= s["high_quality"] <= 1.0
        assert 0.0 <= s["reverse_kl"] <= np.log(8) + 1e-6
    cfg = data["config"]
    assert cfg["rule_param"] is None and cfg["clip"] is None
    assert cfg["gamma"] == 0.1 and cfg["spectral_norm"] is False
    assert (out / "samples.png").stat().st_size > 1000
    assert "modes" in capsys.readouterr().out


@pytest.mark.slow
def test_mog_options_reach_the_config(tmp_path):
    out = tmp_path / "grid"
    args = ["mog", "--dataset", "grid", "--out", str(out), "--loss", "hinge",
            "--regularizer", "gp", "--gamma", "5", "--rule", "consensus",
            "--rule-param", "0.5", "--optimizer", "rmsprop", "--lr", "1e-3",
            "--spectral-norm", "--clip", "0.5", "--seed", "7", "--no-plots",
            *TINY]  # fmt: skip
    assert main(args) == 0
    data = json.loads((out / "metrics.json").read_text())
    cfg = data["config"]
    assert (cfg["dataset"], cfg["loss"], cfg["regularizer"], cfg["rule"]) == (
        "grid",
        "hinge",
        "gp",
        "consensus",
    )
    assert cfg["optimizer"] == "rmsprop" and cfg["gamma"] == 5.0
    assert cfg["rule_param"] == 0.5 and cfg["spectral_norm"] is True
    assert cfg["clip"] == 0.5
    assert data["num_modes"] == 25
    assert [s["seed"] for s in data["per_seed"]] == [7, 8]
    assert not (out / "samples.png").exists()


def _error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if "error" in line]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--lr", "nan"], "argument --lr: expected a finite number, got 'nan'"),
        (["--beta1", "5"], "argument --beta1: expected a number in [0, 1), got 5"),
        (["--beta2", "1"], "argument --beta2: expected a number in [0, 1), got 1"),
        (["--steps", "0"], "argument --steps: expected an integer >= 1, got 0"),
        (["--seeds", "0"], "argument --seeds: expected an integer >= 1, got 0"),
        (["--gamma", "-1"], "argument --gamma: expected a number >= 0, got -1"),
        (["--gamma", "inf"], "argument --gamma: expected a finite number"),
        (["--ema", "1.5"], "argument --ema: expected a number in [0, 1), got 1.5"),
        (["--dim", "1"], "argument --dim: expected an integer >= 2, got 1"),
        (["--clip", "0"], "argument --clip: expected a number > 0, got 0"),
        (["--dataset", "spiral"], "argument --dataset: invalid choice: 'spiral'"),
    ],
)
def test_bad_values_are_one_usage_error(tmp_path, capsys, extra, message):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as e:
        main(["mog", "--out", str(out), *TINY, *extra])
    assert e.value.code == 2
    line = _error_line(capsys)
    assert line.startswith("gamedyn mog: error: ") and message in line
    assert not out.exists()  # nothing created before the values are checked


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--snapshots", "30"], "--snapshots: expected at most --steps (20), got 30"),
        (
            ["--rule", "simultaneous", "--rule-param", "1"],
            "--rule-param: the rule 'simultaneous' takes no parameter",
        ),
        (
            ["--rule", "unrolled", "--rule-param", "2.5"],
            "--rule-param (unrolled steps): expected an integer >= 1",
        ),
        (
            ["--rule", "cgd", "--num-generators", "2"],
            "--num-generators: the rule 'cgd' is defined for two players",
        ),
        (
            ["--optimizer", "sgd", "--momentum", "3"],
            "--momentum: expected a finite number in [-1.0, 1.0], got 3.0",
        ),
        (
            ["--process-id", "0"],
            "--coordinator: expected --coordinator, --num-processes and "
            "--process-id together, got only --process-id",
        ),
        (
            ["--coordinator", "h:1", "--num-processes", "2", "--process-id", "2"],
            "--process-id: expected an integer < --num-processes (2), got 2",
        ),
    ],
)
def test_inconsistent_values_fail_before_compute(tmp_path, capsys, extra, message):
    out = tmp_path / "out"
    assert main(["mog", "--out", str(out), *TINY, *extra]) == 2
    line = _error_line(capsys)
    assert line.startswith(f"gamedyn mog: error: {message}")
    assert not out.exists()


def test_out_must_be_a_writable_directory(tmp_path, capsys):
    path = tmp_path / "a_file"
    path.write_text("x")
    assert main(["mog", "--out", str(path), *TINY]) == 2
    line = _error_line(capsys)
    assert line == f"gamedyn mog: error: --out: {path} exists and is not a directory"


def test_help_shows_defaults_without_markup(capsys):
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args(["mog", "--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    assert "``" not in text and ":func:" not in text and ":mod:" not in text
    for flag, default in [
        ("--lr", "0.004"),
        ("--gamma", "0.1"),
        ("--batch-size", "512"),
        ("--latent-dim", "4"),
        ("--ema", "0.999"),
        ("--steps", "20000"),
        ("--rule", "alternating"),
    ]:
        assert flag in text
        assert f"(default: {default})" in text
    for flag in ("--spectral-norm", "--clip", "--rule-param", "--beta2", "--seed"):
        assert flag in text
    for flag in ("--coordinator HOST:PORT", "--num-processes N", "--process-id I"):
        assert flag in text  # one of several processes (jax.distributed)


@pytest.mark.slow  # CI budget: the 2-D runs above cover the command
def test_mog_high_dimensional_variant(tmp_path):
    out = tmp_path / "ring16"
    assert (
        main(["mog", "--dataset", "ring", "--dim", "16", "--out", str(out), *TINY]) == 0
    )
    data = json.loads((out / "metrics.json").read_text())
    assert data["config"]["dim"] == 16 and data["num_modes"] == 8
    assert (out / "samples.png").stat().st_size > 0


def test_a_locked_or_foreign_out_is_refused_before_compute(
    tmp_path, capsys, monkeypatch
):
    def no_training(*args, **kwargs):
        raise AssertionError("trained despite a refused --out")

    monkeypatch.setattr(mog, "run", no_training)
    out = tmp_path / "out"
    out.mkdir()
    argv = ["mog", "--out", str(out), *TINY]
    with filelock.FileLock(str(out / io.LOCK_NAME), timeout=0):  # another run's
        assert main(argv) == 2
    line = _error_line(capsys)
    assert line.startswith(f"gamedyn mog: error: --out: {out} is in use by another ")
    for name, text, message in [
        ("metrics.json", '{"config": {"model": "mlp"}}', "metrics.json was not"),
        ("metrics.json", "not json", "metrics.json was not written by gamedyn mog"),
        ("config.json", "{}", "holds another program's run (config.json)"),
    ]:
        (out / name).write_text(text)
        assert main(argv) == 2
        assert message in _error_line(capsys)
        assert (out / name).read_text() == text
        (out / name).unlink()
    assert sorted(p.name for p in out.iterdir()) == [io.LOCK_NAME]
