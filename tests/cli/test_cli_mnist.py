"""``gamedyn mnist``: outputs, exact resume, FID going down, bad arguments."""

import json
import os
import pathlib
import subprocess
import sys

import filelock
import jax
import numpy as np
import pytest

import gamedyn as gd
from gamedyn import io
from gamedyn.cli import main
from gamedyn.experiments import mnist as ex

pytestmark = pytest.mark.skipif(
    not os.path.isfile(
        os.path.join(os.environ.get("GAMEDYN_DATA_DIR", ""), "mnist.npz")
    ),
    reason="needs mnist.npz in GAMEDYN_DATA_DIR",
)

TINY = [
    "--width", "32", "--latent-dim", "16", "--train-size", "2048", "--no-progress",
    "--regularizer", "none", "--ema", "0",  # the plain GAN: cheaper to compile
]  # fmt: skip


@pytest.fixture(scope="session")
def quick_classifier_path(tmp_path_factory):
    """A briefly trained classifier file, shared with tests/metrics in a session."""
    path = tmp_path_factory.getbasetemp() / "gamedyn_quick_classifier.msgpack"
    if not path.exists():
        clf = gd.models.train_classifier(train_size=4096, epochs=2)
        gd.models.save_classifier(str(path), clf)
    return str(path)


def _json(out, name="metrics.json"):
    with open(os.path.join(out, name)) as f:
        return json.load(f)


def _params(out, steps):
    cfg = ex.Config(**_json(out, "config.json"))
    gan, dyn = ex.build(cfg)
    like = ex.start_state(gan, dyn, cfg.seed)
    return io.load_checkpoint(io.checkpoint_path(out, steps), like)


def _error(argv, capsys) -> str:
    """Runs the command, which must fail with exit status 2 and print exactly one
    line, ``gamedyn mnist: error: ...``, and no traceback; returns that line."""
    try:
        code = main(argv)
    except SystemExit as e:  # argparse
        code = e.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("gamedyn mnist: error: ") and "Traceback" not in err
    return err.rstrip("\n")


def test_train_resume_and_fid_goes_down(tmp_path, quick_classifier_path, capsys):
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    common = TINY + [
        "--width", "128", "--lr-g", "5e-4", "--lr-d", "2e-4", "--chunk", "100",
        "--checkpoint-every", "100",
        "--fid-samples", "1000", "--classifier", quick_classifier_path,
    ]  # fmt: skip
    assert main(["mnist", "--steps", "0", "--out", b, *common]) == 0
    at_init = _json(b)
    assert main(["mnist", "--steps", "300", "--out", b, *common]) == 0  # resumes
    printed = capsys.readouterr()
    assert "resuming" not in printed.out + printed.err  # --no-progress: quiet
    assert json.loads(printed.out.splitlines()[-1])["step"] == 300
    assert [s for s, _ in io.list_checkpoints(b)] == [0, 100, 200, 300]
    assert main(["mnist", "--steps", "300", "--out", a, *common]) == 0
    ma, mb = _json(a), _json(b)
    for key in ("step", "loss_g", "loss_d", "fid", "inception_score", "class_counts"):
        assert ma[key] == mb[key], key
    assert ma["step"] == 300 and ma["fid_samples"] == 1000
    assert ma["fid"] < 0.8 * at_init["fid"]
    assert os.path.getsize(os.path.join(a, "samples.png")) > 1000
    pa, pb = _params(a, 300), _params(b, 300)
    assert all(
        jax.tree.leaves(jax.tree.map(lambda u, v: bool(np.array_equal(u, v)), pa, pb))
    )
    # The reported losses are the players' losses on the fixed evaluation batch.
    cfg = ex.Config(**ma["config"])
    gan, _ = ex.build(cfg)
    losses = gan.game.losses(pa.params, ex.keys(cfg.seed)[2])
    np.testing.assert_allclose([ma["loss_g"], ma["loss_d"]], losses, rtol=1e-5)


def test_conditional_gan_with_r1_and_extragradient_runs(tmp_path):
    out = str(tmp_path / "c")
    args = ["mnist", "--steps", "4", "--out", out, "--width", "8", "--conditional",
            "--regularizer", "r1", "--gamma", "1", "--rule", "extragradient",
            "--batch-size", "8", "--train-size", "64", "--chunk", "2", "--unroll",
            "--generator-penalty", "0.1", "--fid-samples", "0",
            "--no-progress"]  # fmt: skip
    assert main(args) == 0
    cfg = _json(out, "config.json")
    assert cfg["generator_penalty"] == 0.1 and cfg["gamma"] == 1.0
    assert cfg["rule"] == "extragradient" and cfg["conditional"] is True
    m = _json(out)
    assert m["step"] == 4 and np.isfinite(m["loss_d"]) and "fid" not in m
    assert [s for s, _ in io.list_checkpoints(out)] == [4]
    assert os.path.getsize(os.path.join(out, "samples.png")) > 1000


def test_a_diverged_run_writes_strict_json(tmp_path, capsys):
    out = str(tmp_path / "nan")
    args = ["mnist", "--steps", "8", "--out", out, "--width", "8", "--latent-dim",
            "4", "--batch-size", "16", "--train-size", "256", "--chunk", "4",
            "--optimizer", "sgd", "--lr", "1e30", "--loss", "wgan",
            "--fid-samples", "0", "--spectrum", "2", "--no-plots",
            "--no-progress"]  # fmt: skip
    assert main(args) == 0
    with open(os.path.join(out, "metrics.json")) as f:
        m = json.loads(f.read(), parse_constant=lambda c: pytest.fail(c))
    assert m["diverged"] is True and m["diverged_step"] == 2 and m["loss_g"] is None
    assert m["spectrum_skipped"] == "the run diverged at step 2: no spectra"
    assert _json(out, "spectrum.json") == []
    printed = json.loads(capsys.readouterr().out)
    assert printed["diverged_step"] == 2 and "diverged" in printed["spectrum_skipped"]
    assert not [n for n in os.listdir(out) if n.endswith(".png")]  # --no-plots


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--lr", "nan"], "argument --lr: expected a finite number, got 'nan'"),
        (["--lr", "inf"], "argument --lr: expected a finite number, got 'inf'"),
        (["--gamma", "nan"], "argument --gamma: expected a finite number"),
        (["--momentum", "inf"], "argument --momentum: expected a finite number"),
        (["--rule-param", "nan"], "argument --rule-param: expected a finite number"),
        (["--beta1", "5"], "argument --beta1: expected a number in [0, 1), got 5"),
        (["--ema", "1"], "argument --ema: expected a number in [0, 1), got 1"),
        (["--steps", "-1"], "argument --steps: expected an integer >= 0, got -1"),
        (["--loss", "nope"], "argument --loss: invalid choice: 'nope'"),
        (["--generator-penalty", "-1"], "argument --generator-penalty: expected a"),
        (["--fid-samples", "1"], "argument --fid-samples: expected 0 or an integer"),
        (
            ["--rule", "unrolled", "--rule-param", "0.5"],
            "--rule-param (unrolled steps): expected an integer >= 1, got float 0.5",
        ),
        (["--rule-param", "2"], "--rule-param: the rule 'simultaneous' takes no"),
        (["--train-size", "10"], "--train-size: expected an integer in [64, 60000]"),
        (["--classifier", "/nonexistent"], "--classifier: no classifier file at"),
    ],
)
def test_bad_values_are_one_line_errors(tmp_path, capsys, extra, message):
    out = str(tmp_path / "d")
    argv = ["mnist", "--steps", "1", "--out", out, *TINY]
    line = _error(argv + extra, capsys)
    assert message in line
    assert not os.path.exists(out)  # refused before --out is created


def test_bad_out_fails_before_any_training(tmp_path, capsys, monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("trained despite a bad --out")

    monkeypatch.setattr(ex, "run", no_training)
    monkeypatch.setattr(ex, "build", no_training)
    file = tmp_path / "file"
    file.write_text("")
    line = _error(["mnist", "--steps", "1", "--out", str(file), *TINY], capsys)
    assert line == f"gamedyn mnist: error: --out: {file} exists and is not a directory"


def test_the_console_shows_no_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "gamedyn", "mnist", "--steps", "1", "--out",
         str(tmp_path / "e"), "--rule", "unrolled", "--rule-param", "0.5"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "gamedyn mnist: error: --rule-param (unrolled steps): expected an integer "
        ">= 1, got float 0.5"
    ]


def test_refused_resumes(tmp_path, capsys):
    out = str(tmp_path / "r")
    base = ["mnist", "--out", out, "--fid-samples", "0", "--no-plots", *TINY]
    assert main([*base, "--steps", "2", "--chunk", "2"]) == 0
    capsys.readouterr()
    line = _error([*base, "--steps", "4", "--lr", "0.1"], capsys)
    assert "--out: " in line and "lr_g=0.0005, this one has lr_g=0.1" in line
    line = _error([*base, "--steps", "1"], capsys)
    assert line.startswith("gamedyn mnist: error: --steps: ") and "after step 1" in line
    assert [s for s, _ in io.list_checkpoints(out)] == [2]


def test_help_shows_defaults_without_markup(capsys):
    with pytest.raises(SystemExit) as e:
        main(["mnist", "--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--rule", "--rule-param", "--regularizer", "--gamma", "--loss",
                 "--instance-noise", "--optimizer", "--lr", "--beta1", "--beta2",
                 "--lr-g", "--lr-d", "--steps", "--seed", "--out", "--no-plots",
                 "--no-progress", "--spectrum", "--fid-samples"):  # fmt: skip
        assert flag in text, flag
    assert "(default: 0.0005)" in text and "(default: 10000)" in text
    assert "(default: 40000)" in text and "(default: 0.999)" in text
    assert "``" not in text and ":func:" not in text and ":mod:" not in text


SMALL = ["--width", "8", "--latent-dim", "4", "--train-size", "256", "--chunk", "10",
         "--checkpoint-every", "10", "--fid-samples", "0", "--no-progress"]  # fmt: skip


@pytest.mark.slow
def test_spectrum_at_checkpoints(tmp_path, capsys):
    out = str(tmp_path / "s")
    args = ["mnist", "--steps", "20", "--out", out, *SMALL[:-1], "--spectrum", "3",
            "--no-progress"]  # fmt: skip
    assert main(args) == 0
    recs = _json(out, "spectrum.json")
    assert [r["step"] for r in recs] == [10, 20]
    for r in recs:
        assert len(r["jacobian"]) == 3 and len(r["hessian_d_top"]) == 3
        assert r["hessian_g_top"][0] >= r["hessian_g_bottom"][0]
    assert _json(out)["spectrum_steps"] == [10, 20]
    assert all(len(r["jacobian_imag"]) == 3 and 0 <= r["rotation"] <= 1 for r in recs)
    for name in ("spectrum.png", "spectrum_steps.png"):
        assert os.path.getsize(os.path.join(out, name)) > 1000, name
    capsys.readouterr()
    line = _error([*args[:2], "30", *args[3:-2], "100000", "--no-progress"], capsys)
    assert "--spectrum: expected an integer < " in line
    assert [s for s, _ in io.list_checkpoints(out)] == [10, 20]  # no training


# The run of tests/test_faults.py and tests/experiments/test_experiments_mnist.py:
# compiled once per test process.
FAULTS = ["--width", "8", "--latent-dim", "4", "--batch-size", "16", "--train-size",
          "256", "--chunk", "4", "--checkpoint-every", "4", "--fid-samples", "0",
          "--no-plots", "--no-progress"]  # fmt: skip


def _flip(path: str) -> None:
    data = bytearray(pathlib.Path(path).read_bytes())
    data[len(data) // 2] ^= 0x10
    pathlib.Path(path).write_bytes(bytes(data))


def test_recoveries_are_warning_lines_and_refusals_error_lines(tmp_path, capsys):
    """What a run recovers from (a torn log line, a corrupt checkpoint) is one
    ``warning:`` line each; a locked directory and a directory without a good
    checkpoint are one ``error:`` line each (tests/test_faults.py checks the runs)."""
    out = str(tmp_path / "w")
    argv = ["mnist", "--steps", "8", "--out", out, *FAULTS]
    assert main(argv) == 0
    capsys.readouterr()
    _flip(io.checkpoint_path(out, 8))
    with open(os.path.join(out, io.LOG_NAME), "a") as f:
        f.write('{"step": 12, "loss')  # torn by a kill
    assert main(argv) == 0
    assert capsys.readouterr().err.splitlines() == [
        f"gamedyn mnist: warning: {out}/metrics.jsonl: line 3 was torn or corrupt (an "
        "interrupted write?); set aside in metrics.jsonl.torn, the log goes on",
        f"gamedyn mnist: warning: {out}/checkpoint_000000008.msgpack: corrupt "
        "checkpoint (its content does not match its checksum); passed over, resuming "
        "from checkpoint_000000004.msgpack",
    ]
    with filelock.FileLock(os.path.join(out, io.LOCK_NAME), timeout=0):  # another's
        line = _error(argv, capsys)
    assert line == (
        f"gamedyn mnist: error: --out: {out} is in use by another run: another "
        "process; wait for it to end or use another directory"
    )
    for _, path in io.list_checkpoints(out):
        _flip(path)
    line = _error(argv, capsys)
    assert line == (
        f"gamedyn mnist: error: {out}: no good checkpoint left "
        "(checkpoint_000000004.msgpack, checkpoint_000000008.msgpack: all corrupt or "
        "truncated); delete them to start over, or use another directory"
    )


def test_seeds_in_one_process_and_the_distributed_flags(tmp_path, capsys):
    """``--seeds 2`` trains two GANs as one program: metrics per seed with their
    mean and standard deviation, one sample grid per seed. The jax.distributed
    flags are the command's (checked before anything starts); without them the
    command runs as one process."""
    out = str(tmp_path / "s")
    argv = ["mnist", "--steps", "4", "--out", out, "--seeds", "2", *FAULTS[:-2],
            "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    m = _json(out)
    assert m["seeds"] == [0, 1] and [p["step"] for p in m["per_seed"]] == [4, 4]
    assert set(m["mean"]) == {"loss_g", "loss_d"} and m["num_seeds"] == 2
    printed = json.loads(capsys.readouterr().out)
    assert printed["loss_g"] == m["mean"]["loss_g"] and "loss_g_std" in printed
    assert _json(out, "config.json")["seeds"] == 2
    assert os.path.getsize(os.path.join(out, "samples.png")) > 1000
    line = _error([*argv, "--coordinator", "localhost:1234"], capsys)
    assert line == (
        "gamedyn mnist: error: --num-processes: expected --coordinator, "
        "--num-processes and --process-id together, got only --coordinator"
    )
    line = _error(
        [*argv, "--coordinator", "localhost:1234", "--num-processes", "2",
         "--process-id", "2"],
        capsys,
    )  # fmt: skip
    assert "--process-id: expected an integer < --num-processes (2), got 2" in line
    line = _error([*argv, "--seeds", "0"], capsys)
    assert "argument --seeds: expected an integer >= 1, got 0" in line
