"""The in-memory division tree: effective settings per unit and decisions over it."""

from decimal import Decimal

from services.routing.rules import Facts, UnitRef
from services.routing.tree import DivisionTree


def tree() -> DivisionTree:
    units = {
        "330681": UnitRef("330681", "诸暨市", "city"),
        "330681104": UnitRef("330681104", "店口镇", "township"),
        "330681104226": UnitRef("330681104226", "白沥畈村委会", "village"),
    }
    overrides = {
        "330681": {"amount_thresholds": {"village_max": 1000}},
        "330681104": {"collective": {"complainants": 2}},
    }
    names = {code: unit.name for code, unit in units.items()}
    return DivisionTree(names, units, overrides, {"330681": {"police": "330681-police"}})


def test_policy_inherits_down_the_chain():
    policy = tree().policy_for("330681104226")
    assert policy.village_max == 1000 and policy.township_max == 50000 and policy.collective_complainants == 2


def test_decisions_over_the_tree():
    t = tree()
    assert t.decide(Facts("330681104226", claim_amount=Decimal("999"))).unit.code == "330681104226"
    assert t.decide(Facts("330681104226", claim_amount=Decimal("1001"))).unit.code == "330681104"
    assert t.decide(Facts("330681104226", collective_complainants=2)).rule == "tier.collective"
    assert t.decide(Facts("330681104226", agency_type="police")).agency == "330681-police"
    assert t.agency_exists("330681-police") and not t.agency_exists("330681-court")


def test_from_csv_reads_the_sample_table():
    from pathlib import Path

    t = DivisionTree.from_csv(Path(__file__).resolve().parents[2] / "data" / "divisions", onboard=["321282"])
    assert t.names["321282101"] == "新桥镇"
    assert t.units["321282101001"].tier == "village"
    assert t.lowest_unit("321282101001").code == "321282101001"
