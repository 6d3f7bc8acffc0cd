"""``--coordinator``, ``--num-processes``, ``--process-id``: checks and real runs.

The checks run in this process and start nothing (a pre-flight failure happens
before :func:`jax.distributed.initialize`, which is replaced by a trap here). The
runs start ``gamedyn sweep`` and ``gamedyn mog`` as two processes of one CPU device
each, together with the same command alone on two devices (the reference: the same
per-device programs), and check that only process 0 prints, draws the progress bar
and writes, and that what it writes equals the reference's files. Every process
compiles with ``--xla_backend_optimization_level=0`` (5x faster compiles; the
programs compared are alike).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from gamedyn.cli import _common, _distributed


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


def _env(devices: int) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLURM_", "OMPI_", "PMI_", "JAX_", "TPU_", "MEGASCALE_"))
        and k != "XLA_FLAGS"
    }
    env["XLA_FLAGS"] = (
        f"--xla_force_host_platform_device_count={devices} "
        "--xla_backend_optimization_level=0"
    )
    env["JAX_PLATFORMS"] = "cpu"
    return env


def run_processes(runs: list[tuple[list[str], int]], timeout: float = 240) -> list:
    """Starts one process per ``(argv, devices)`` at once; (returncode, stdout,
    stderr) each.

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
        for argv, devices in runs
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


def two_and_alone(command: list[str], multi, alone, alone_extra=()) -> list:
    """``command`` as processes 0 and 1 (one device each) writing ``multi``, and
    alone (two devices, ``alone_extra`` added) writing ``alone``, all at once.

    Returns:
      (returncode, stdout, stderr) of process 0, process 1 and the lone run, each
      checked to have exited 0.
    """
    port = free_port()
    runs = [([*command, "--out", str(multi), *_flags(port, 2, i)], 1) for i in (0, 1)]
    runs.append(([*command, "--out", str(alone), *alone_extra], 2))
    results = run_processes(runs)
    for what, (code, _, err) in zip(("process 0", "process 1", "alone"), results):
        assert code == 0, f"{what}: {err[-3000:]}"
    return results


def files(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name[0] != ".")


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
]


def test_gamedyn_sweep_in_two_processes(tmp_path):
    alone, multi = tmp_path / "alone", tmp_path / "multi"
    first, second, (_, out, _) = two_and_alone(
        SWEEP, multi, alone, alone_extra=["--no-progress"]
    )
    lines = own_lines(first[1])
    assert lines[0].startswith("sweep: alternating on the Dirac-GAN")
    assert "on 2 cpu device(s)" in lines[0]  # the devices of both processes
    assert lines[-1] == f"wrote {multi / 'sweep.npz'}"
    assert own_lines(out)[-1] == f"wrote {alone / 'sweep.npz'}"
    assert own_lines(second[1]) == []  # process 1 prints nothing, draws no bar
    assert "15/15" in first[2] and "sweep:" not in second[2]
    assert files(multi) == ["sweep.npz"]
    got, want = np.load(multi / "sweep.npz"), np.load(alone / "sweep.npz")
    assert sorted(got.files) == sorted(want.files)
    for name in want.files:
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)
    assert len(np.unique(got["distance"])) == 15  # 15 runs, not padding copies


MOG = [
    "-m",
    "gamedyn",
    "mog",
    "--steps",
    "4",
    "--snapshots",
    "2",
    "--seeds",
    "3",
    "--hidden",
    "8",
    "--batch-size",
    "16",
    "--latent-dim",
    "2",
    "--g-layers",
    "1",
    "--d-layers",
    "1",
    "--regularizer",
    "none",
    "--optimizer",
    "sgd",
    "--schedule",
    "constant",
]


@pytest.mark.slow
def test_gamedyn_mog_in_two_processes(tmp_path):
    # 3 seeds on 2 devices: padded to 4, 2 per device, as in the lone run
    alone, multi = tmp_path / "alone", tmp_path / "multi"
    first, second, _ = two_and_alone(
        MOG, multi, alone, alone_extra=["--no-plots", "--no-progress"]
    )
    (line,) = own_lines(first[1])
    assert line.startswith("ring: modes ") and line.endswith(f"-> {multi}")
    assert own_lines(second[1]) == []
    assert "mog ring x3 seeds" in first[2] and "mog ring" not in second[2]
    assert files(multi) == ["metrics.json", "samples.png"]
    got = json.loads((multi / "metrics.json").read_text())
    want = json.loads((alone / "metrics.json").read_text())
    assert [s["seed"] for s in got["per_seed"]] == [0, 1, 2]
    assert got.pop("seconds") > 0 and want.pop("seconds") > 0
    assert got == want
