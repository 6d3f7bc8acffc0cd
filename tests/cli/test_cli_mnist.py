"""``gamedyn mnist``: outputs, exact resume, FID going down, bad arguments."""

import json
import os

import jax
import numpy as np
import pytest

from gamedyn import train as T
from gamedyn.cli import main
from gamedyn.cli import mnist as cli
from gamedyn.metrics import classifier as C

pytestmark = pytest.mark.skipif(
    not os.path.isfile(
        os.path.join(os.environ.get("GAMEDYN_DATA_DIR", ""), "mnist.npz")
    ),
    reason="needs mnist.npz in GAMEDYN_DATA_DIR",
)

TINY = ["--width", "32", "--latent-dim", "16", "--train-size", "2048", "--no-progress"]


@pytest.fixture(scope="session")
def quick_classifier_path(tmp_path_factory):
    """A briefly trained classifier file, shared with tests/metrics in a session."""
    path = tmp_path_factory.getbasetemp() / "gamedyn_quick_classifier.msgpack"
    if not path.exists():
        clf = C.train_classifier(train_size=4096, epochs=2, progress=False)
        C.save_classifier(str(path), clf)
    return str(path)


def _json(out, name="metrics.json"):
    with open(os.path.join(out, name)) as f:
        return json.load(f)


def _params(out, steps):
    cfg = cli.Config(**_json(out, "config.json"))
    gan, dyn = cli.build(cfg)
    like = cli.start_state(gan, dyn, cfg.seed)
    return T.load_checkpoint(T.checkpoint_path(out, steps), like)


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
    assert "resuming" not in capsys.readouterr().out  # --no-progress: quiet
    assert [s for s, _ in T.list_checkpoints(b)] == [0, 100, 200, 300]
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
    cfg = cli.Config(**ma["config"])
    gan, _ = cli.build(cfg)
    losses = gan.game.losses(pa.params, cli.keys(cfg.seed)[2])
    np.testing.assert_allclose([ma["loss_g"], ma["loss_d"]], losses, rtol=1e-5)


def test_conditional_gan_with_r1_and_extragradient_runs(tmp_path):
    out = str(tmp_path / "c")
    args = ["mnist", "--steps", "4", "--out", out, "--width", "8", "--conditional",
            "--regularizer", "r1", "--gamma", "1", "--rule", "extragradient",
            "--batch-size", "8", "--train-size", "64", "--chunk", "2", "--unroll",
            "--generator-penalty", "0.1", "--fid-samples", "0",
            "--no-progress"]  # fmt: skip
    assert main(args) == 0
    with open(os.path.join(out, "config.json")) as f:
        cfg = json.load(f)
    assert cfg["generator_penalty"] == 0.1
    m = _json(out)
    assert m["step"] == 4 and np.isfinite(m["loss_d"]) and "fid" not in m
    assert [s for s, _ in T.list_checkpoints(out)] == [4]


def test_bad_arguments(tmp_path):
    out = str(tmp_path / "d")
    with pytest.raises(SystemExit):
        main(["mnist", "--steps", "5", "--out", out, "--model", "resnet"])
    with pytest.raises(ValueError, match="--steps: expected an integer >= 0"):
        main(["mnist", "--steps", "-1", "--out", out, *TINY])
    with pytest.raises(ValueError, match="--lr-g: expected a positive number"):
        main(["mnist", "--steps", "1", "--out", out, "--lr", "0", *TINY])
    with pytest.raises(ValueError, match="--loss: expected one of"):
        main(["mnist", "--steps", "1", "--out", out, "--loss", "nope", *TINY])
    with pytest.raises(ValueError, match="--generator-penalty: expected a non-neg"):
        main(["mnist", "--steps", "1", "--out", out, "--generator-penalty", "-1",
              *TINY])  # fmt: skip
    assert main(["mnist", "--steps", "2", "--out", out, "--fid-samples", "0",
                 "--chunk", "2", *TINY]) == 0  # fmt: skip
    with pytest.raises(
        ValueError, match="--out: .* lr_g=0.0002, this one has lr_g=0.1"
    ):
        main(["mnist", "--steps", "4", "--out", out, "--lr", "0.1", "--fid-samples",
              "0", *TINY])  # fmt: skip
    with pytest.raises(ValueError, match="--steps: .* after step 1"):
        main(["mnist", "--steps", "1", "--out", out, "--fid-samples", "0", *TINY])


def test_spectrum_at_checkpoints(tmp_path):
    out = str(tmp_path / "s")
    args = ["mnist", "--steps", "20", "--out", out, "--width", "8", "--latent-dim",
            "4", "--train-size", "256", "--chunk", "10", "--checkpoint-every", "10",
            "--fid-samples", "0", "--spectrum", "3", "--no-progress"]  # fmt: skip
    assert main(args) == 0
    recs = _json(out, "spectrum.json")
    assert [r["step"] for r in recs] == [10, 20]
    for r in recs:
        assert len(r["jacobian"]) == 3 and len(r["hessian_d_top"]) == 3
        assert r["hessian_g_top"][0] >= r["hessian_g_bottom"][0]
    assert os.path.getsize(os.path.join(out, "spectrum.png")) > 1000
