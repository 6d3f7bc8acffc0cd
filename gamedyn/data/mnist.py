"""MNIST: reading the Keras `mnist.npz` or the IDX files, with a checked download.

The data are looked up in one directory: `$GAMEDYN_DATA_DIR` when set, else
`<cache>/data` with `<cache>` from `cache_dir`. In it, `mnist.npz`
(keys `x_train, y_train, x_test, y_test`, as Keras ships it) is read first, then the
four standard IDX files (`train-images-idx3-ubyte.gz` ...). When neither is there
the files are downloaded into the directory from the standard mirrors, their SHA-256
checked, and written atomically (a temporary file, then `os.replace`): a failed or
corrupt download leaves nothing behind. A local file is checked for its shapes and
dtypes, and against the directory's `SHA256SUMS` when that lists it.

References:
  LeCun, Cortes, Burges, The MNIST database of handwritten digits.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import urllib.request
import zipfile

import numpy as np

NPZ_NAME = "mnist.npz"
NPZ_URLS = ("https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",)
NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"

IDX_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
IDX_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
IDX_SHA256 = {
    "train-images-idx3-ubyte.gz": (
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"
    ),
    "train-labels-idx1-ubyte.gz": (
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"
    ),
    "t10k-images-idx3-ubyte.gz": (
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"
    ),
}
SIZES = {"train": 60000, "test": 10000}

_CACHE: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}


def cache_dir() -> str:
    """The per-user cache folder of gamedyn (data, trained classifier).

    `$GAMEDYN_CACHE_DIR` when set, else `$XDG_CACHE_HOME/gamedyn` (default
    `~/.cache/gamedyn`). Not created here.
    """
    if os.environ.get("GAMEDYN_CACHE_DIR"):
        return os.path.abspath(os.environ["GAMEDYN_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache"
    )
    return os.path.join(base, "gamedyn")


def data_dir() -> str:
    """Where MNIST is read from: `$GAMEDYN_DATA_DIR`, else `<cache>/data`."""
    if os.environ.get("GAMEDYN_DATA_DIR"):
        return os.path.abspath(os.environ["GAMEDYN_DATA_DIR"])
    return os.path.join(cache_dir(), "data")


def sha256(path: str) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _listed_sha256(directory: str, name: str) -> str | None:
    """The checksum of `name` in `directory/SHA256SUMS` (`sha256sum` format)."""
    path = os.path.join(directory, "SHA256SUMS")
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2 and parts[1].lstrip("*") == name:
                return parts[0].lower()
    return None


def _corrupt(path: str, why: str) -> ValueError:
    return ValueError(
        f"{path}: corrupt or truncated MNIST file ({why}); delete it to download it "
        "again, or replace it with a good copy"
    )


def _check_arrays(path: str, split: str, x: np.ndarray, y: np.ndarray):
    n = SIZES[split]
    if x.shape != (n, 28, 28) or y.shape != (n,):
        raise _corrupt(
            path,
            f"{split} images/labels have shapes {x.shape}/{y.shape}, expected "
            f"({n}, 28, 28)/({n},)",
        )
    if x.dtype != np.uint8 or not np.issubdtype(y.dtype, np.integer):
        raise _corrupt(path, f"dtypes {x.dtype}/{y.dtype}, expected uint8/integers")
    if y.min() < 0 or y.max() > 9:
        raise _corrupt(path, "labels outside 0..9")
    return x, y.astype(np.uint8)


def _read_npz(path: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    suffix = "train" if split == "train" else "test"
    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as f:
            x, y = f[f"x_{suffix}"], f[f"y_{suffix}"]
    except KeyError as e:
        raise _corrupt(
            path, f"missing array {e}; expected Keras keys x_{suffix}, y_{suffix}"
        ) from e
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise _corrupt(path, f"{type(e).__name__}: {e}") from e
    return _check_arrays(path, split, x, y)


def _read_idx(path: str, ndim: int) -> np.ndarray:
    """Reads a gzipped IDX file of unsigned bytes with `ndim` dimensions."""
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as e:
        raise _corrupt(path, f"{type(e).__name__}: {e}") from e
    header = 4 + 4 * ndim
    if len(data) < header:
        raise _corrupt(path, "shorter than its IDX header")
    magic = int.from_bytes(data[:4], "big")
    if magic != 0x0800 + ndim:
        raise _corrupt(path, f"IDX magic number {magic:#x}, expected {0x800 + ndim:#x}")
    shape = tuple(
        int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)
    )
    size = int(np.prod(shape))
    if len(data) != header + size:
        raise _corrupt(path, f"{len(data) - header} data bytes, expected {size}")
    return np.frombuffer(data, np.uint8, offset=header).reshape(shape)


def _verify_listed(directory: str, name: str) -> None:
    expected = _listed_sha256(directory, name)
    path = os.path.join(directory, name)
    if expected is not None and sha256(path) != expected:
        raise _corrupt(path, f"SHA-256 differs from the one in {directory}/SHA256SUMS")


def _download(urls: tuple[str, ...], dest: str, expected_sha256: str) -> None:
    """Downloads the first working URL to `dest`, atomically and checksummed.

    Raises:
      OSError: if no URL gives the file with the expected checksum; `dest` is then
        left untouched and no partial file stays behind.
    """
    errors = []
    directory = os.path.dirname(dest)
    for url in urls:
        fd, tmp = tempfile.mkstemp(
            dir=directory, prefix=f".{os.path.basename(dest)}.", suffix=".part"
        )
        try:
            h = hashlib.sha256()
            with (
                os.fdopen(fd, "wb") as out,
                urllib.request.urlopen(url, timeout=60) as response,
            ):
                for block in iter(lambda r=response: r.read(1 << 20), b""):
                    h.update(block)
                    out.write(block)
            if h.hexdigest() != expected_sha256:
                raise OSError(
                    f"SHA-256 mismatch: got {h.hexdigest()}, expected {expected_sha256}"
                )
            os.replace(tmp, dest)
            return
        except Exception as e:  # noqa: BLE001 - any failure tries the next mirror
            errors.append(f"{url}: {type(e).__name__}: {e}")
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    raise OSError("; ".join(errors))


def _fetch(directory: str) -> None:
    """Downloads `mnist.npz`, else the four IDX files, into `directory`."""
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as e:
        raise _missing(directory, f"cannot create the directory: {e}") from e
    errors = []
    try:
        _download(NPZ_URLS, os.path.join(directory, NPZ_NAME), NPZ_SHA256)
        return
    except OSError as e:
        errors.append(str(e))
    try:
        for names in IDX_FILES.values():
            for name in names:
                dest = os.path.join(directory, name)
                if not os.path.isfile(dest):
                    urls = tuple(m + name for m in IDX_MIRRORS)
                    _download(urls, dest, IDX_SHA256[name])
        return
    except OSError as e:
        errors.append(str(e))
    raise _missing(directory, "the download failed: " + " | ".join(errors))


def _missing(directory: str, why: str) -> FileNotFoundError:
    return FileNotFoundError(
        f"MNIST not found in {directory} and {why}. Put the Keras file {NPZ_NAME} "
        f"(arrays x_train, y_train, x_test, y_test) or the four IDX files "
        f"({', '.join(n for v in IDX_FILES.values() for n in v)}) in {directory}, or "
        "set GAMEDYN_DATA_DIR to a directory that holds them"
    )


def _present(directory: str) -> str | None:
    if os.path.isfile(os.path.join(directory, NPZ_NAME)):
        return "npz"
    names = [n for v in IDX_FILES.values() for n in v]
    if all(os.path.isfile(os.path.join(directory, n)) for n in names):
        return "idx"
    return None


def load_mnist(split: str, *, download: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The MNIST images and labels of one split.

    Args:
      split: `"train"` (60,000 images) or `"test"` (10,000 images).
      download: fetch the files when they are not in `data_dir` (default).

    Returns:
      `(images, labels)`: uint8 arrays of shapes `(N, 28, 28)` (pixel values
      0..255) and `(N,)` (digits 0..9). They are read-only views of a cache kept
      for the process: copy before writing.

    Raises:
      ValueError: for an unknown `split`, or a corrupt file (the message names it).
      FileNotFoundError: when the data are absent and cannot be downloaded; the message
        says where to put them.
    """
    if split not in SIZES:
        raise ValueError(f"split: expected 'train' or 'test', got {split!r}")
    directory = data_dir()
    kind = _present(directory)
    if kind is None:
        if not download:
            raise _missing(directory, "download=False")
        _fetch(directory)
        kind = _present(directory)
    if kind == "npz":
        paths = (os.path.join(directory, NPZ_NAME),)
    else:
        paths = tuple(os.path.join(directory, n) for n in IDX_FILES[split])
    stamp = tuple((p, os.stat(p).st_mtime_ns, os.stat(p).st_size) for p in paths)
    cache_key = (split, stamp)
    if cache_key in _CACHE:
        return _CACHE[cache_key]
    for p in paths:
        _verify_listed(directory, os.path.basename(p))
    if kind == "npz":
        x, y = _read_npz(paths[0], split)
    else:
        x = _read_idx(paths[0], 3)
        y = _read_idx(paths[1], 1)
        _check_arrays(paths[0], split, x, y)
    x, y = np.ascontiguousarray(x), np.ascontiguousarray(y)
    x.setflags(write=False)
    y.setflags(write=False)
    _CACHE[cache_key] = (x, y)
    return x, y
