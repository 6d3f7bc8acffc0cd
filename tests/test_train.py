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


def _noisy_dirac(start: float, seed: int):
    """The Dirac-GAN with instance noise (a stochastic game: each run's keys
    matter), simultaneous SGD."""
    game = gd.games.dirac_gan(instance_noise=0.3)
    dyn = gd.dynamics.simultaneous(game, optax.sgd(0.1))
    s0 = T.init_state(
        dyn, (jnp.full((), start), jnp.full((), start)), jax.random.key(seed)
    )
    return game, dyn, s0


def test_stacked_runs_train_as_their_single_runs(tmp_path):
    """Run i of a stacked state trained as one vmapped program equals run i trained
    alone (to float rounding); the log holds one loss per run; a resumed stacked
    run equals the unbroken one bitwise."""
    game, dyn, _ = _noisy_dirac(1.0, 0)
    starts = [_noisy_dirac(x, s)[2] for x, s in ((1.0, 0), (0.5, 1), (1.0, 2))]
    kw = dict(game=game, chunk=4, log_every=4)
    keys = jax.random.split(jax.random.key(5), 3)
    singles = [
        T.train(dyn, s, 8, eval_key=k, **kw) for s, k in zip(starts, keys, strict=True)
    ]
    stacked = T.stack_states(starts)
    assert T.num_runs(stacked) == 3 and T.num_runs(starts[0]) is None
    out = str(tmp_path / "a")
    many = T.train(dyn, stacked, 8, eval_key=keys, out_dir=out, **kw)
    assert int(many.step) == 8 and T.num_runs(many) == 3
    for i, one in enumerate(singles):
        jax.tree.map(
            lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7),
            T.select_run(many, i),
            one,
        )
    # the keys matter: runs 0 and 2 start alike and end apart
    assert not np.allclose(singles[0].params[0], singles[2].params[0])
    log = io.read_log(out)
    assert [r["step"] for r in log] == [4, 8]
    losses = game.losses(singles[2].params, keys[2])
    np.testing.assert_allclose(
        [log[-1]["loss_g"][2], log[-1]["loss_d"][2]], losses, rtol=1e-6
    )
    b = str(tmp_path / "b")
    T.train(dyn, stacked, 4, eval_key=keys, out_dir=b, **kw)
    half = io.load_checkpoint(io.latest_checkpoint(b), stacked)
    assert int(half.step) == 4 and T.num_runs(half) == 3
    resumed = T.train(dyn, half, 8, eval_key=keys, out_dir=b, **kw)
    assert _equal(T.host_state(resumed), T.host_state(many))
    assert _without_time(io.read_log(b)) == _without_time(log)


def test_stacked_runs_diverge_one_by_one(tmp_path):
    """x minimises -50 x^2 (see above): the run started at 1 overflows at step 20,
    the run started at 0 stays at the fixed point 0. The diverged run's step is
    logged once, the other trains to the end, equal to its single run."""
    game = gd.games.quadratic(jnp.zeros((1, 1)), P=-100.0 * jnp.eye(1))
    dyn = gd.dynamics.simultaneous(game, optax.sgd(1.0))
    runs = [
        T.init_state(dyn, (jnp.full(1, x), jnp.full(1, x)), jax.random.key(0))
        for x in (1.0, 0.0)
    ]
    seen = []
    state = T.train(
        dyn,
        T.stack_states(runs),
        48,
        game=game,
        chunk=8,
        out_dir=str(tmp_path),
        progress=lambda step, rec: seen.append(rec),
    )
    assert int(state.step) == 48
    assert not np.all(np.isfinite(T.select_run(state, 0).params[0]))
    alone = T.train(dyn, runs[1], 48)
    assert _equal(T.select_run(state, 1).params, alone.params)
    marked = [r for r in seen if "diverged_step" in r]
    assert [(r["step"], r["diverged_step"]) for r in marked] == [(24, [20, -1])]
    assert [s for s, _ in io.list_checkpoints(str(tmp_path))] == [24, 48]


def test_stack_states_refuses_mismatched_runs(small_data):
    _, dyn, s0 = _dirac()
    with pytest.raises(ValueError, match="states: expected at least one"):
        T.stack_states([])
    s5 = T.train(dyn, s0, 5)
    with pytest.raises(
        ValueError, match=r"states: expected runs at the same step, got"
    ):
        T.stack_states([s0, s5])
    _, _, other = _dirac(optax.adam(0.1))
    with pytest.raises(ValueError, match=r"states\[1\]: expected the structure"):
        T.stack_states([s0, other])
    with pytest.raises(TypeError, match=r"states\[0\]: expected a TrainState"):
        T.stack_states([s0.params])
    with pytest.raises(ValueError, match=r"states\[0\]: expected the state of one"):
        T.stack_states([T.stack_states([s0, s0])])
    with pytest.raises(ValueError, match="i: expected an integer in"):
        T.select_run(T.stack_states([s0, s0]), 2)


@pytest.mark.parametrize(
    "draw",
    [
        lambda k: jax.random.normal(k, (64, 64)),  # the straight-line rounds
        lambda k: jax.random.normal(k, (64, 5)),  # JAX's lowering (small)
        lambda k: jax.random.bits(k, (3, 1001), jnp.uint16),
        lambda k: jax.random.randint(k, (7,), 0, 60000),
        lambda k: jax.random.uniform(k, (3, 4)),
        lambda k: jax.random.bits(k, (9,), jnp.uint8),
        lambda k: jax.random.bits(k, (4,), jnp.uint16),
        lambda k: jax.random.key_data(jax.random.split(k, 4)),
        lambda k: jax.random.key_data(jax.random.fold_in(k, 2**31 - 1)),
        lambda k: jax.vmap(lambda t: jax.random.normal(jax.random.fold_in(k, t)))(
            jnp.arange(5)
        ),
    ],
)
def test_threefry_unrolled_draws_jax_default_numbers(draw):
    """The straight-line threefry gives JAX's default PRNG's numbers bit for bit,
    for draws of 1024 numbers or more (its own rounds) and smaller ones."""
    impl = T._unrolled_impl()
    for seed in (0, 7, 2**31 - 1):
        data = jax.random.key_data(jax.random.key(seed))
        a = jax.jit(draw)(jax.random.wrap_key_data(data))
        b = jax.jit(draw)(jax.random.wrap_key_data(data, impl=impl))
        np.testing.assert_array_equal(a, b)


def test_chunk_lengths_give_identical_params():
    """Every step draws its noise from fold_in(key, t) whatever the chunks: 10 chunks
    of 1 step and one of 10 give the same params bit for bit, and so does JAX's
    default lowering of threefry (run_steps uses the straight-line one on CPU)."""
    _, dyn, s0 = _noisy_dirac(1.0, 0)
    ten = T.train(dyn, s0, 10, chunk=10)
    ones = T.train(dyn, s0, 10, chunk=1)
    assert _equal(ten, ones)
    assert not _equal(ten.params, T.train(dyn, s0._replace(key=s0.key + 1), 10).params)
    plain = gd.simulate(
        dyn,
        s0.params,
        10,
        jax.random.wrap_key_data(s0.key),  # the default implementation
        every=10,
        record_params=False,
    )
    assert _equal(ten.params, plain.final)


@pytest.mark.slow  # a subprocess with its own JAX and compiles: ~12 s
def test_stacked_runs_split_over_local_devices():
    """On 2 (forced) CPU devices: 2 runs take both, 3 runs one (the most that divide
    them); each run equals its single run. XLA_FLAGS must be set before JAX starts:
    a subprocess."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        """
        import jax, jax.numpy as jnp, numpy as np, optax
        import gamedyn as gd
        from gamedyn import train as T
        game = gd.games.dirac_gan(instance_noise=0.3)
        dyn = gd.dynamics.alternating(game, optax.adam(0.05))
        runs = [T.init_state(dyn, (jnp.full((), x), jnp.full((), x)),
                             jax.random.key(i)) for i, x in enumerate((1.0, 0.5, 0.2))]
        for n in (2, 3):
            many = T.train(dyn, T.stack_states(runs[:n]), 8, chunk=4)
            used = len(many.params[0].sharding.device_set)
            err = max(
                float(np.max(np.abs(np.asarray(T.select_run(many, i).params[0])
                                    - np.asarray(T.train(dyn, runs[i], 8).params[0]))))
                for i in range(n)
            )
            print(n, used, err)
        """
    )
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    rows = [line.split() for line in out.stdout.splitlines()]
    assert [(r[0], r[1]) for r in rows] == [("2", "2"), ("3", "1")]
    assert all(float(r[2]) < 1e-6 for r in rows)
