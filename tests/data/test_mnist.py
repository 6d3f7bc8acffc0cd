"""MNIST loader: the real file, IDX files, corrupt and missing data, downloads."""

import gzip
import hashlib
import os
import shutil
import urllib.error
import urllib.request

import numpy as np
import pytest

from gamedyn.data import load_mnist
from gamedyn.data import mnist as M

SHARED = os.environ.get("GAMEDYN_DATA_DIR", "")
SHARED_NPZ = os.path.join(SHARED, "mnist.npz")
needs_data = pytest.mark.skipif(
    not os.path.isfile(SHARED_NPZ), reason="needs mnist.npz in GAMEDYN_DATA_DIR"
)
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@needs_data
def test_real_file_shapes_dtypes_and_label_counts():
    x, y = load_mnist("train")
    assert x.shape == (60000, 28, 28) and x.dtype == np.uint8
    assert y.shape == (60000,) and y.dtype == np.uint8
    assert y[:5].tolist() == [5, 0, 4, 1, 9]
    xt, yt = load_mnist("test")
    assert xt.shape == (10000, 28, 28) and yt.shape == (10000,)
    assert np.bincount(yt).tolist() == TEST_COUNTS
    assert x.max() == 255 and x.min() == 0
    assert not x.flags.writeable


def test_bad_split():
    with pytest.raises(ValueError, match="split: expected 'train' or 'test'"):
        load_mnist("validation")


def _write_idx(path, arr):
    header = (0x0800 + arr.ndim).to_bytes(4, "big") + b"".join(
        int(s).to_bytes(4, "big") for s in arr.shape
    )
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(header + arr.astype(np.uint8).tobytes())


@needs_data
def test_idx_files_read_like_the_npz(tmp_path, monkeypatch):
    for split, (img_name, lab_name) in M.IDX_FILES.items():
        x, y = load_mnist(split)
        _write_idx(tmp_path / img_name, x)
        _write_idx(tmp_path / lab_name, y)
    monkeypatch.setenv("GAMEDYN_DATA_DIR", str(tmp_path))
    for split in ("train", "test"):
        monkeypatch.setenv("GAMEDYN_DATA_DIR", SHARED)
        ref = load_mnist(split)
        monkeypatch.setenv("GAMEDYN_DATA_DIR", str(tmp_path))
        got = load_mnist(split)
        np.testing.assert_array_equal(got[0], ref[0])
        np.testing.assert_array_equal(got[1], ref[1])


def test_truncated_idx_names_the_file(tmp_path, monkeypatch):
    for names in M.IDX_FILES.values():
        for n in names:
            (tmp_path / n).write_bytes(b"")
    good = np.zeros((10000,), np.uint8)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", good)
    images = tmp_path / "t10k-images-idx3-ubyte.gz"
    _write_idx(images, np.zeros((10000, 28, 28), np.uint8))
    images.write_bytes(images.read_bytes()[:100])  # cut the gzip stream
    monkeypatch.setenv("GAMEDYN_DATA_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.gz: corrupt"):
        load_mnist("test")


def test_idx_with_wrong_count_names_the_file(tmp_path, monkeypatch):
    for names in M.IDX_FILES.values():
        for n in names:
            (tmp_path / n).write_bytes(b"")
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((5, 28, 28), np.uint8))
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros((5,), np.uint8))
    monkeypatch.setenv("GAMEDYN_DATA_DIR", str(tmp_path))
    with pytest.raises(
        ValueError, match=r"t10k-images-idx3-ubyte.gz.*\(10000, 28, 28\)"
    ):
        load_mnist("test")


@needs_data
def test_truncated_npz_names_the_file(tmp_path, monkeypatch):
    from pathlib import Path

    data = Path(SHARED_NPZ).read_bytes()
    (tmp_path / "mnist.npz").write_bytes(data[: len(data) // 2])
    monkeypatch.setenv("GAMEDYN_DATA_DIR", str(tmp_path))
    with pytest.raises(ValueError, match=r"mnist.npz: corrupt or truncated"):
        load_mnist("test")


def test_npz_with_wrong_keys_names_the_file(tmp_path, monkeypatch):
    np.savez(tmp_path / "mnist.npz", images=np.zeros(3))
    monkeypatch.setenv("GAMEDYN_DATA_DIR", str(tmp_path))
    with pytest.raises(ValueError, match=r"mnist.npz.*x_test"):
        load_mnist("test")


@needs_data
def test_sha256sums_mismatch_is_reported(tmp_path, monkeypatch):
    shutil.copy(SHARED_NPZ, tmp_path / "mnist.npz")
    (tmp_path / "SHA256SUMS").write_text("0" * 64 + "  mnist.npz\n")
    monkeypatch.setenv("GAMEDYN_DATA_DIR", str(tmp_path))
    with pytest.raises(ValueError, match=r"mnist.npz.*SHA-256 differs"):
        load_mnist("test")


def test_offline_error_says_where_to_put_the_file(tmp_path, monkeypatch):
    def offline(url, *a, **k):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    target = tmp_path / "cache"
    monkeypatch.setenv("GAMEDYN_DATA_DIR", str(target))
    with pytest.raises(FileNotFoundError, match=r"Put the Keras file mnist.npz") as e:
        load_mnist("train")
    assert str(target) in str(e.value) and "GAMEDYN_DATA_DIR" in str(e.value)
    assert os.listdir(target) == []  # nothing half-written
    with pytest.raises(FileNotFoundError, match="download=False"):
        load_mnist("train", download=False)


def test_cache_dir_default_and_override(monkeypatch, tmp_path):
    monkeypatch.delenv("GAMEDYN_DATA_DIR", raising=False)
    monkeypatch.setenv("GAMEDYN_CACHE_DIR", str(tmp_path))
    assert M.data_dir() == os.path.join(str(tmp_path), "data")
    monkeypatch.delenv("GAMEDYN_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert M.cache_dir() == str(tmp_path / "xdg" / "gamedyn")


@needs_data
def test_download_from_a_file_url_is_checked_and_atomic(tmp_path, monkeypatch):
    served = tmp_path / "served"
    served.mkdir()
    shutil.copy(SHARED_NPZ, served / "mnist.npz")
    digest = hashlib.sha256((served / "mnist.npz").read_bytes()).hexdigest()
    target = tmp_path / "cache"
    monkeypatch.setenv("GAMEDYN_DATA_DIR", str(target))
    monkeypatch.setattr(M, "NPZ_URLS", ((served / "mnist.npz").as_uri(),))
    # A wrong checksum: refused, and the IDX mirrors (absent here) fail too.
    monkeypatch.setattr(M, "NPZ_SHA256", "f" * 64)
    monkeypatch.setattr(M, "IDX_MIRRORS", ((served / "nothing").as_uri() + "/",))
    with pytest.raises(FileNotFoundError, match="SHA-256 mismatch"):
        load_mnist("test")
    assert os.listdir(target) == []
    # The right checksum: downloaded into the data directory and read.
    monkeypatch.setattr(M, "NPZ_SHA256", digest)
    x, y = load_mnist("test")
    assert sorted(os.listdir(target)) == ["mnist.npz"]
    assert x.shape == (10000, 28, 28) and np.bincount(y).tolist() == TEST_COUNTS


def test_interrupted_download_leaves_nothing(tmp_path, monkeypatch):
    class Broken:
        def __init__(self):
            self.calls = 0

        def read(self, n):
            self.calls += 1
            if self.calls > 1:
                raise ConnectionResetError("connection lost")
            return b"x" * 10

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout=None: Broken())
    dest = tmp_path / "mnist.npz"
    with pytest.raises(OSError, match="connection lost"):
        M._download(("http://example.invalid/mnist.npz",), str(dest), "0" * 64)
    assert os.listdir(tmp_path) == []
