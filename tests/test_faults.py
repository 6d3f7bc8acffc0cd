"""Fault injection on ``gamedyn mnist``: runs killed with SIGKILL (mid-checkpoint and
at random points), corrupt and truncated checkpoints, two processes on one
directory, a full disk. Every run ends exactly where an unbroken run ends, nothing
is lost, and every refusal is one line.

The kills are real: a ``python -m gamedyn mnist`` process (:data:`SCRIPT`) kills
itself with SIGKILL at a chosen point of the real code path, or the test kills it at
a random time. The default suite has one such process; the randomised loop is
``slow``. The other faults are injected into runs of
:func:`gamedyn.experiments.mnist.run` in this process (they share its compiled
programs); tests/cli/test_cli_mnist.py shows how the command prints them.
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
from gamedyn.experiments import mnist as ex

pytestmark = pytest.mark.skipif(
    not os.path.isfile(
        os.path.join(os.environ.get("GAMEDYN_DATA_DIR", ""), "mnist.npz")
    ),
    reason="needs mnist.npz in GAMEDYN_DATA_DIR",
)

# The plain GAN (no R1, no average): these tests are about faults, and every killed
# process compiles anew; the defaults' resume is tested in test_experiments_mnist.
CFG = ex.Config(
    width=8, latent_dim=4, batch_size=16, train_size=256, regularizer="none", ema=0.0
)
FLAGS = [
    "--width", "8", "--latent-dim", "4", "--batch-size", "16", "--train-size", "256",
    "--regularizer", "none", "--ema", "0",
    "--chunk", "4", "--checkpoint-every", "4", "--keep", "3", "--fid-samples", "0",
    "--no-progress", "--no-plots",
]  # fmt: skip
RUN = dict(chunk=4, checkpoint_every=4, keep=3, fid_samples=0)
STEPS = 16

SCRIPT = r"""
import os, runpy, signal, sys
from gamedyn import io

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
sys.argv = ["gamedyn", *sys.argv[3:]]
runpy.run_module("gamedyn", run_name="__main__")  # python -m gamedyn ...
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


def test_unbroken_run_files_follow_the_umask(unbroken):
    mask = os.umask(0)
    os.umask(mask)
    for name in ("config.json", "metrics.json", "checkpoint_000000016.msgpack"):
        mode = stat.S_IMODE(os.stat(os.path.join(unbroken.out, name)).st_mode)
        assert mode == 0o666 & ~mask, name


def _command(out: str, steps: int = STEPS) -> list[str]:
    return [sys.executable, "-m", "gamedyn", "mnist", "--steps", str(steps), "--out",
            out, *FLAGS]  # fmt: skip


def test_killed_mid_checkpoint_while_a_second_command_is_refused(tmp_path, unbroken):
    """A real ``gamedyn mnist`` process stops inside its checkpoint write of step 8
    (written to a temporary file, not yet moved into place), holding the directory's
    lock. A second command on the directory stops at once with one line naming the
    directory and the holder. Then the first is killed with SIGKILL: its lock is
    taken over, its temporary file removed, and the resumed run equals the
    unbroken run."""
    out = str(tmp_path / "run")
    hold = _spawn("hold-replace", 8, out, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    with hold:
        try:
            assert hold.stdout.readline() == "holding\n"
            assert [n for n in os.listdir(out) if n.startswith(".tmp_")]
            second = subprocess.run(
                _command(out), capture_output=True, text=True, timeout=300
            )
            assert second.returncode == 2 and second.stdout == ""
            assert second.stderr.startswith(
                f"gamedyn mnist: error: --out: {out} is in use by another run: "
                f"pid {hold.pid} on "
            )
            assert "(gamedyn mnist, since " in second.stderr
            assert len(second.stderr.splitlines()) == 1
            with pytest.raises(io.DirectoryLockedError, match="out_dir: .* in use"):
                ex.run(CFG, out, target_step=STEPS, **RUN)
        finally:
            hold.send_signal(signal.SIGKILL)
    assert hold.returncode == -signal.SIGKILL
    assert [s for s, _ in io.list_checkpoints(out)] == [4]
    assert [r["step"] for r in io.read_log(out)] == [4, 8]
    ex.run(CFG, out, target_step=STEPS, **RUN)
    _same_as(out, unbroken)


def _copy(unbroken: Run, tmp_path) -> str:
    out = str(tmp_path / "copy")
    shutil.copytree(unbroken.out, out)
    return out


def _flip(path: str) -> None:
    data = bytearray(pathlib.Path(path).read_bytes())
    data[len(data) // 2] ^= 0x40
    pathlib.Path(path).write_bytes(bytes(data))


def test_corrupt_and_truncated_checkpoints_fall_back(tmp_path, unbroken):
    out = _copy(unbroken, tmp_path)
    ckpt = {s: p for s, p in io.list_checkpoints(out)}
    _flip(ckpt[16])  # one flipped byte in the newest
    with pytest.warns(io.RunWarning) as warned:
        r = ex.run(CFG, out, target_step=STEPS, **RUN)
    assert [str(w.message) for w in warned] == [
        f"{ckpt[16]}: corrupt checkpoint (its content does not match its checksum); "
        "passed over, resuming from checkpoint_000000012.msgpack"
    ]
    assert r.resumed_from == 12
    _same_as(out, unbroken)
    # The newest truncated, the next one corrupt: back to step 8.
    data = pathlib.Path(ckpt[16]).read_bytes()
    pathlib.Path(ckpt[16]).write_bytes(data[: len(data) // 3])
    _flip(ckpt[12])
    with pytest.warns(io.RunWarning) as warned:
        assert ex.run(CFG, out, target_step=STEPS, **RUN).resumed_from == 8
    messages = [str(w.message) for w in warned]
    assert len(messages) == 2
    assert "checkpoint_000000016.msgpack: truncated or corrupt" in messages[0]
    assert all(
        m.endswith("resuming from checkpoint_000000008.msgpack") for m in messages
    )
    _same_as(out, unbroken)
    # None good: a clear error, and nothing changed.
    for path in ckpt.values():
        _flip(path)
    before = {n: pathlib.Path(out, n).read_bytes() for n in os.listdir(out)}
    with pytest.raises(io.CorruptCheckpointError, match=f"{out}: no good checkpoint"):
        ex.run(CFG, out, target_step=STEPS, **RUN)
    assert {n: pathlib.Path(out, n).read_bytes() for n in os.listdir(out)} == before


class _Full:
    """A file on a full disk: a write stores half of its text, then fails."""

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


def test_a_full_disk_tears_the_log_and_the_resume_sets_it_aside(
    tmp_path, unbroken, monkeypatch
):
    """The disk fills while the record of step 12 is appended: half a line is
    written and the run stops with an OSError naming the log. Once there is space
    again the same run sets the torn line aside and ends as the unbroken run."""
    out = str(tmp_path / "run")

    def full_at_12(path, mode="r", *args, **kwargs):
        at_12 = (
            mode == "a" and path.endswith(io.LOG_NAME) and len(io.read_log(out)) == 2
        )
        f = open(path, mode, *args, **kwargs)
        return _Full(f) if at_12 else f

    monkeypatch.setattr(io, "open", full_at_12, raising=False)
    with pytest.raises(OSError) as e:
        ex.run(CFG, out, target_step=STEPS, **RUN)
    assert str(e.value) == (
        f"[Errno 28] cannot append to {out}/metrics.jsonl: No space left on device"
    )
    monkeypatch.undo()
    torn = pathlib.Path(out, "metrics.jsonl").read_text().splitlines()[-1]
    assert torn.startswith('{"step": 12')
    with pytest.warns(io.RunWarning) as warned:
        ex.run(CFG, out, target_step=STEPS, **RUN)
    assert [str(w.message) for w in warned] == [
        f"{out}/metrics.jsonl: line 3 was torn or corrupt (an interrupted write?); "
        "set aside in metrics.jsonl.torn, the log goes on"
    ]
    assert pathlib.Path(out, "metrics.jsonl.torn").read_text() == torn + "\n"
    _same_as(out, unbroken)


def test_refusals_change_nothing(tmp_path, unbroken):
    """A smaller target, other settings (also when config.json was deleted: they
    are in every checkpoint) and another program's files are refused; no file
    changes. A deleted config.json is written back from the checkpoint."""
    out = _copy(unbroken, tmp_path)

    def files():
        return {n: pathlib.Path(out, n).read_bytes() for n in sorted(os.listdir(out))}

    before = files()
    with pytest.raises(ValueError) as e:
        ex.run(CFG, out, target_step=10, **RUN)
    assert str(e.value) == (
        f"target_step: {out} holds a run that reached step 16, after step 10; "
        "continue it to step 16 or later, or use another directory (nothing was "
        "changed)"
    )
    assert files() == before
    config = pathlib.Path(out, "config.json")
    config.unlink()
    with pytest.raises(ValueError, match="lr_g=0.0005, this one has lr_g=0.1"):
        ex.run(CFG._replace(lr_g=0.1), out, target_step=20, **RUN)
    assert not config.exists()
    ex.run(CFG, out, target_step=STEPS, **RUN)
    assert files().keys() == before.keys()
    assert io.read_json(str(config)) == CFG._asdict()
    for name, text in (("config.json", '{"lr": 1}'), ("metrics.json", "[1, 2]")):
        other = tmp_path / f"other_{name}"
        other.mkdir()
        (other / name).write_text(text)
        with pytest.raises(ValueError) as e:
            ex.run(CFG, str(other), target_step=4, **RUN)
        assert str(e.value) == (
            f"out_dir: {other / name} does not hold the settings of a gamedyn mnist "
            "run (another program's file?); use another directory"
        )
        assert sorted(os.listdir(other)) == [io.LOCK_NAME, name]
        assert (other / name).read_text() == text


FAULTS = ("replace", "write", "log", "prune", "time")


@pytest.mark.slow
def test_random_sigkills_resume_to_the_unbroken_run(tmp_path):
    """A long run killed with SIGKILL again and again (at random times, and at
    random steps inside a checkpoint write, between a log record and its
    checkpoint, before the pruning), then resumed by the same command until it
    ends: it equals the unbroken run, and nothing is left over."""
    steps, rng = 2000, random.Random(os.environ.get("GAMEDYN_FAULT_SEED", 0))
    env = dict(
        os.environ,  # restarts load their programs from a compilation cache
        JAX_COMPILATION_CACHE_DIR=str(tmp_path / "jax_cache"),
        JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
        JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0",
    )
    out, ref = str(tmp_path / "run"), str(tmp_path / "unbroken")
    ref = Run(ref, ex.run(CFG, ref, target_step=steps, **RUN).state)
    history = []
    for attempt in range(40):
        reached = max([s for s, _ in io.list_checkpoints(out)] + [0])
        kind = rng.choice(FAULTS) if attempt < 12 and reached < steps - 8 else "none"
        where = min(reached + 4 * rng.randint(1, 60), steps)
        with _spawn(kind, where, out, steps, env, stderr=subprocess.PIPE) as p:
            if kind == "time":
                time.sleep(rng.uniform(0.5, 6.0))
                p.send_signal(signal.SIGKILL)
            err = p.stderr.read()
        history.append((kind, where, reached, p.returncode))
        if p.returncode == 0:
            break
        assert p.returncode == -signal.SIGKILL, (history, err)
    kills = sum(code == -signal.SIGKILL for *_, code in history)
    assert p.returncode == 0 and kills >= 8, history
    _same_as(out, ref, steps)


@pytest.mark.slow
def test_two_commands_at_once(tmp_path, unbroken):
    """Two ``gamedyn mnist`` processes started together on one directory: one
    runs, the other stops at once with one line; the result is the unbroken run."""
    out = str(tmp_path / "run")
    procs = [
        subprocess.Popen(_command(out), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    results = []
    for p in procs:
        with p:
            out_text, err = p.communicate(timeout=600)
            results.append((p.returncode, err.decode().splitlines()))
    assert sorted(code for code, _ in results) == [0, 2]
    refused = [err for code, err in results if code == 2][0]
    assert len(refused) == 1 and f"--out: {out} is in use by another run" in refused[0]
    _same_as(out, unbroken)
