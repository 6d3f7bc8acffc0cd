"""Runs the ```python blocks of README.md and docs/*.md as written.

Each file's blocks run in order in one namespace per file (a fresh one per file), in
a temporary working directory, with ``MPLBACKEND=Agg`` and ``GAMEDYN_SMOKE=1``. A test
is one block, named by file and block index; a traceback points at the Markdown
file's own lines. Blocks that are not meant to run are fenced as ``text`` (or any
other language than python).
"""

from __future__ import annotations

import dataclasses
import pathlib
import re
import sys
import traceback
from typing import Any, NamedTuple

import jax
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PYTHON = ("python", "py", "python3")
_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^\n]*)$")


class Block(NamedTuple):
    """A fenced code block: its language, first line (1-based) and source."""

    lang: str
    line: int
    source: str


def fenced_blocks(text: str) -> list[Block]:
    """Every fenced code block of a CommonMark text, in order."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if m is None or (m["fence"][0] == "`" and "`" in m["info"]):
            i += 1
            continue
        indent, fence = len(m["indent"]), m["fence"]
        lang = (m["info"].split() or [""])[0].lower()
        body, j = [], i + 1
        while j < len(lines):
            close = _FENCE.match(lines[j])
            if (
                close is not None
                and close["fence"][0] == fence[0]
                and len(close["fence"]) >= len(fence)
                and not close["info"].strip()
            ):
                break
            line = lines[j]
            strip = len(line) - len(line.lstrip(" "))
            body.append(line[min(indent, strip) :])
            j += 1
        blocks.append(Block(lang, i + 2, "\n".join(body) + "\n"))
        i = j + 1
    return blocks


def python_blocks(path: pathlib.Path) -> list[Block]:
    return [b for b in fenced_blocks(path.read_text()) if b.lang in PYTHON]


CASES = [
    pytest.param(path, k, id=f"{path.relative_to(ROOT).as_posix()}-{k}")
    for path in FILES
    if path.exists()
    for k in range(len(python_blocks(path)))
]


@dataclasses.dataclass
class _FileState:
    """One file's namespace and the outcome of each block run in this process."""

    namespace: dict[str, Any]
    cwd: pathlib.Path
    x64: bool
    errors: dict[int, BaseException | None] = dataclasses.field(default_factory=dict)


_STATES: dict[pathlib.Path, _FileState] = {}


def _run_block(path: pathlib.Path, k: int, state: _FileState, monkeypatch) -> None:
    block = python_blocks(path)[k]
    monkeypatch.chdir(state.cwd)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("GAMEDYN_SMOKE", "1")
    # the file's own global settings (e.g. jax_enable_x64) hold for its blocks only
    x64 = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", state.x64)
    # padded so that tracebacks point at the Markdown file's lines
    code = compile("\n" * (block.line - 1) + block.source, str(path), "exec")
    try:
        exec(code, state.namespace)
        state.errors[k] = None
    except (Exception, SystemExit) as e:
        state.errors[k] = e
    finally:
        state.x64 = jax.config.jax_enable_x64
        jax.config.update("jax_enable_x64", x64)
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")


@pytest.mark.parametrize(("path", "index"), CASES)
def test_doc_block(path, index, tmp_path_factory, monkeypatch):
    state = _STATES.get(path)
    if state is None:
        state = _STATES[path] = _FileState(
            namespace={"__name__": "__main__", "__file__": str(path)},
            cwd=tmp_path_factory.mktemp(path.stem),
            x64=bool(jax.config.jax_enable_x64),
        )
    # the earlier blocks first (in a test worker that has not run them yet)
    for k in range(index + 1):
        if k not in state.errors:
            _run_block(path, k, state, monkeypatch)
        if k < index and state.errors[k] is not None:
            line = python_blocks(path)[k].line
            pytest.skip(f"block {k} (line {line}) of {path.name} failed")
    error = state.errors[index]
    if error is not None:
        # the block's own frames (not this harness's exec)
        frames = error.__traceback__.tb_next if error.__traceback__ else None
        trace = "".join(traceback.format_exception(type(error), error, frames))
        line = python_blocks(path)[index].line
        pytest.fail(f"block {index} (line {line}) of {path.name}:\n{trace}", False)


def test_fenced_blocks_parser():
    text = (
        "intro\n```python\nx = 1\n```\n\n- item\n\n  ```py\n  y = 2\n  ```\n"
        "~~~text\nnot code\n~~~\n````python\n```\nz = 3\n````\n"
    )
    blocks = fenced_blocks(text)
    assert [b.lang for b in blocks] == ["python", "py", "text", "python"]
    assert [b.line for b in blocks] == [3, 9, 12, 15]
    assert blocks[1].source == "y = 2\n"
    assert blocks[3].source == "```\nz = 3\n"
