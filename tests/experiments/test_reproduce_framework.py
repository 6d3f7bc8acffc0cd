"""The reproduction gallery's framework: claims, entries, discovery."""

import json
import math

import numpy as np
import pytest

from gamedyn.experiments import reproduce
from gamedyn.experiments.reproduce import Claim, Reproduction, bound, close, verdict

OURS = (
    "balduzzi2018",
    "daskalakis2018",
    "gidel2019_extragradient",
    "gidel2019_negative_momentum",
    "mescheder2017",
    "mescheder2018",
)


def test_close_is_elementwise_with_rtol_and_atol():
    assert close("c", 1.0, 1.0 + 1e-7, rtol=1e-6).holds
    assert not close("c", 1.0, 1.0 + 1e-5, rtol=1e-6).holds
    assert close("c", 0.0, 1e-9, atol=1e-8).holds
    assert not close("c", 0.0, 1e-7, atol=1e-8).holds
    # |ours - paper| <= atol + rtol |paper|, for every element
    assert close("c", [1.0, 100.0], [1.05, 101.0], rtol=0.01, atol=0.05).holds
    assert not close("c", [1.0, 100.0], [1.07, 100.0], rtol=0.01, atol=0.05).holds
    assert close("c", 2.0, 2.0).holds  # exact, tolerance atol 0
    assert close("c", 2.0, 2.0).tolerance == "atol 0"
    assert (
        close("c", 1.0, 1.0, rtol=1e-3, atol=1e-9).tolerance == "rtol 0.001, atol 1e-09"
    )
    assert close("c", 1.0, 1.0, rtol=1e-3).tolerance == "rtol 0.001"


def test_close_rejects_shape_mismatch_naming_the_claim():
    with pytest.raises(
        ValueError, match=r"claim 'eq\. 3': paper has shape \(2,\) but ours \(3,\)"
    ):
        close("eq. 3", [1.0, 2.0], [1.0, 2.0, 3.0], rtol=1.0)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_ours_never_holds(bad):
    assert not close("c", 1.0, bad, rtol=math.inf).holds
    assert not close("c", [1.0, 1.0], [1.0, bad], atol=1e300).holds
    assert not bound("c", 1.0, bad).holds
    assert not bound("c", 1.0, bad, upper=False).holds


def test_verdict_compares_plain_values():
    assert verdict("c", "converges", "converges").holds
    assert not verdict("c", "converges", "diverges").holds
    assert verdict("c", True, np.bool_(True)).holds
    assert verdict("c", [True, False], np.array([True, False])).holds
    assert not verdict("c", [True, False], np.array([True, True])).holds
    assert verdict("c", 8, np.int64(8)).tolerance == "verdict"


def test_bound_upper_and_lower():
    assert bound("c", 1.0, 0.5).holds and not bound("c", 1.0, 1.5).holds
    assert bound("c", 1.0, [0.2, 1.0]).holds
    assert bound("c", 1.0, 1.5, upper=False).holds
    assert not bound("c", 1.0, [1.5, 0.9], upper=False).holds
    assert bound("c", 1.0, 0.5).tolerance == "<= bound"
    assert bound("c", 1.0, 2.0, upper=False).tolerance == ">= bound"


def test_as_dict_is_json_ready():
    claim = close(
        "c", np.array([1.0, np.inf]), np.array([1.0, np.inf]), rtol=0.1
    )._replace(paper={"a": np.float64(1.5), 2: (np.int32(3), np.array([[1, 2]]))})
    d = claim.as_dict()
    assert set(d) == {"claim", "paper", "ours", "tolerance", "holds"}
    assert d["paper"] == {"a": 1.5, "2": [3, [[1, 2]]]}
    assert d["ours"] == [1.0, "inf"]
    assert json.loads(json.dumps(d)) == d
    assert type(verdict("c", np.bool_(True), True).as_dict()["paper"]) is bool


def test_reproduction_holds_only_when_every_claim_holds():
    good = Claim("a", 1, 1, "verdict", True)
    bad = Claim("b", 1, 2, "verdict", False)
    assert Reproduction("x", (good, good), {}, True).holds
    assert not Reproduction("x", (good, bad), {}, True).holds


def test_discovery_lists_the_entries():
    names = reproduce.names()
    assert set(OURS) <= set(names)
    assert list(names) == sorted(names)
    for name in names:
        e = reproduce.entry(name)
        assert e.name == name and e.title and e.paper and e.figures
    assert [e.name for e in reproduce.entries()] == list(names)


def test_unknown_entry_is_a_value_error_listing_the_entries():
    with pytest.raises(
        ValueError,
        match=r"name: unknown gallery entry 'nope'; expected one of .*mescheder2018",
    ):
        reproduce.entry("nope")
    with pytest.raises(ValueError, match="name: unknown gallery entry"):
        reproduce.run("nope", quick=True)


def test_run_checks_the_returned_name(monkeypatch):
    module = reproduce._module("daskalakis2018")
    monkeypatch.setattr(
        module, "run", lambda quick=False: Reproduction("other", (), {}, quick)
    )
    with pytest.raises(RuntimeError, match="returned a reproduction named 'other'"):
        reproduce.run("daskalakis2018", quick=True)
