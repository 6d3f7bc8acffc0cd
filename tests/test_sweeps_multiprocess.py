"""gamedyn.sweep across real processes joined by jax.distributed (gloo on CPU).

Each test starts N Python processes on this machine (2 CPU devices each, forced with
``XLA_FLAGS``), joined through :func:`gamedyn.distributed.initialize` with a
coordinator on a free local port, and compares what every process receives with a
single-process run of the same script on ``2 N`` devices (the same per-device
programs: equal to the last bit) and on one device (float64, 1e-12). The grids do
not divide the device count, so padding and trimming are exercised; the
``sweep_keys`` grid is chunked, so several gathers run. A worker that fails or hangs
makes the others fail or time out; every process is killed before the test ends.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

WORKER = textwrap.dedent(
    """
    import json, sys, time

    import jax

    jax.config.update("jax_enable_x64", True)
    import numpy as np

    import gamedyn as gd
    from gamedyn import distributed
    from gamedyn.experiments import mog
    from gamedyn.experiments.dirac_sweep import dirac_run
    from gamedyn.metrics.modes import mode_counts

    coordinator, n, i, out, mog_run = sys.argv[1:6]
    n, i = int(n), int(i)
    t0 = time.perf_counter()
    if n > 1:
        joined = distributed.initialize(coordinator, n, i, timeout=60)
    else:
        joined = distributed.initialize()  # no flags, no launcher: alone
    t_init = time.perf_counter() - t0

    # 5 x 3 Dirac-GAN configurations: not a multiple of 4 or 8 devices.
    grid = {"lr": np.linspace(0.1, 1.0, 5), "gamma": np.linspace(0.0, 1.0, 3)}
    dirac = dirac_run("optimistic", num_steps=40, every=4)

    def noisy(key, lr):  # the seed is a grid axis: instance noise needs the key
        game = gd.games.dirac_gan(instance_noise=0.3)
        dyn = gd.dynamics.simultaneous(game, gd.optimizers.make("sgd", lr))
        traj = gd.simulate(dyn, game.init(None), 40, key=key, every=40)
        return {"final": jax.numpy.stack(traj.final), "params": traj.params}

    cfg = mog.Config(hidden=16, g_layers=2, d_layers=1, batch_size=64)
    exp = mog.build(cfg, 20)

    def gan(key):  # one seed of a small mixture-of-Gaussians GAN, 20 steps
        params = exp.game.init(key)
        traj = gd.simulate(exp.dynamics, params, 20, key=key, every=20,
                           record_params=False, metrics=("losses",),
                           game=exp.game)
        g = traj.state.average[0]
        z = exp.sample_noise(jax.random.fold_in(key, 99), 256)
        x = exp.generator.apply({"params": g}, z)
        counts = mode_counts(x, exp.mixture.centers, exp.mixture.std)
        return {"samples": x, "counts": counts, "losses": traj.metrics["losses"],
                "diverged_step": traj.diverged_step}

    def sweeps(devices):
        return {
            "dirac": gd.sweep(dirac, grid, devices=devices),
            "keys": gd.sweep(noisy, {"key": gd.sweep_keys(0, 3), "lr": grid["lr"]},
                             chunk_size=4, devices=devices),
            "mog": gd.sweep(gan, {"key": gd.sweep_keys(1, 3)}, devices=devices),
        }

    t0 = time.perf_counter()
    results = {"all": sweeps(None)}
    t_sweep = time.perf_counter() - t0
    results["local"] = {"dirac": gd.sweep(dirac, grid, devices=jax.local_devices())}
    if n == 1:
        results["one"] = sweeps(jax.devices()[:1])
    if mog_run == "1":
        r = mog.run(cfg, steps=20, seeds=3, snapshots=2, num_plot=64)
        results["mog_run"] = {"snapshots": r.snapshots, "counts": r.counts,
                              "params": r.params}
    flat = {
        jax.tree_util.keystr(path): np.asarray(leaf)
        for path, leaf in jax.tree_util.tree_flatten_with_path(results)[0]
    }
    np.savez(f"{out}/process{i}.npz", **flat)
    if distributed.is_writer():
        open(f"{out}/written_by_{i}", "w").close()
    meta = {
        "joined": joined,
        "process_index": jax.process_index(),
        "process_count": jax.process_count(),
        "devices": jax.device_count(),
        "local_devices": jax.local_device_count(),
        "init_s": t_init,
        "sweep_s": t_sweep,
    }
    with open(f"{out}/process{i}.json", "w") as f:
        json.dump(meta, f)
    """
)

TIMEOUT = 180


def free_port() -> int:
    """A TCP port no one listens on now (the OS picks it for a bound socket)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _env(devices: int) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        # no launcher environment may leak in: the runs here are set by hand
        if not k.startswith(("SLURM_", "OMPI_", "PMI_", "JAX_", "TPU_", "MEGASCALE_"))
        and k not in ("XLA_FLAGS", "KUBERNETES_SERVICE_HOST")
    }
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    env["JAX_PLATFORMS"] = "cpu"
    return env


def launch(script, out, num_processes: int, devices: int, mog_run: bool) -> float:
    """Runs ``script`` as ``num_processes`` processes joined on a free local port.

    Returns:
      The wall-clock seconds until the last process exited.

    Fails the test with the output of the first process that failed or hung, after
    killing every process.
    """
    coordinator = f"localhost:{free_port()}"
    procs, logs = [], []
    t0 = time.perf_counter()
    try:
        for i in range(num_processes):
            args = [coordinator, num_processes, i, out, int(mog_run)]
            logs.append(open(out / f"process{i}.log", "w"))  # noqa: SIM115
            procs.append(
                subprocess.Popen(
                    [sys.executable, str(script), *map(str, args)],
                    env=_env(devices),
                    stdout=logs[-1],
                    stderr=subprocess.STDOUT,
                )
            )
        for i, proc in enumerate(procs):
            left = max(1.0, TIMEOUT - (time.perf_counter() - t0))
            try:
                proc.wait(timeout=left)
            except subprocess.TimeoutExpired:
                pytest.fail(f"process {i} of {num_processes} timed out")
            if proc.returncode != 0:
                log = (out / f"process{i}.log").read_text()
                pytest.fail(
                    f"process {i} of {num_processes} exited with "
                    f"{proc.returncode}:\n{log[-4000:]}"
                )
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for log in logs:
            log.close()
    return time.perf_counter() - t0


@pytest.fixture(scope="module", params=[2, 4], ids=lambda n: f"{n}proc")
def runs(request, tmp_path_factory):
    """The N-process run and its single-process reference on 2 N devices."""
    n = request.param
    root = tmp_path_factory.mktemp(f"multiprocess{n}")
    script = root / "worker.py"
    script.write_text(WORKER)
    ref_dir, multi_dir = root / "single", root / "multi"
    ref_dir.mkdir()
    multi_dir.mkdir()
    mog_run = n == 2  # the vmapped gamedyn.experiments.mog.run, once
    launch(script, ref_dir, 1, 2 * n, mog_run)
    seconds = launch(script, multi_dir, n, 2, mog_run)
    ref = dict(np.load(ref_dir / "process0.npz"))
    procs = [dict(np.load(multi_dir / f"process{i}.npz")) for i in range(n)]
    metas = [json.loads((multi_dir / f"process{i}.json").read_text()) for i in range(n)]
    return {
        "n": n,
        "ref": ref,
        "procs": procs,
        "metas": metas,
        "dir": multi_dir,
        "seconds": seconds,
    }


def _part(flat: dict, prefix: str) -> dict:
    return {k[len(prefix) :]: v for k, v in flat.items() if k.startswith(prefix)}


def _assert_equal(got: dict, want: dict, what: str) -> None:
    assert got.keys() == want.keys() and got, what
    for name in want:
        np.testing.assert_array_equal(got[name], want[name], err_msg=f"{what}{name}")


def test_processes_join_one_runtime(runs):
    n = runs["n"]
    for i, meta in enumerate(runs["metas"]):
        assert meta["joined"] is True
        assert meta["process_index"] == i
        assert meta["process_count"] == n
        assert meta["devices"] == 2 * n
        assert meta["local_devices"] == 2


def test_files_are_written_by_process_0_only(runs):
    assert sorted(p.name for p in runs["dir"].glob("written_by_*")) == ["written_by_0"]


@pytest.mark.parametrize("study", ["dirac", "keys", "mog"])
def test_every_process_receives_the_single_process_result(runs, study):
    prefix = f"['all']['{study}']"
    want = _part(runs["ref"], prefix)
    for i, got in enumerate(runs["procs"]):
        _assert_equal(_part(got, prefix), want, f"process {i}, {study}")


@pytest.mark.parametrize("study", ["dirac", "keys", "mog"])
def test_equals_a_run_on_one_device(runs, study):
    prefix = f"['all']['{study}']"
    one = _part(runs["ref"], f"['one']['{study}']")
    got = _part(runs["procs"][-1], prefix)
    assert got.keys() == one.keys()
    for name, want in one.items():
        assert got[name].dtype == want.dtype
        if np.issubdtype(want.dtype, np.floating):
            assert want.dtype == np.float64
            np.testing.assert_allclose(got[name], want, rtol=1e-12, atol=1e-12)
        else:
            np.testing.assert_array_equal(got[name], want, err_msg=name)


def test_dirac_grid_has_its_shape_and_cells(runs):
    out = _part(runs["procs"][0], "['all']['dirac']")
    assert out["['rate']"].shape == (5, 3)
    assert out["['outcome']"].dtype.kind == "i"
    assert np.all(np.isfinite(out["['rate']"]))
    # distinct configurations give distinct runs: no cell is a copy of the padding
    assert len(np.unique(out["['distance']"])) == 15


def test_local_devices_sweep_alone(runs):
    want = _part(runs["ref"], "['all']['dirac']")
    for i, got in enumerate(runs["procs"]):
        _assert_equal(_part(got, "['local']['dirac']"), want, f"process {i} local")


def test_mog_run_under_jax_distributed(runs):
    if runs["n"] != 2:
        pytest.skip("gamedyn.experiments.mog.run is checked with 2 processes")
    want = _part(runs["ref"], "['mog_run']")
    for i, got in enumerate(runs["procs"]):
        _assert_equal(_part(got, "['mog_run']"), want, f"process {i} mog.run")
