"""The chunked trainer: equality with simulate, exact resume, checkpoints, Ctrl-C."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gamedyn as gd
from gamedyn import train as T
from gamedyn.games.mnist import mnist_gan


@pytest.fixture(scope="module")
def small_data():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (256, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, (256,), dtype=np.uint8)
    return x, y


def _equal(a, b) -> bool:
    return all(
        jax.tree.leaves(jax.tree.map(lambda u, v: bool(np.array_equal(u, v)), a, b))
    )


def test_train_equals_simulate():
    """The chunked trainer makes the steps of one gd.simulate scan (same keys; the
    programs differ, so equal up to float rounding)."""
    game = gd.games.dirac_gan()
    dyn = gd.dynamics.extragradient(game, optax.adam(0.05))
    p0 = (jnp.array(1.0), jnp.array(1.0))
    key = jax.random.key(3)
    ref = gd.simulate(dyn, p0, 23, key)
    s = T.train(dyn, T.init_state(dyn, p0, key), 23, chunk=5, progress=False)
    assert int(s.step) == 23
    close = jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
        (s.params, s.dynamics_state),
        (ref.final, ref.state),
    )
    assert close is not None
    assert not np.allclose(s.params[0], p0[0])


@pytest.mark.parametrize(
    "model,rule,cond,stop,chunk",
    [("dcgan", "simultaneous", False, 8, 4), ("mlp", "optimistic", True, 7, 4)],
)
def test_resume_equals_unbroken_run(
    tmp_path, small_data, model, rule, cond, stop, chunk
):
    """Resuming from a checkpoint (aligned with the chunks or not) repeats the
    unbroken run bitwise, batch-norm state included."""
    gan = mnist_gan(
        model, conditional=cond, width=4, batch_size=8, latent_dim=8, data=small_data
    )
    dyn = getattr(gd.dynamics, rule)(gan.game, optax.adam(1e-3))
    s0 = T.init_state(
        dyn, gan.game.init(jax.random.key(0)), jax.random.key(1), gan.init_state()
    )
    kw = dict(game=gan.game, update_state=gan.update_state, chunk=chunk, progress=False)
    full = T.train(dyn, s0, 12, out_dir=str(tmp_path / "a"), **kw)
    T.train(dyn, s0, stop, out_dir=str(tmp_path / "b"), **kw)
    ckpt = T.latest_checkpoint(str(tmp_path / "b"))
    assert ckpt.endswith(f"checkpoint_{stop:09d}.msgpack")
    half = T.load_checkpoint(ckpt, s0)
    assert int(half.step) == stop
    resumed = T.train(dyn, half, 12, out_dir=str(tmp_path / "b"), **kw)
    assert _equal(full, resumed)
    if model == "dcgan":  # the batch-norm running averages moved, purely
        assert not _equal(resumed.model_state, s0.model_state)
    steps = [r["step"] for r in T.read_log(str(tmp_path / "b"))]
    assert steps == sorted({4, 8, 12, stop})


def test_keyboard_interrupt_saves_a_checkpoint(tmp_path):
    game = gd.games.dirac_gan()
    dyn = gd.dynamics.simultaneous(game, optax.sgd(0.1))
    s0 = T.init_state(dyn, (jnp.array(1.0), jnp.array(1.0)), jax.random.key(0))

    def stop(state):
        if int(state.step) == 6:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        T.train(
            dyn, s0, 10, chunk=3, out_dir=str(tmp_path), callback=stop, progress=False
        )
    assert [s for s, _ in T.list_checkpoints(str(tmp_path))] == [6]
    state = T.load_checkpoint(T.latest_checkpoint(str(tmp_path)), s0)
    resumed = T.train(dyn, state, 10, chunk=3, out_dir=str(tmp_path), progress=False)
    unbroken = T.train(dyn, s0, 10, chunk=3, progress=False)
    assert _equal(resumed, unbroken)


def test_checkpoints_are_pruned_and_atomic(tmp_path):
    game = gd.games.dirac_gan()
    dyn = gd.dynamics.simultaneous(game, optax.sgd(0.1))
    s0 = T.init_state(dyn, (jnp.array(1.0), jnp.array(1.0)), jax.random.key(0))
    T.train(
        dyn,
        s0,
        10,
        chunk=2,
        checkpoint_every=2,
        keep=2,
        out_dir=str(tmp_path),
        game=game,
        progress=False,
    )
    names = sorted(os.listdir(tmp_path))
    assert names == [
        "checkpoint_000000008.msgpack",
        "checkpoint_000000010.msgpack",
        "metrics.jsonl",
    ]
    rec = T.read_log(str(tmp_path))[-1]
    assert rec["step"] == 10 and set(rec) >= {"loss_g", "loss_d", "time"}
    loss = game.losses(
        T.load_checkpoint(str(tmp_path / names[1]), s0).params, jax.random.key(0)
    )
    np.testing.assert_allclose(rec["loss_g"], float(loss[0]), rtol=1e-6)


def test_load_checkpoint_of_another_run_is_an_error(tmp_path):
    game = gd.games.dirac_gan()
    s_sgd = T.init_state(
        gd.dynamics.simultaneous(game, optax.sgd(0.1)),
        (jnp.array(1.0), jnp.array(1.0)),
        jax.random.key(0),
    )
    path = T.save_checkpoint(str(tmp_path), s_sgd)
    adam = gd.dynamics.simultaneous(game, optax.adam(0.1))
    s_adam = T.init_state(adam, (jnp.array(1.0), jnp.array(1.0)), jax.random.key(0))
    with pytest.raises(ValueError, match="checkpoint_000000000.msgpack"):
        T.load_checkpoint(path, s_adam)
    (tmp_path / "bad.msgpack").write_bytes(b"\x00garbage")
    with pytest.raises(ValueError, match="bad.msgpack"):
        T.load_checkpoint(str(tmp_path / "bad.msgpack"), s_sgd)


def test_bad_arguments():
    game = gd.games.dirac_gan()
    dyn = gd.dynamics.simultaneous(game, optax.sgd(0.1))
    s0 = T.init_state(dyn, (jnp.array(1.0), jnp.array(1.0)), jax.random.key(0))
    s5 = T.train(dyn, s0, 5, progress=False)
    with pytest.raises(ValueError, match="num_steps: the state is already at step 5"):
        T.train(dyn, s5, 3, progress=False)
    with pytest.raises(ValueError, match="chunk: expected an integer >= 1"):
        T.train(dyn, s0, 3, chunk=0, progress=False)
    with pytest.raises(ValueError, match="state: expected a TrainState"):
        T.train(dyn, s0.params, 3, progress=False)
    with pytest.raises(ValueError, match="dynamics: expected a gamedyn.Dynamics"):
        T.init_state(object(), s0.params, jax.random.key(0))
