"""gamedyn.sweep and a multi-seed GAN across real processes joined by jax.distributed.

``test_sweeps_across_processes`` starts 2 and 4 Python processes on this machine,
2 CPU devices each (``XLA_FLAGS``), joined by :func:`gamedyn.distributed.initialize`
through a coordinator on a free local port (gloo collectives): the 4 processes get
the coordinator, count and id as arguments, the 2 processes find them in an
emulated SLURM ``srun`` environment, as a cluster launcher sets it. Every process
runs a 5 x 3 Dirac-GAN phase diagram (:func:`gamedyn.experiments.dirac_sweep.run`)
in float64, a grid that divides neither 4 nor 8 devices; the 2 processes also run a
chunked grid with seeds as an axis (:func:`gamedyn.sweep_keys`), a 3-seed
mixture-of-Gaussians GAN (:func:`gamedyn.experiments.mog.run`, the seeds padded to
the 4 devices) and a sweep on their own devices only. What every process receives
must equal a single-process run (no jax.distributed, 4 devices) to the last bit:
the reference evaluates as many configurations (seeds) per device and call as the
runs compared with it, so its per-device programs are theirs. (On one device, XLA
compiles the GAN's programs differently: they agree to ~1e-8 only.) The reference
also trains the GAN's seeds in another order, which must permute its results.

The workers compile with ``--xla_backend_optimization_level=0`` (LLVM's
optimizations off, in the reference too): compiles are 5x faster and the programs
compared are the same. The reference process starts once per module and runs
while the first test's processes do (its compiles use the core they leave idle). A
worker that fails or hangs fails the test with its output; every process is killed
before the test ends.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time

import jax
import numpy as np
import pytest

from gamedyn import distributed

WORKER = textwrap.dedent(
    """
    import json, sys, time

    import jax

    jax.config.update("jax_enable_x64", True)
    import numpy as np

    import gamedyn as gd
    from gamedyn import distributed
    from gamedyn.experiments import dirac_sweep, mog

    out, tasks, how = sys.argv[1], sys.argv[2].split(","), sys.argv[3]
    cpu = {"import": time.process_time()}
    if how == "flags":
        coordinator, n, i = sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
        joined = distributed.initialize(coordinator, n, i, timeout=60)
    else:  # "env" (a cluster launcher's environment) or "single" (none)
        joined = distributed.initialize(timeout=60)
    cpu["init"] = time.process_time() - cpu["import"]

    lr, gamma = np.linspace(0.1, 1.0, 5), np.linspace(0.0, 1.0, 3)
    start = (1.0, 1.0)
    study = dirac_sweep.Config(rule="optimistic", lr=tuple(lr), gamma=tuple(gamma),
                               steps=40, every=4, start=start)

    def sweep(fn, grid, devices=None):
        # 2 configurations per device and compiled call, on every mesh
        chunk = 2 * len(devices or jax.devices())
        return gd.sweep(fn, grid, chunk_size=chunk, devices=devices)

    def noisy(key, lr):  # the seed is a grid axis: instance noise needs the key
        game = gd.games.dirac_gan(instance_noise=0.3)
        dyn = gd.dynamics.simultaneous(game, gd.optimizers.make("sgd", lr))
        traj = gd.simulate(dyn, game.init(None), 40, key=key, every=10)
        return {"final": jax.numpy.stack(traj.final), "params": traj.params}

    gan = mog.Config(hidden=8, batch_size=16, latent_dim=2, g_layers=1, d_layers=1)

    def gan_run(seeds):  # a small mixture-of-Gaussians GAN, the seeds split
        result = mog.run(gan, steps=4, seeds=seeds, snapshots=2, num_plot=8)
        return result._replace(seconds=0.0)._asdict()

    def study_run(width=None):  # None: the default chunk, all configs at once
        chunk = study.chunk_size if width is None else width * jax.device_count()
        return dirac_sweep.run(study._replace(chunk_size=chunk))._asdict()

    TASKS = {
        "study": study_run,
        "study2": lambda: study_run(2),
        "study4": lambda: study_run(4),
        "keys": lambda: sweep(noisy, {"key": gd.sweep_keys(0, 3), "lr": lr}),
        "mog": lambda: gan_run(3),
        "mog_permuted": lambda: gan_run((2, 0, 1)),  # the same programs, reused
        "local": lambda: sweep(  # each process alone on its own devices
            dirac_sweep.dirac_run("optimistic", num_steps=40, every=4, start=start),
            {"lr": lr, "gamma": gamma},
            jax.local_devices(),
        ),
    }
    results = {}
    for task in tasks:
        c0 = time.process_time()
        results[task] = TASKS[task]()
        cpu[task] = time.process_time() - c0

    i = jax.process_index()
    flat = {
        jax.tree_util.keystr(path): np.asarray(leaf)
        for path, leaf in jax.tree_util.tree_flatten_with_path(results)[0]
    }
    np.savez(f"{out}/process{i}.npz", **flat)
    if distributed.is_writer():
        open(f"{out}/written_by_{i}", "w").close()
    meta = {
        "joined": joined,
        "process_count": jax.process_count(),
        "devices": jax.device_count(),
        "local_devices": jax.local_device_count(),
        "cpu_s": cpu,
    }
    with open(f"{out}/process{i}.json", "w") as f:
        json.dump(meta, f)
    """
)

TIMEOUT = 240
LAUNCHER_VARS = ("SLURM_", "OMPI_", "PMI_", "JAX_", "TPU_", "MEGASCALE_")


def free_port() -> int:
    """A TCP port no one listens on now (the OS picks it for a bound socket)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def worker_env(devices: int, **extra: str) -> dict[str, str]:
    """This environment without any launcher's variables, on ``devices`` CPUs."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(LAUNCHER_VARS)
        and k not in ("XLA_FLAGS", "KUBERNETES_SERVICE_HOST")
    }
    env["XLA_FLAGS"] = (
        f"--xla_force_host_platform_device_count={devices} "
        "--xla_backend_optimization_level=0"
    )
    env["JAX_PLATFORMS"] = "cpu"
    env.update(extra)
    return env


class Processes:
    """One process per command, all started at once, their output in ``logs``.

    :meth:`wait` waits until every one has exited and fails the test with the
    output of the first that failed or hung; :meth:`kill` ends those still running.
    """

    def __init__(self, commands: list[list[str]], envs: list[dict], logs) -> None:
        self.logs, self.procs, self.files = logs, [], []
        self.t0 = time.perf_counter()
        try:
            for i, (command, env) in enumerate(zip(commands, envs)):
                self.files.append(open(logs / f"log{i}.txt", "w"))  # noqa: SIM115
                self.procs.append(
                    subprocess.Popen(
                        [sys.executable, *command],
                        env=env,
                        stdout=self.files[-1],
                        stderr=subprocess.STDOUT,
                    )
                )
        except BaseException:
            self.kill()
            raise

    def wait(self) -> float:
        """The wall-clock seconds from the start until the last process exited."""
        n = len(self.procs)
        try:
            for i, proc in enumerate(self.procs):
                left = max(1.0, TIMEOUT - (time.perf_counter() - self.t0))
                try:
                    proc.wait(timeout=left)
                except subprocess.TimeoutExpired:
                    pytest.fail(f"process {i} of {n} timed out after {TIMEOUT} s")
                if proc.returncode != 0:
                    log = (self.logs / f"log{i}.txt").read_text()
                    pytest.fail(
                        f"process {i} of {n} exited with {proc.returncode}:\n"
                        f"{log[-4000:]}"
                    )
        finally:
            self.kill()
        return time.perf_counter() - self.t0

    def kill(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for f in self.files:
            f.close()


def launch(commands: list[list[str]], envs: list[dict], logs) -> float:
    """Runs one process per command, all at once, until every one has exited.

    Returns:
      The wall-clock seconds until the last process exited.

    Fails the test with the output of the first process that failed or hung, after
    killing every process.
    """
    return Processes(commands, envs, logs).wait()


def load(folder, i: int) -> tuple[dict, dict]:
    arrays = dict(np.load(folder / f"process{i}.npz"))
    return arrays, json.loads((folder / f"process{i}.json").read_text())


def part(flat: dict, prefix: str) -> dict:
    prefix = f"['{prefix}']"
    return {k[len(prefix) :]: v for k, v in flat.items() if k.startswith(prefix)}


def assert_same(got: dict, want: dict, what: str) -> None:
    """Equal to the last bit: same names, shapes, dtypes and values (NaN == NaN)."""
    assert got and got.keys() == want.keys(), what
    differ = [
        name
        for name, value in want.items()
        if got[name].dtype != value.dtype
        or not np.array_equal(got[name], value, value.dtype.kind in "fc")
    ]
    for name in differ:
        assert got[name].dtype == want[name].dtype, f"{what}{name}"
        np.testing.assert_array_equal(got[name], want[name], err_msg=f"{what}{differ}")


# What each run computes: 4 processes on 2 cores compile 4 times each program, so
# they run the study only (the GAN alone compiles for 4 CPU-seconds).
TASKS = {2: ("study", "keys", "mog", "local"), 4: ("study",)}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The worker's results in one process on 4 devices, without jax.distributed.

    The Dirac-GAN study at 2 and 4 configurations per device: as spread over the 8
    devices of 4 processes and the 4 of 2 processes; the GAN's 3 seeds, one per
    device, as over the 4 devices of 2 processes. The process starts here and runs
    while the first test starts its own; calling the fixture's value waits for it.
    """
    root = tmp_path_factory.mktemp("single")
    (root / "worker.py").write_text(WORKER)
    tasks = "study2,study4,keys,mog,mog_permuted,local"
    command = [str(root / "worker.py"), str(root), tasks, "single"]
    alone = Processes([command], [worker_env(4)], root)
    arrays = {}

    def result() -> dict:
        if not arrays:
            alone.wait()
            arrays.update(check_reference(root))
        return arrays

    yield result
    alone.kill()


def check_reference(root) -> dict:
    arrays, meta = load(root, 0)
    assert meta["joined"] is False and meta["process_count"] == 1
    assert meta["devices"] == 4
    # each seed keeps its own run, wherever it is trained: seeds (2, 0, 1)
    order = [1, 2, 0]
    mog, permuted = part(arrays, "mog"), part(arrays, "mog_permuted")
    assert mog.keys() == permuted.keys()
    for name, value in mog.items():
        per_seed = name not in ("['steps']", "['seconds']")
        got = permuted[name][order] if per_seed else permuted[name]
        np.testing.assert_array_equal(got, value, name)
    return arrays


@pytest.mark.parametrize("n", [2, 4])
def test_sweeps_across_processes(n, reference, tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    tasks = ",".join(TASKS[n])
    port = free_port()
    if n == 2:  # as srun starts them: everything in the environment
        commands = [[str(script), str(tmp_path), tasks, "env"]] * n
        envs = [
            worker_env(
                2,
                SLURM_JOB_ID="4242",
                SLURM_STEP_NODELIST="localhost",
                SLURM_NTASKS=str(n),
                SLURM_PROCID=str(i),
                SLURM_LOCALID=str(i),
                JAX_COORDINATOR_PORT=str(port),
            )
            for i in range(n)
        ]
    else:  # as typed by hand: coordinator, number of processes, process id
        commands = [
            [str(script), str(tmp_path), tasks, "flags", f"localhost:{port}", str(n)]
            + [str(i)]
            for i in range(n)
        ]
        envs = [worker_env(2)] * n
    launch(commands, envs, tmp_path)

    expected = reference()  # the lone process, started with the first test
    width = -(-15 // (2 * n))  # configurations per device of the 5 x 3 study
    for i in range(n):
        got, meta = load(tmp_path, i)
        assert meta["joined"] is True, f"process {i}"
        assert meta["process_count"] == n, f"process {i}"
        assert meta["devices"] == 2 * n and meta["local_devices"] == 2
        for task in TASKS[n]:
            want = f"study{width}" if task == "study" else task
            assert_same(part(got, task), part(expected, want), f"process {i}: ")
    # every cell holds its own configuration, not a copy of the padding
    assert got["['study']['outcome']"].shape == (5, 3)
    assert len(np.unique(got["['study']['distance']"])) == 15
    if "keys" in TASKS[n]:
        assert got["['keys']['final']"].shape == (3, 5, 2)
        assert len(np.unique(got["['keys']['final']"][:, :, 0])) == 15
    if "mog" in TASKS[n]:  # 3 seeds, not copies of the padding (a 4th seed)
        assert got["['mog']['snapshots']"].shape == (3, 3, 8, 2)
        assert got["['mog']['snapshots']"].dtype == np.float64
        assert len(np.unique(got["['mog']['snapshots']"][:, -1, 0, 0])) == 3
        assert got["['mog']['counts']"].shape == (3, 8)
    assert sorted(p.name for p in tmp_path.glob("written_by_*")) == ["written_by_0"]


# --- gamedyn.distributed in this process: checks that start nothing --------------


@pytest.fixture
def no_launcher(monkeypatch):
    for name in list(os.environ):
        if name.startswith(LAUNCHER_VARS) or name == "KUBERNETES_SERVICE_HOST":
            monkeypatch.delenv(name)


def test_alone_without_arguments_or_launcher(no_launcher):
    if distributed.cluster_environment() is not None:
        pytest.skip("this machine is a cluster node JAX detects")
    assert distributed.initialize() is False
    assert not distributed.is_initialized()
    assert distributed.is_writer()


def test_detects_a_launcher_of_several_processes(no_launcher, monkeypatch):
    if distributed.cluster_environment() is not None:
        pytest.skip("this machine is a cluster node JAX detects")
    srun = {
        "SLURM_JOB_ID": "7",
        "SLURM_STEP_NODELIST": "node[01-02]",
        "SLURM_NTASKS": "2",
        "SLURM_PROCID": "1",
        "SLURM_LOCALID": "0",
    }
    for name, value in srun.items():
        monkeypatch.setenv(name, value)
    assert distributed.cluster_environment() == "SlurmCluster"
    monkeypatch.setenv("SLURM_NTASKS", "1")  # srun -n 1: one ordinary process
    assert distributed.cluster_environment() is None


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        (dict(coordinator="localhost:1234"), ValueError, "num_processes: expected"),
        (
            dict(coordinator="localhost:1234", num_processes=2),
            ValueError,
            "process_id: expected coordinator, num_processes and process_id",
        ),
        (
            dict(coordinator="localhost", num_processes=2, process_id=0),
            ValueError,
            "coordinator: expected HOST:PORT",
        ),
        (
            dict(coordinator="h:70000", num_processes=2, process_id=0),
            ValueError,
            r"coordinator: expected a port in \[1, 65535\], got 70000",
        ),
        (
            dict(coordinator="h:1", num_processes=2, process_id=2),
            ValueError,
            r"process_id: expected an integer in \[0, 1\], got 2",
        ),
        (
            dict(coordinator="h:1", num_processes=0, process_id=0),
            ValueError,
            "num_processes: expected an integer >= 1, got 0",
        ),
        (
            dict(coordinator="h:1", num_processes=2.0, process_id=0),
            TypeError,
            "num_processes: expected an integer",
        ),
        (dict(coordinator=1234, num_processes=2, process_id=0), TypeError, "HOST"),
        (dict(timeout=0), ValueError, "timeout: expected an integer >= 1"),
    ],
)
def test_initialize_checks_its_arguments_first(kwargs, error, match):
    with pytest.raises(error, match=match):
        distributed.initialize(**kwargs)
    assert not distributed.is_initialized()


@pytest.mark.parametrize(
    "text,parsed",
    [
        ("localhost:1234", ("localhost", 1234)),
        ("10.0.0.1:65535", ("10.0.0.1", 65535)),
        ("node-01.cluster:8476", ("node-01.cluster", 8476)),
        ("[::1]:1234", ("::1", 1234)),
    ],
)
def test_parse_address(text, parsed):
    assert distributed.parse_address(text) == parsed


@pytest.mark.parametrize("text", ["", ":1234", "host:", "host:port", "::1:1234", "h:0"])
def test_parse_address_refuses(text):
    with pytest.raises(ValueError, match="coordinator: expected"):
        distributed.parse_address(text)


def test_sweep_of_one_process_stays_on_the_host(monkeypatch):
    # a fully addressable chunk is copied, never gathered (no collective)
    from jax.experimental import multihost_utils

    import gamedyn as gd

    def refuse(*args, **kwargs):
        raise AssertionError("process_allgather called on one process")

    monkeypatch.setattr(multihost_utils, "process_allgather", refuse)
    out = gd.sweep(lambda a: a * 2.0, {"a": np.arange(3.0)}, devices=jax.devices()[:1])
    np.testing.assert_array_equal(out, [0.0, 2.0, 4.0])


def test_check_devices():
    assert distributed.check_devices() == tuple(jax.devices())
    device = jax.devices()[0]
    assert distributed.check_devices(device) == (device,)
    assert distributed.check_devices([device]) == (device,)
    for bad, match in [
        ([], "expected a non-empty sequence of jax devices"),
        (["cpu"], "expected a non-empty sequence of jax devices"),
        (3, "expected a sequence of jax devices, got int"),
        ([device, device], "expected distinct devices, got repeats"),
    ]:
        with pytest.raises(ValueError, match=f"^devices: {match}"):
            distributed.check_devices(bad)


def test_put_and_gather_in_one_process():
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    mesh = Mesh(np.asarray(jax.devices()[:1], dtype=object), ("x",))
    split = NamedSharding(mesh, PartitionSpec("x"))
    value = distributed.put(np.arange(4.0), split)
    assert value.sharding == split and value.dtype == jax.numpy.float32
    keys = distributed.put(jax.random.split(jax.random.key(0), 4), split)
    tree = {"a": value * 2, "k": jax.random.key_data(keys)}
    host = distributed.gather(tree)
    assert isinstance(host["a"], np.ndarray)
    np.testing.assert_array_equal(host["a"], [0.0, 2.0, 4.0, 6.0])
    np.testing.assert_array_equal(
        host["k"], jax.random.key_data(jax.random.split(jax.random.key(0), 4))
    )
    with pytest.raises(ValueError, match="^tree: expected arrays, got PRNG keys"):
        distributed.gather({"k": keys})
