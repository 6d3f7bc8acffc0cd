"""``--coordinator``, ``--num-processes``, ``--process-id``: checks and real runs.

The checks run in this process and start nothing (a pre-flight failure happens
before :func:`jax.distributed.initialize`, which is replaced by a trap here). The
runs start two processes of a small command wired as ``gamedyn sweep`` is
(``gamedyn.cli._distributed``), and of ``gamedyn sweep`` itself once it takes the
flags, and compare what process 0 writes with a single-process run.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time

import jax
import numpy as np
import pytest

from gamedyn.cli import _common, _distributed, main


def parser() -> _common.Parser:
    p = _common.Parser(prog="gamedyn demo")
    _distributed.add_arguments(p)
    return p


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@pytest.fixture
def trap(monkeypatch):
    """Fails a test that would join a real run from this process."""

    def refuse(*args, **kwargs):
        raise AssertionError("jax.distributed.initialize called in the test process")

    monkeypatch.setattr(jax.distributed, "initialize", refuse)
    for name in list(os.environ):
        if name.startswith(
            ("SLURM_", "OMPI_", "JAX_COORDINATOR", "TPU_", "KUBERNETES")
        ):
            monkeypatch.delenv(name)


def test_flags_parse():
    args = parser().parse_args(
        ["--coordinator", "10.0.0.1:1234", "--num-processes", "4", "--process-id", "3"]
    )
    assert (args.coordinator, args.num_processes, args.process_id) == (
        "10.0.0.1:1234",
        4,
        3,
    )
    _distributed.check(args)
    none = parser().parse_args([])
    assert (none.coordinator, none.num_processes, none.process_id) == (None,) * 3
    _distributed.check(none)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--coordinator", "localhost"], "--coordinator: expected HOST:PORT"),
        (["--coordinator", "host:99999"], "--coordinator: expected a port in"),
        (["--num-processes", "0"], "--num-processes: expected an integer >= 1"),
        (["--process-id", "-1"], "--process-id: expected an integer >= 0"),
        (["--process-id", "x"], "--process-id: expected an integer, got 'x'"),
    ],
)
def test_bad_values_are_one_line_errors(capsys, argv, message):
    with pytest.raises(SystemExit) as e:
        parser().parse_args(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("gamedyn demo: error: argument ") and message in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--coordinator", "h:1"],
            "--num-processes: expected --coordinator, --num-processes and "
            "--process-id together, got only --coordinator",
        ),
        (
            ["--num-processes", "2", "--process-id", "0"],
            "--coordinator: expected --coordinator, --num-processes and "
            "--process-id together, got only --num-processes and --process-id",
        ),
        (
            ["--coordinator", "h:1", "--num-processes", "2", "--process-id", "2"],
            "--process-id: expected an integer < --num-processes (2), got 2",
        ),
    ],
)
def test_flags_go_together(trap, argv, message):
    args = parser().parse_args(argv)
    with pytest.raises(_common.UsageError) as e:
        _distributed.setup(args)
    assert str(e.value) == message


def test_without_flags_or_launcher_runs_alone(trap):
    assert _distributed.setup(parser().parse_args([])) is True  # the writer


def test_process_0_needs_the_port(trap):
    with socket.create_server(("", 0)) as busy:
        port = busy.getsockname()[1]
        args = parser().parse_args(
            ["--coordinator", f"localhost:{port}", "--num-processes", "2"]
            + ["--process-id", "0"]
        )
        with pytest.raises(_common.UsageError, match="--coordinator: process 0 "):
            _distributed.setup(args)


def test_other_processes_wait_for_process_0(trap):
    from gamedyn import distributed

    t0 = time.perf_counter()
    with pytest.raises(TimeoutError, match="coordinator: no process 0 answered at"):
        distributed.initialize(f"localhost:{free_port()}", 2, 1, timeout=1)
    assert time.perf_counter() - t0 < 10


# --- two real processes --------------------------------------------------------

DEMO = textwrap.dedent(
    """
    import sys

    import numpy as np

    from gamedyn.cli import _common, _distributed

    p = _common.Parser(prog="gamedyn demo")
    _distributed.add_arguments(p)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    writer = _distributed.setup(args)  # before any JAX computation
    if writer:
        _common.check_out(args.out)

    import jax

    from gamedyn.experiments import dirac_sweep

    lr, gamma = np.linspace(0.1, 1.0, 5), (0.0, 0.5, 1.0)
    config = dirac_sweep.Config(rule="alternating", lr=tuple(lr), gamma=gamma,
                                steps=40, every=4, start=(1.0, 1.0))
    with _common.progress_bar(15, "sweep", writer, unit="config") as bar:
        result = dirac_sweep.run(config, progress=_common.bar_callback(bar))
    if writer:
        np.savez(f"{args.out}/sweep.npz", outcome=result.outcome, rate=result.rate,
                 distance=result.distance)
        print(f"wrote sweep.npz on process {jax.process_index()} of "
              f"{jax.process_count()}")
    """
)


def _env(devices: int) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLURM_", "OMPI_", "PMI_", "JAX_", "TPU_", "MEGASCALE_"))
        and k != "XLA_FLAGS"
    }
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    env["JAX_PLATFORMS"] = "cpu"
    return env


def run_processes(argvs, devices: int, timeout: float = 240) -> list[tuple]:
    """Starts one process per argv at once; (returncode, stdout, stderr) each.

    Every process still running at the end (a failure or a hang) is killed.
    """
    procs = [
        subprocess.Popen(
            [sys.executable, *argv],
            env=_env(devices),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for argv in argvs
    ]
    results, t0 = [], time.perf_counter()
    try:
        for proc in procs:
            left = max(1.0, timeout - (time.perf_counter() - t0))
            out, err = proc.communicate(timeout=left)
            results.append((proc.returncode, out, err))
    except subprocess.TimeoutExpired:
        pytest.fail(f"a process ran past {timeout} s")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()
    return results


def own_lines(text: str) -> list[str]:
    """Printed lines, without gloo's ("[Gloo] Rank 0 is connected to 1 peer ranks"),
    which its C++ code prints on every process."""
    return [line for line in text.splitlines() if not line.startswith("[Gloo]")]


def _flags(port: int, n: int, i: int) -> list[str]:
    return ["--coordinator", f"localhost:{port}", "--num-processes", str(n)] + [
        "--process-id",
        str(i),
    ]


def test_two_processes_one_writer(tmp_path):
    script = tmp_path / "demo.py"
    script.write_text(DEMO)
    alone, multi = tmp_path / "alone", tmp_path / "multi"
    port = free_port()
    argvs = [[str(script), "--out", str(multi), *_flags(port, 2, i)] for i in (0, 1)]
    results = run_processes(argvs, devices=1)
    for i, (code, _, err) in enumerate(results):
        assert code == 0, f"process {i}: {err[-3000:]}"
    assert own_lines(results[0][1]) == ["wrote sweep.npz on process 0 of 2"]
    assert own_lines(results[1][1]) == []  # process 1 prints nothing, draws no bar
    assert "sweep:" in results[0][2] and "sweep:" not in results[1][2]
    assert sorted(p.name for p in multi.iterdir() if p.name[0] != ".") == ["sweep.npz"]
    # the same command without the flags: one process on the same 2 devices
    ((code, out, err),) = run_processes([[str(script), "--out", str(alone)]], 2)
    assert code == 0, err[-3000:]
    assert own_lines(out) == ["wrote sweep.npz on process 0 of 1"]
    got, want = np.load(multi / "sweep.npz"), np.load(alone / "sweep.npz")
    for name in ("outcome", "rate", "distance"):
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)


SWEEP = [
    "-m",
    "gamedyn",
    "sweep",
    "--rule",
    "alternating",
    "--lr",
    "0.1:1:5",
    "--gamma",
    "0:1:3",
    "--steps",
    "40",
    "--every",
    "4",
    "--no-plots",
    "--no-progress",
]


def test_gamedyn_sweep_in_two_processes(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["sweep", "--help"])
    if "--coordinator" not in capsys.readouterr().out:
        pytest.skip("gamedyn sweep does not take --coordinator yet")
    alone, multi = tmp_path / "alone", tmp_path / "multi"
    port = free_port()
    argvs = [[*SWEEP, "--out", str(multi), *_flags(port, 2, i)] for i in (0, 1)]
    results = run_processes(argvs, devices=1)
    for i, (code, _, err) in enumerate(results):
        assert code == 0, f"process {i}: {err[-3000:]}"
    assert "wrote" in results[0][1] and own_lines(results[1][1]) == []
    assert sorted(p.name for p in multi.iterdir() if p.name[0] != ".") == ["sweep.npz"]
    ((code, out, err),) = run_processes([[*SWEEP, "--out", str(alone)]], 2)
    assert code == 0, err[-3000:]
    got, want = np.load(multi / "sweep.npz"), np.load(alone / "sweep.npz")
    assert sorted(got.files) == sorted(want.files)
    for name in want.files:
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)
