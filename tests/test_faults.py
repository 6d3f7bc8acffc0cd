"""Fault injection on ``gamedyn mnist``: runs killed with SIGKILL (mid-checkpoint and
at random points), corrupt and truncated checkpoints, two processes on one
directory, a full disk. Every run ends exactly where an unbroken run ends, nothing
is lost, and every refusal is one line.

The kills are real: a ``gamedyn mnist`` process (:data:`SCRIPT`) kills itself with
SIGKILL at a chosen point of the real code path, or the test kills it at a random
time. The default suite has one such process; the randomised loop is ``slow``.
"""

import os
import pathlib
import random
import shutil
import signal
import stat
import subprocess
import sys
import time
from typing import Any, NamedTuple

import jax
import numpy as np
import pytest

from gamedyn import io
from gamedyn.cli import main
from gamedyn.experiments import mnist as ex

pytestmark = pytest.mark.skipif(
    not os.path.isfile(
        os.path.join(os.environ.get("GAMEDYN_DATA_DIR", ""), "mnist.npz")
    ),
    reason="needs mnist.npz in GAMEDYN_DATA_DIR",
)

CFG = ex.Config(width=8, latent_dim=4, batch_size=16, train_size=256)
FLAGS = [
    "--width", "8", "--latent-dim", "4", "--batch-size", "16", "--train-size", "256",
    "--chunk", "4", "--checkpoint-every", "4", "--keep", "3", "--fid-samples", "0",
    "--no-progress", "--no-plots",
]  # fmt: skip
RUN = dict(chunk=4, checkpoint_every=4, keep=3, fid_samples=0)
STEPS = 16

SCRIPT = r"""
import os, signal, sys
from gamedyn import io
from gamedyn.cli import main

kind, where = sys.argv[1], sys.argv[2]


def stop():
    if kind.startswith("hold"):  # wait here, holding the lock, until killed
        print("holding", flush=True)
        sys.stdin.read()
    os.kill(os.getpid(), signal.SIGKILL)


if kind.endswith("replace"):  # checkpoint written to its temporary file, not moved
    replace = os.replace
    def patched_replace(src, dst):
        if os.path.basename(dst) == f"checkpoint_{int(where):09d}.msgpack":
            stop()
        replace(src, dst)
    os.replace = patched_replace
elif kind == "write":  # half of a checkpoint's bytes written
    encode, fdopen, armed = io._encode_checkpoint, os.fdopen, []
    def patched_encode(state, metadata):
        armed.append(int(state.step) == int(where))
        return encode(state, metadata)
    class Half:
        def __init__(self, f):
            self.f = f
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            return self.f.__exit__(*exc)
        def write(self, data):
            self.f.write(data[: len(data) // 2])
            self.f.flush()
            stop()
    def patched_fdopen(fd, *args, **kwargs):
        f = fdopen(fd, *args, **kwargs)
        return Half(f) if armed and armed[-1] else f
    io._encode_checkpoint, os.fdopen = patched_encode, patched_fdopen
elif kind == "log":  # a step's log record written, its checkpoint not
    append = io.append_log
    def patched_append(directory, record):
        append(directory, record)
        if record["step"] == int(where):
            stop()
    io.append_log = patched_append
elif kind == "prune":  # the new checkpoint in place, the oldest not yet removed
    remove = os.remove
    def patched_remove(path):
        if os.path.basename(path).startswith("checkpoint_"):
            stop()
        remove(path)
    os.remove = patched_remove
sys.exit(main(sys.argv[3:]))
"""


def _spawn(kind: str, where: int, out: str, steps: int = STEPS, env=None, **kw):
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, kind, str(where), "mnist", "--steps",
         str(steps), "--out", out, *FLAGS],
        env=env, text=True, **kw,
    )  # fmt: skip


def _without_time(records):
    return [{k: v for k, v in r.items() if k != "time"} for r in records]


def _equal(a, b) -> bool:
    return all(
        jax.tree.leaves(jax.tree.map(lambda u, v: bool(np.array_equal(u, v)), a, b))
    )


class Run(NamedTuple):
    """A run directory and its final state."""

    out: str
    state: Any


@pytest.fixture(scope="module")
def unbroken(tmp_path_factory) -> Run:
    """An unbroken run of STEPS steps (in this process: later runs of CFG here reuse
    its compiled programs)."""
    out = str(tmp_path_factory.mktemp("faults") / "unbroken")
    return Run(out, ex.run(CFG, out, target_step=STEPS, **RUN).state)


def _same_as(out: str, ref: Run, steps: int = STEPS) -> None:
    """``out`` holds what the unbroken run ``ref`` holds: the final state bitwise,
    the log, the checkpoints, the evaluation; and no leftovers."""
    assert _equal(
        io.load_checkpoint(io.checkpoint_path(out, steps), ref.state), ref.state
    )
    assert _without_time(io.read_log(out)) == _without_time(io.read_log(ref.out))
    assert [s for s, _ in io.list_checkpoints(out)] == [
        s for s, _ in io.list_checkpoints(ref.out)
    ]
    m = io.read_json(f"{out}/metrics.json")
    r = io.read_json(f"{ref.out}/metrics.json")
    assert {**m, "train_seconds": 0} == {**r, "train_seconds": 0}
    assert io.read_json(f"{out}/config.json") == CFG._asdict()
    names = os.listdir(out)
    assert not [n for n in names if n.endswith(io.TEMP_SUFFIX)], names
    assert io.OWNER_NAME not in names


def _cli(argv, capsys) -> tuple[int, list[str]]:
    """Runs the command in this process: its exit status and stderr lines."""
    code = main(argv)
    return code, capsys.readouterr().err.splitlines()


def test_unbroken_run_files_follow_the_umask(unbroken):
    mask = os.umask(0)
    os.umask(mask)
    for name in ("config.json", "metrics.json", "checkpoint_000000016.msgpack"):
        mode = stat.S_IMODE(os.stat(os.path.join(unbroken.out, name)).st_mode)
        assert mode == 0o666 & ~mask, name


def test_killed_mid_checkpoint_while_a_second_run_is_refused(
    tmp_path, unbroken, capsys
):
    """A real ``gamedyn mnist`` process stops inside its checkpoint write of step 8
    (written to a temporary file, not yet moved into place), holding the directory's
    lock. A second command on the directory is refused with one line naming the
    directory and the holder. Then the first is killed with SIGKILL: its lock is
    taken over, its temporary file removed, and the resumed run equals the
    unbroken run."""
    out = str(tmp_path / "run")
    with _spawn(
        "hold-replace", 8, out, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    ) as p:
        try:
            assert p.stdout.readline() == "holding\n"
            assert [n for n in os.listdir(out) if n.startswith(".tmp_")]
            code, err = _cli(
                ["mnist", "--steps", str(STEPS), "--out", out, *FLAGS], capsys
            )
            assert code == 2 and len(err) == 1, err
            assert err[0].startswith(
                f"gamedyn mnist: error: --out: {out} is in use by another run: "
                f"pid {p.pid} on "
            )
            assert "(gamedyn mnist, since " in err[0]
        finally:
            p.send_signal(signal.SIGKILL)
    assert p.returncode == -signal.SIGKILL
    assert [s for s, _ in io.list_checkpoints(out)] == [4]
    assert [r["step"] for r in io.read_log(out)] == [4, 8]
    code, err = _cli(["mnist", "--steps", str(STEPS), "--out", out, *FLAGS], capsys)
    assert code == 0 and err == []
    _same_as(out, unbroken)


def _copy(unbroken: Run, tmp_path) -> str:
    out = str(tmp_path / "copy")
    shutil.copytree(unbroken.out, out)
    return out


def _flip(path: str) -> None:
    data = bytearray(pathlib.Path(path).read_bytes())
    data[len(data) // 2] ^= 0x40
    pathlib.Path(path).write_bytes(bytes(data))


def test_corrupt_and_truncated_checkpoints_fall_back(tmp_path, unbroken, capsys):
    out = _copy(unbroken, tmp_path)
    argv = ["mnist", "--steps", str(STEPS), "--out", out, *FLAGS]
    ckpt = {s: p for s, p in io.list_checkpoints(out)}
    _flip(ckpt[16])  # one flipped byte in the newest
    code, err = _cli(argv, capsys)
    assert code == 0
    assert err == [
        f"gamedyn mnist: warning: {ckpt[16]}: corrupt checkpoint (its content does "
        "not match its checksum); passed over, resuming from "
        "checkpoint_000000012.msgpack"
    ]
    _same_as(out, unbroken)
    # The newest truncated, the next one corrupt: back to step 8.
    data = pathlib.Path(ckpt[16]).read_bytes()
    pathlib.Path(ckpt[16]).write_bytes(data[: len(data) // 3])
    _flip(ckpt[12])
    code, err = _cli(argv, capsys)
    assert code == 0 and len(err) == 2
    assert "checkpoint_000000016.msgpack: truncated or corrupt checkpoint" in err[0]
    assert all(e.endswith("resuming from checkpoint_000000008.msgpack") for e in err)
    _same_as(out, unbroken)
    # None good: one clear line, nothing changed.
    for path in ckpt.values():
        _flip(path)
    before = {n: pathlib.Path(out, n).read_bytes() for n in os.listdir(out)}
    code, err = _cli(argv, capsys)
    assert code == 2 and len(err) == 1
    assert err[0].startswith(f"gamedyn mnist: error: {out}: no good checkpoint left")
    assert {n: pathlib.Path(out, n).read_bytes() for n in os.listdir(out)} == before


def test_a_full_disk_tears_the_log_and_the_resume_sets_it_aside(
    tmp_path, unbroken, capsys, monkeypatch
):
    """The disk fills while the record of step 12 is appended: half a line is
    written, the command stops with one line naming the log. Once there is space
    again the same command sets the torn line aside and ends as the unbroken run."""
    out = str(tmp_path / "run")
    argv = ["mnist", "--steps", str(STEPS), "--out", out, *FLAGS]

    class Full:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, text):
            self.f.write(text[: len(text) // 2])
            self.f.flush()
            raise OSError(28, "No space left on device")

    def full_at_12(path, mode="r", *args, **kwargs):
        f = open(path, mode, *args, **kwargs)
        full = mode == "a" and path.endswith(io.LOG_NAME) and len(io.read_log(out)) == 2
        return Full(f) if full else f

    monkeypatch.setattr(io, "open", full_at_12, raising=False)
    code, err = _cli(argv, capsys)
    assert code == 2 and len(err) == 1
    assert err[0] == (
        f"gamedyn mnist: error: [Errno 28] cannot append to {out}/metrics.jsonl: No "
        "space left on device"
    )
    monkeypatch.undo()
    torn = pathlib.Path(out, "metrics.jsonl").read_text().splitlines()[-1]
    assert torn.startswith('{"step": 12')
    code, err = _cli(argv, capsys)
    assert code == 0 and len(err) == 1
    assert err[0].startswith(f"gamedyn mnist: warning: {out}/metrics.jsonl: line 3")
    assert "set aside in metrics.jsonl.torn" in err[0]
    assert pathlib.Path(out, "metrics.jsonl.torn").read_text() == torn + "\n"
    _same_as(out, unbroken)


def test_refusals_change_nothing(tmp_path, unbroken, capsys):
    """A smaller --steps, other settings (also when config.json was deleted: they
    are in every checkpoint) and another program's files are refused in one line;
    no file changes. A deleted config.json is written back from the checkpoint."""
    out = _copy(unbroken, tmp_path)
    argv = ["mnist", "--out", out, *FLAGS]

    def files():
        return {n: pathlib.Path(out, n).read_bytes() for n in sorted(os.listdir(out))}

    before = files()
    code, err = _cli([*argv, "--steps", "10"], capsys)
    assert code == 2 and err == [
        f"gamedyn mnist: error: --steps: {out} holds a run that reached step 16, "
        "after step 10; continue it to step 16 or later, or use another directory "
        "(nothing was changed)"
    ]
    config = pathlib.Path(out, "config.json")
    config.unlink()
    code, err = _cli([*argv, "--steps", "20", "--lr", "0.1"], capsys)
    assert code == 2 and len(err) == 1
    assert err[0].startswith(f"gamedyn mnist: error: --out: {out} holds a run with ")
    assert "lr_g=0.0002, this one has lr_g=0.1" in err[0]
    assert not config.exists()
    code, err = _cli([*argv, "--steps", str(STEPS)], capsys)
    assert code == 0 and err == []
    assert files().keys() == before.keys()
    assert io.read_json(str(config)) == CFG._asdict()
    for name, text in (("config.json", '{"lr": 1}'), ("metrics.json", "[1, 2]")):
        other = tmp_path / f"other_{name}"
        other.mkdir()
        (other / name).write_text(text)
        code, err = _cli(["mnist", "--out", str(other), "--steps", "4", *FLAGS], capsys)
        assert code == 2 and len(err) == 1
        assert err[0] == (
            f"gamedyn mnist: error: --out: {other / name} does not hold the settings "
            "of a gamedyn mnist run (another program's file?); use another directory"
        )
        assert sorted(os.listdir(other)) == [".gamedyn.lock", name]
        assert (other / name).read_text() == text


FAULTS = ("replace", "write", "log", "prune", "time")


@pytest.mark.slow
def test_random_sigkills_resume_to_the_unbroken_run(tmp_path):
    """A long run killed with SIGKILL again and again (at random times, and at
    random steps inside a checkpoint write, between a log record and its
    checkpoint, before the pruning), then resumed by the same command until it
    ends: it equals the unbroken run, and nothing is left over."""
    steps, rng = 400, random.Random(os.environ.get("GAMEDYN_FAULT_SEED", 0))
    env = dict(
        os.environ,  # restarts load their programs from a compilation cache
        JAX_COMPILATION_CACHE_DIR=str(tmp_path / "jax_cache"),
        JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
        JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0",
    )
    out, ref = str(tmp_path / "run"), str(tmp_path / "unbroken")
    ref = Run(ref, ex.run(CFG, ref, target_step=steps, **RUN).state)
    kills = 0
    for attempt in range(40):
        kind = rng.choice(FAULTS) if attempt < 12 else "none"
        reached = max([s for s, _ in io.list_checkpoints(out)] + [0])
        where = rng.randrange(reached + 4, steps + 1, 4) if reached < steps else 0
        with _spawn(kind, where, out, steps, env, stderr=subprocess.PIPE) as p:
            if kind == "time":
                time.sleep(rng.uniform(1.0, 8.0))
                p.send_signal(signal.SIGKILL)
            err = p.stderr.read()
        if p.returncode == 0:
            break
        assert p.returncode == -signal.SIGKILL, err
        kills += 1
    assert p.returncode == 0 and kills >= 6
    _same_as(out, ref, steps)


@pytest.mark.slow
def test_two_commands_at_once(tmp_path, unbroken):
    """Two ``gamedyn mnist`` processes started together on one directory: one
    runs, the other stops at once with one line; the result is the unbroken run."""
    out = str(tmp_path / "run")
    procs = [
        _spawn("none", 0, out, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    results = []
    for p in procs:
        with p:
            results.append((p.wait(), p.stderr.read().splitlines()))
    assert sorted(code for code, _ in results) == [0, 2]
    refused = [err for code, err in results if code == 2][0]
    assert len(refused) == 1 and f"--out: {out} is in use by another run" in refused[0]
    _same_as(out, unbroken)
