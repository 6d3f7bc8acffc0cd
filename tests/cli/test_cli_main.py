"""The ``gamedyn`` entry point: subcommands' help, version, one-line errors, --debug."""

import subprocess
import sys

import pytest

from gamedyn.cli import build_parser, main

COMMANDS = sorted(build_parser()._subparsers._group_actions[0].choices)


def test_the_commands():
    assert {"dirac", "sweep", "mog", "mnist"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_defaults_without_markup(command, capsys):
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    assert "(default:" in text
    for markup in ("``", ":func:", ":class:", ":mod:", ":data:"):
        assert markup not in text, f"{command} --help shows {markup}"
    # reproduce runs no training loop of its own and has no progress bar
    flags = ("--out", "--no-plots") + (
        () if command == "reproduce" else ("--no-progress",)
    )
    for flag in flags:
        assert flag in text, f"{command} --help lacks {flag}"


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.startswith("gamedyn ")


def _run(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "gamedyn", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_errors_are_one_line_and_debug_shows_the_traceback(tmp_path):
    target = tmp_path / "file"
    target.write_text("not a directory")
    args = ["dirac", "--out", str(target), "--rule", "simultaneous", "--no-plots"]
    plain = _run(*args)
    assert plain.returncode == 2
    assert plain.stderr.strip().splitlines() == [
        f"gamedyn dirac: error: --out: {target} exists and is not a directory"
    ]
    debug = _run("--debug", *args)
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_unknown_option_is_one_line():
    out = _run("sweep", "--out", "x", "--lr", "abc")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "gamedyn sweep: error: argument --lr: expected start:stop:num (e.g. "
        "0.01:1:64) or one number, got 'abc' (see gamedyn sweep --help)"
    ]
