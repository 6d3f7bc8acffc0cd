"""``gamedyn reproduce``: listing, a quick run's files, exit statuses."""

import json

from gamedyn.cli import main
from gamedyn.experiments import reproduce
from gamedyn.experiments.reproduce import Claim, Reproduction

OURS = (
    "balduzzi2018",
    "daskalakis2018",
    "gidel2019_extragradient",
    "gidel2019_negative_momentum",
    "mescheder2017",
    "mescheder2018",
)


def test_list_shows_every_entry(capsys):
    assert main(["reproduce", "--list"]) == 0
    out = capsys.readouterr().out
    for name in OURS:
        assert f"\n{name} " in f"\n{out}"
    assert "Daskalakis, Ilyas, Syrgkanis, Zeng 2018" in out


def test_quick_run_writes_claims_figures_and_exits_0(tmp_path, capsys):
    out = tmp_path / "run"
    assert (
        main(["reproduce", "gidel2019_extragradient", "--quick", "--out", str(out)])
        == 0
    )
    claims = json.loads((out / "claims.json").read_text())
    assert claims and all(
        set(c) == {"claim", "paper", "ours", "tolerance", "holds"} and c["holds"]
        for c in claims
    )
    info = json.loads((out / "reproduction.json").read_text())
    assert info["quick"] is True and info["holds"] is True
    assert info["claims"] == len(claims)
    assert info["entry"] == reproduce.entry("gidel2019_extragradient")._asdict()
    assert (out / "bilinear.png").stat().st_size > 10_000
    text = capsys.readouterr().out
    assert f"{len(claims)}/{len(claims)} claims hold (quick setting" in text
    assert "[FAILS]" not in text and "Proposition 1" in text


def test_unknown_or_missing_name_is_a_one_line_error(tmp_path, capsys):
    assert main(["reproduce", "nope", "--quick", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("gamedyn reproduce: error: NAME: unknown entry 'nope'")
    assert "mescheder2018" in err[0]
    assert main(["reproduce", "--quick"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "gamedyn reproduce: error: NAME: expected a gallery entry (see gamedyn "
        "reproduce --list)"
    ]


def test_a_failing_claim_exits_1(tmp_path, monkeypatch, capsys):
    module = reproduce._module("daskalakis2018")
    failing = Claim("Theorem 1: converges", "converges", "diverges", "verdict", False)
    holding = Claim("Section 3: diverges", "diverges", "diverges", "verdict", True)
    monkeypatch.setattr(
        module,
        "run",
        lambda quick=False: Reproduction(
            "daskalakis2018", (holding, failing), {}, quick
        ),
    )
    out = tmp_path / "run"
    assert (
        main(
            ["reproduce", "daskalakis2018", "--quick", "--no-plots", "--out", str(out)]
        )
        == 1
    )
    claims = json.loads((out / "claims.json").read_text())
    assert [c["holds"] for c in claims] == [True, False]
    assert json.loads((out / "reproduction.json").read_text())["holds"] is False
    assert not list(out.glob("*.png"))
    text = capsys.readouterr().out
    assert "[FAILS] Theorem 1: converges" in text
    assert "1/2 claims hold" in text
