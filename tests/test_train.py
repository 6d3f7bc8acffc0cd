"""The chunked trainer: equality with simulate, exact resume, divergence, checkpoints,
Ctrl-C."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gamedyn as gd
from gamedyn import io
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


def _dirac(opt=None):
    game = gd.games.dirac_gan()
    dyn = gd.dynamics.simultaneous(game, opt or optax.sgd(0.1))
    s0 = T.init_state(dyn, (jnp.array(1.0), jnp.array(1.0)), jax.random.key(0))
    return game, dyn, s0


def _without_time(records):
    return [{k: v for k, v in r.items() if k != "time"} for r in records]


def test_train_equals_simulate():
    """The chunked trainer makes the steps of one gd.simulate scan (same keys; the
    programs differ, so equal up to float rounding)."""
    game = gd.games.dirac_gan()
    dyn = gd.dynamics.extragradient(game, optax.adam(0.05))
    p0 = (jnp.array(1.0), jnp.array(1.0))
    key = jax.random.key(3)
    ref = gd.simulate(dyn, p0, 23, key)
    s = T.train(dyn, T.init_state(dyn, p0, key), 23, chunk=5)
    assert int(s.step) == 23
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
        (s.params, s.dynamics_state),
        (ref.final, ref.state),
    )
    assert not np.allclose(s.params[0], p0[0])


def test_run_steps_returns_the_state_and_the_diverged_step():
    """run_steps(a) then run_steps(b) is bitwise run_steps(a + b); it advances the
    model state with update_state after each step and reports no divergence."""
    _, dyn, s0 = _dirac(optax.adam(0.05))
    s0 = s0._replace(model_state=jnp.zeros(()))

    def count(params, state, key):  # the model state counts the steps
        return state + 1.0

    s3, d3 = T.run_steps(dyn, count, 3, s0)
    s5, d5 = T.run_steps(dyn, count, 2, s3)
    one, d = T.run_steps(dyn, count, 5, s0)
    assert int(s3.step) == 3 and int(s5.step) == 5
    assert int(d3) == int(d5) == int(d) == -1
    assert _equal(s5, one)
    assert float(s5.model_state) == 5.0
    assert not _equal(s5.params, s0.params)
    ref = gd.simulate(dyn, s0.params, 5, jax.random.wrap_key_data(s0.key))
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6), s5.params, ref.final
    )


@pytest.mark.parametrize(
    "model,rule,cond,stop,chunk,resume_chunk",
    [
        ("dcgan", "simultaneous", False, 8, 4, 4),
        ("mlp", "optimistic", True, 7, 4, 3),
    ],
)
def test_resume_equals_unbroken_run(
    tmp_path, small_data, model, rule, cond, stop, chunk, resume_chunk
):
    """A run resumed from its newest checkpoint (aligned with the chunks or not,
    resumed with the same or another chunk length) repeats the unbroken run bitwise:
    params, optimizer and batch-norm state, step, key, and the logged losses."""
    gan = mnist_gan(
        model, conditional=cond, width=4, batch_size=8, latent_dim=8, data=small_data
    )
    dyn = gd.dynamics.get(rule)(gan.game, optax.adam(1e-3))
    s0 = T.init_state(
        dyn, gan.game.init(jax.random.key(0)), jax.random.key(1), gan.init_state()
    )
    kw = dict(game=gan.game, update_state=gan.update_state, log_every=4)
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    full = T.train(dyn, s0, 12, out_dir=a, chunk=chunk, **kw)
    T.train(dyn, s0, stop, out_dir=b, chunk=chunk, **kw)
    ckpt = io.latest_checkpoint(b)
    assert ckpt.endswith(f"checkpoint_{stop:09d}.msgpack")
    half = io.load_checkpoint(ckpt, s0)
    assert int(half.step) == stop
    resumed = T.train(dyn, half, 12, out_dir=b, chunk=resume_chunk, **kw)
    assert _equal(full, resumed)
    assert int(resumed.step) == 12
    if model == "dcgan":  # the batch-norm running averages moved, purely
        assert not _equal(resumed.model_state, s0.model_state)
    # The log: one record per log step and at each run's end, the same losses.
    steps = [r["step"] for r in io.read_log(b)]
    assert steps == sorted({4, 8, 12, stop})
    logged_a = {r["step"]: r for r in _without_time(io.read_log(a))}
    for r in _without_time(io.read_log(b)):
        if r["step"] in logged_a:
            assert r == logged_a[r["step"]]
    # Resuming again from the same checkpoint replaces, not duplicates, the records
    # after it.
    T.train(dyn, half, 12, out_dir=b, chunk=resume_chunk, **kw)
    assert [r["step"] for r in io.read_log(b)] == steps


def test_progress_is_called_after_every_chunk():
    game, dyn, s0 = _dirac()
    calls = []
    T.train(
        dyn,
        s0,
        10,
        game=game,
        chunk=4,
        log_every=8,
        progress=lambda step, rec: calls.append((step, rec)),
    )
    assert [s for s, _ in calls] == [4, 8, 10]
    assert all(rec["step"] == s and "loss_g" in rec for s, rec in calls)
    # log steps carry their time; the others only the losses
    assert ["time" in rec for _, rec in calls] == [False, True, True]


def test_a_diverging_run_stops_with_diverged_step_in_the_log(tmp_path):
    """x minimises -50 x^2: each SGD step multiplies x by 101, so float32 overflows
    at step 20 (101^20 > 3.4e38). The run stops after that chunk, logs and
    checkpoints it, and returns (no exception)."""
    game = gd.games.quadratic(jnp.zeros((1, 1)), P=-100.0 * jnp.eye(1))
    dyn = gd.dynamics.simultaneous(game, optax.sgd(1.0))
    s0 = T.init_state(dyn, (jnp.ones(1), jnp.ones(1)), jax.random.key(0))
    seen = []
    state = T.train(
        dyn,
        s0,
        100,
        game=game,
        chunk=8,
        log_every=16,
        out_dir=str(tmp_path),
        progress=lambda step, rec: seen.append(rec),
    )
    assert int(state.step) == 24  # the end of the chunk of step 20
    assert not np.all(np.isfinite(state.params[0]))
    log = io.read_log(str(tmp_path))
    assert [r["step"] for r in log] == [16, 24]
    assert log[-1]["diverged_step"] == 20 and "diverged_step" not in log[0]
    assert log[-1]["loss_g"] is None  # non-finite losses are logged as null
    assert seen[-1]["diverged_step"] == 20
    with open(os.path.join(tmp_path, io.LOG_NAME)) as f:  # strict JSON lines
        for line in f:
            json.loads(line, parse_constant=lambda c: pytest.fail(f"{c} in the log"))
    assert [s for s, _ in io.list_checkpoints(str(tmp_path))] == [24]
    # The same run in one simulate call diverges at the same step.
    traj = gd.simulate(dyn, s0.params, 30, jax.random.wrap_key_data(s0.key))
    assert int(traj.diverged_step) == 20


def test_keyboard_interrupt_saves_a_checkpoint(tmp_path):
    _, dyn, s0 = _dirac()

    def stop(state):
        if int(state.step) == 6:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        T.train(dyn, s0, 10, chunk=3, out_dir=str(tmp_path), callback=stop)
    assert [s for s, _ in io.list_checkpoints(str(tmp_path))] == [6]
    state = io.load_checkpoint(io.latest_checkpoint(str(tmp_path)), s0)
    assert int(state.step) == 6
    resumed = T.train(dyn, state, 10, chunk=3, out_dir=str(tmp_path))
    unbroken = T.train(dyn, s0, 10, chunk=3)
    assert _equal(resumed, unbroken)


def test_checkpoints_are_pruned_and_atomic(tmp_path):
    game, dyn, s0 = _dirac()
    T.train(
        dyn,
        s0,
        10,
        chunk=2,
        checkpoint_every=2,
        keep=2,
        out_dir=str(tmp_path),
        game=game,
    )
    names = sorted(os.listdir(tmp_path))
    assert names == [
        ".gamedyn.lock",  # the directory's lock file (released, kept in place)
        "checkpoint_000000008.msgpack",
        "checkpoint_000000010.msgpack",
        "metrics.jsonl",
    ]
    rec = io.read_log(str(tmp_path))[-1]
    assert rec["step"] == 10 and set(rec) >= {"loss_g", "loss_d", "time"}
    loss = game.losses(
        io.load_checkpoint(str(tmp_path / names[2]), s0).params, jax.random.key(0)
    )
    np.testing.assert_allclose(rec["loss_g"], float(loss[0]), rtol=1e-6)


def test_zero_steps_writes_the_initial_checkpoint(tmp_path):
    _, dyn, s0 = _dirac()
    state = T.train(dyn, s0, 0, out_dir=str(tmp_path))
    assert _equal(state, s0)
    assert [s for s, _ in io.list_checkpoints(str(tmp_path))] == [0]
    assert io.read_log(str(tmp_path)) == []


def test_load_checkpoint_of_another_run_is_an_error(tmp_path):
    _, _, s_sgd = _dirac()
    path = io.save_checkpoint(str(tmp_path), s_sgd)
    _, _, s_adam = _dirac(optax.adam(0.1))
    with pytest.raises(ValueError, match="checkpoint_000000000.msgpack"):
        io.load_checkpoint(path, s_adam)
    (tmp_path / "bad.msgpack").write_bytes(b"\x00garbage")
    with pytest.raises(ValueError, match="bad.msgpack"):
        io.load_checkpoint(str(tmp_path / "bad.msgpack"), s_sgd)


def test_bad_arguments():
    _, dyn, s0 = _dirac()
    s5 = T.train(dyn, s0, 5)
    with pytest.raises(
        ValueError, match="target_step: the state is already at step 5, got"
    ):
        T.train(dyn, s5, 3)
    with pytest.raises(ValueError, match="chunk: expected an integer >= 1"):
        T.train(dyn, s0, 3, chunk=0)
    with pytest.raises(TypeError, match="target_step: expected an integer"):
        T.train(dyn, s0, 3.0)
    with pytest.raises(TypeError, match="state: expected a TrainState"):
        T.train(dyn, s0.params, 3)
    with pytest.raises(TypeError, match="progress: expected a callable"):
        T.train(dyn, s0, 3, progress=False)
    with pytest.raises(TypeError, match="dynamics: expected a gamedyn.Dynamics"):
        T.init_state(object(), s0.params, jax.random.key(0))


def test_checkpoints_carry_the_metadata_and_a_torn_log_line_is_set_aside(tmp_path):
    """Every checkpoint holds the caller's metadata; a log line torn by a crash is
    moved to metrics.jsonl.torn when the run resumes, and the log goes on equal to
    an unbroken run's."""
    game, dyn, s0 = _dirac()
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    kw = dict(game=game, chunk=2, checkpoint_every=2, metadata={"run": "x"})
    T.train(dyn, s0, 6, out_dir=a, **kw)
    T.train(dyn, s0, 4, out_dir=b, **kw)
    assert {io.checkpoint_metadata(p)["run"] for _, p in io.list_checkpoints(b)} == {
        "x"
    }
    with open(os.path.join(b, io.LOG_NAME), "a") as f:
        f.write('{"step": 6, "loss_g": 0.12')  # a kill or a full disk mid-write
    half = io.load_checkpoint(io.latest_checkpoint(b), s0)
    with pytest.warns(io.RunWarning, match=r"metrics.jsonl: line 3 was torn"):
        T.train(dyn, half, 6, out_dir=b, **kw)
    assert _without_time(io.read_log(b)) == _without_time(io.read_log(a))
    with open(os.path.join(b, io.LOG_NAME + ".torn")) as f:
        assert f.read() == '{"step": 6, "loss_g": 0.12\n'


def test_train_holds_the_directory_lock(tmp_path):
    """A lock held elsewhere (here another lock object on the same file, as another
    process would) stops train before any step; inside the lock's holder, train
    takes it again."""
    import filelock

    _, dyn, s0 = _dirac()
    other = filelock.FileLock(str(tmp_path / io.LOCK_NAME), timeout=0)
    with other:
        with pytest.raises(io.DirectoryLockedError, match="out_dir: .* is in use"):
            T.train(dyn, s0, 4, out_dir=str(tmp_path))
    assert io.list_checkpoints(str(tmp_path)) == []
    with io.lock_directory(str(tmp_path)):
        T.train(dyn, s0, 4, out_dir=str(tmp_path))
    assert [s for s, _ in io.list_checkpoints(str(tmp_path))] == [4]
