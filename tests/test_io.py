"""gamedyn.io: directory locks, atomic writes with the umask, verified checkpoints
with fallback, logs that survive torn lines, strict JSON."""

import json
import os
import pathlib
import signal
import stat
import subprocess
import sys
import warnings
from typing import NamedTuple

import numpy as np
import pytest

from gamedyn import io


class Ckpt(NamedTuple):
    """A small state with a ``step``, as save_checkpoint wants."""

    step: np.ndarray
    w: np.ndarray


def _ckpt(step: int, value: float = 1.0) -> Ckpt:
    return Ckpt(np.int32(step), np.full((3, 4), value, np.float32))


# --- atomic writes -------------------------------------------------------------------


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_atomic_write_follows_the_umask_and_leaves_no_temporary(tmp_path, mask):
    old = os.umask(mask)
    try:
        io.atomic_write(str(tmp_path / "a.json"), "{}")
        io.save_checkpoint(str(tmp_path), _ckpt(3))
    finally:
        os.umask(old)
    for name in ("a.json", "checkpoint_000000003.msgpack"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o666 & ~mask, name
    assert sorted(os.listdir(tmp_path)) == ["a.json", "checkpoint_000000003.msgpack"]


def test_a_failed_write_names_the_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    path = str(tmp_path / "x.json")
    io.atomic_write(path, "old")

    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError, match=r"cannot write .*x.json: No space left"):
        io.atomic_write(path, "new")
    assert pathlib.Path(path).read_text() == "old"
    assert os.listdir(tmp_path) == ["x.json"]


# --- locks ---------------------------------------------------------------------------

HOLDER = """
import sys
from gamedyn import io
with io.lock_directory(sys.argv[1], command="holder test"):
    print("locked", flush=True)
    sys.stdin.read()
"""


def test_lock_refuses_a_second_process_and_is_taken_over_when_it_dies(tmp_path):
    d = str(tmp_path / "run")
    os.makedirs(d)
    (tmp_path / "run" / ".tmp_abc.part").write_bytes(b"torn")  # a killed writer's
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, d],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        try:
            assert holder.stdout.readline() == "locked\n"
            assert not os.path.exists(os.path.join(d, ".tmp_abc.part"))  # cleaned
            with pytest.raises(io.DirectoryLockedError) as e:
                with io.lock_directory(d, name="--out"):
                    pytest.fail("entered a locked directory")
        finally:
            os.kill(holder.pid, signal.SIGKILL)  # a stale lock: its process is dead
    message = str(e.value)
    assert isinstance(e.value, OSError) and "\n" not in message
    assert message.startswith(f"--out: {d} is in use by another run: pid ")
    assert f"pid {holder.pid} on " in message and "(holder test, since " in message
    with io.lock_directory(d) as locked:
        assert locked == d
        with io.lock_directory(d):  # reentrant in one process
            pass
        owner = json.loads(pathlib.Path(d, io.OWNER_NAME).read_text())
        assert owner["pid"] == os.getpid()
    assert not os.path.exists(os.path.join(d, io.OWNER_NAME))  # released


def test_remove_temporary(tmp_path):
    for name in (".tmp_1.part", ".tmp_2.part", "keep.part", ".tmp_3.json"):
        (tmp_path / name).write_text("x")
    removed = io.remove_temporary(str(tmp_path))
    assert sorted(os.path.basename(p) for p in removed) == [
        ".tmp_1.part",
        ".tmp_2.part",
    ]
    assert sorted(os.listdir(tmp_path)) == [".tmp_3.json", "keep.part"]


# --- checkpoints ---------------------------------------------------------------------


def test_checkpoints_round_trip_with_metadata_and_pruning(tmp_path):
    d = str(tmp_path)
    for step in (1, 2, 3):
        path = io.save_checkpoint(d, _ckpt(step, step), 2, {"config": {"lr": 0.1}})
    assert path == os.path.join(d, "checkpoint_000000003.msgpack")
    assert [s for s, _ in io.list_checkpoints(d)] == [2, 3]
    restored = io.load_checkpoint(path, _ckpt(0))
    assert isinstance(restored, Ckpt) and int(restored.step) == 3
    np.testing.assert_array_equal(restored.w, np.full((3, 4), 3.0))
    assert io.checkpoint_metadata(path) == {"config": {"lr": 0.1}}
    assert io.newest_good_checkpoint(d) == (3, path, {"config": {"lr": 0.1}})
    assert io.newest_good_checkpoint(d, max_step=2)[0] == 2
    assert io.newest_good_checkpoint(str(tmp_path / "none")) is None


def test_a_flipped_byte_anywhere_is_detected(tmp_path):
    """Every single-bit flip of every byte of a checkpoint is refused, never
    loaded silently."""
    path = pathlib.Path(io.save_checkpoint(str(tmp_path), _ckpt(5), metadata={"a": 1}))
    good = path.read_bytes()
    for i in range(len(good)):
        path.write_bytes(good[:i] + bytes([good[i] ^ 0x01]) + good[i + 1 :])
        with pytest.raises(io.CorruptCheckpointError, match="checkpoint_000000005"):
            io.load_checkpoint(str(path), _ckpt(0))
    path.write_bytes(good)
    assert io.checkpoint_metadata(str(path)) == {"a": 1}


def test_a_truncated_or_foreign_file_is_corrupt(tmp_path):
    path = io.save_checkpoint(str(tmp_path), _ckpt(5))
    data = pathlib.Path(path).read_bytes()
    for cut in (0, 10, len(data) // 2, len(data) - 1):
        pathlib.Path(path).write_bytes(data[:cut])
        with pytest.raises(io.CorruptCheckpointError, match="truncated or corrupt"):
            io.load_checkpoint(path, _ckpt(0))
    import flax.serialization

    pathlib.Path(path).write_bytes(
        flax.serialization.to_bytes(_ckpt(5))
    )  # gamedyn < 0.3
    with pytest.raises(io.CorruptCheckpointError, match="not a gamedyn checkpoint"):
        io.load_checkpoint(path, _ckpt(0))


def test_a_checkpoint_of_another_structure_is_refused(tmp_path):
    path = io.save_checkpoint(str(tmp_path), _ckpt(5))
    other = _ckpt(0)._replace(w=np.zeros((2,), np.float32))
    with pytest.raises(ValueError, match="written with different settings") as e:
        io.load_checkpoint(path, other)
    assert not isinstance(e.value, io.CorruptCheckpointError)


def _flip(path, where):
    data = bytearray(pathlib.Path(path).read_bytes())
    data[int(where * (len(data) - 1))] ^= 0x01
    pathlib.Path(path).write_bytes(bytes(data))


def test_the_newest_good_checkpoint_is_found_past_corrupt_ones(tmp_path):
    d = str(tmp_path)
    paths = [io.save_checkpoint(d, _ckpt(s), metadata=s) for s in (10, 20, 30)]
    _flip(paths[2], 0.5)
    second = pathlib.Path(paths[1])
    second.write_bytes(second.read_bytes()[:100])
    with pytest.warns(io.RunWarning) as record:
        step, path, meta = io.newest_good_checkpoint(d)
    assert (step, path, meta) == (10, paths[0], 10)
    messages = [str(w.message) for w in record]
    assert len(messages) == 2
    assert "checkpoint_000000030.msgpack: corrupt checkpoint" in messages[0]
    assert "checkpoint_000000020.msgpack: truncated or corrupt" in messages[1]
    assert all("resuming from checkpoint_000000010.msgpack" in m for m in messages)
    _flip(paths[0], 0.5)
    with pytest.raises(io.CorruptCheckpointError, match="no good checkpoint left"):
        io.newest_good_checkpoint(d)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert io.newest_good_checkpoint(d, max_step=5) is None


# --- the log -----------------------------------------------------------------------


def test_a_torn_last_line_is_set_aside_and_the_log_goes_on(tmp_path):
    d = str(tmp_path)
    io.append_log(d, {"step": 1, "x": 1.0})
    io.append_log(d, {"step": 2, "x": float("nan")})  # strict JSON: null
    log = tmp_path / io.LOG_NAME
    with open(log, "a") as f:
        f.write('{"step": 3, "x": 0.')  # a full disk cut the write short
    assert io.read_log(d) == [{"step": 1, "x": 1.0}, {"step": 2, "x": None}]
    with pytest.warns(io.RunWarning, match=r"metrics.jsonl: line 3 was torn"):
        io.append_log(d, {"step": 3, "x": 3.0})  # repairs first
    assert [r["step"] for r in io.read_log(d)] == [1, 2, 3]
    assert (tmp_path / "metrics.jsonl.torn").read_text() == '{"step": 3, "x": 0.\n'
    for line in log.read_text().splitlines():
        json.loads(line, parse_constant=lambda c: pytest.fail(c))


def test_a_corrupt_middle_line_is_named_and_set_aside(tmp_path):
    d = str(tmp_path)
    (tmp_path / io.LOG_NAME).write_text('{"step": 1}\n{"st\x00\n{"step": 2}\n[]\n')
    with pytest.raises(ValueError, match=r"metrics.jsonl: line 2 is not a JSON record"):
        io.read_log(d)
    with pytest.warns(io.RunWarning, match="line 2, 4 was torn or corrupt"):
        assert len(io.repair_log(d)) == 2
    assert io.read_log(d) == [{"step": 1}, {"step": 2}]
    assert io.repair_log(d) == []
    io.truncate_log(d, 1)
    assert io.read_log(d) == [{"step": 1}]


def test_a_full_disk_while_appending_names_the_log(tmp_path, monkeypatch):
    d = str(tmp_path)
    io.append_log(d, {"step": 1})

    class Full:
        def __init__(self, f):
            self.f = f

        def write(self, text):
            self.f.write(text[: len(text) // 2])
            self.f.flush()
            raise OSError(28, "No space left on device")

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    def fake_open(path, mode="r", *args, **kwargs):
        f = open(path, mode, *args, **kwargs)
        return Full(f) if mode == "a" else f

    monkeypatch.setattr(io, "open", fake_open, raising=False)
    with pytest.raises(OSError, match=r"cannot append to .*metrics.jsonl: No space"):
        io.append_log(d, {"step": 2, "loss": 0.5})
    monkeypatch.undo()
    assert io.read_log(d) == [{"step": 1}]  # the torn half line is left out
    with pytest.warns(io.RunWarning, match="set aside"):
        io.repair_log(d)


def test_json_helpers(tmp_path):
    path = str(tmp_path / "m.json")
    io.write_json(path, {"a": np.float32(np.inf), "b": np.arange(2), "c": (1, None)})
    assert io.read_json(path) == {"a": None, "b": [0, 1], "c": [1, None]}
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(ValueError, match=r"bad.json: not a JSON file"):
        io.read_json(str(tmp_path / "bad.json"))
