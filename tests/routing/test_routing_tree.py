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


# --- the tree decides exactly as rules.decide does (it keeps what depends on the place only) --------

import random  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from services.routing import tree as tree_module  # noqa: E402
from services.routing.rules import NoResponsibleUnit, decide  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "divisions"


def sample_tree(units_as_dict: bool) -> DivisionTree:
    # 诸暨市 whole; of 靖江市 only 新桥镇 and its villages, so its other places have no unit (uncovered)
    t = DivisionTree.from_csv(SAMPLE, onboard=["330681", "321282101"])
    units = {code: t.units[code] for code in t.units} if units_as_dict else t.units
    overrides = {
        "330681": {"amount_thresholds": {"village_max": 1000}},
        "330681104": {"collective": {"complainants": 2}, "safety_tier": "city"},
        "321282101": {"amount_thresholds": {"village_max": 100, "township_max": 2000}},
    }
    agencies = {"330681": {"police": "330681-police"}, "330681104": {"petition": "330681104-petition"}}
    return DivisionTree(t.names, units, overrides, agencies)


def facts_sample(t: DivisionTree, n: int) -> list[Facts]:
    rng = random.Random(5)
    codes = sorted(t.names)
    units = sorted(t.units)
    pick = lambda: rng.choice(units) if rng.random() < 0.7 else rng.choice(codes)  # noqa: E731
    facts = []
    for _ in range(n):
        kw = {
            field: pick()
            for field in (
                "business_division_code",
                "business_registered_division_code",
                "business_operating_division_code",
                "platform_division_code",
                "complainant_division_code",
            )
            if rng.random() < 0.25
        }
        facts.append(
            Facts(
                pick(),
                **kw,
                is_platform_shop=rng.random() < 0.2,
                claim_amount=rng.choice([None, 99, 1000, Decimal("1000.01"), 5000, Decimal("5000.5"), 60000]),
                safety_related=rng.random() < 0.2,
                category=rng.choice(["", "food_safety", "public_order"]),
                agency_type=rng.choice([None, None, "police", "petition", "court"]),
                collective_complainants=rng.choice([0, 0, 1, 2, 5]),
            )
        )
    return facts


def outcome(decide_one, facts):
    try:
        return decide_one(facts)
    except NoResponsibleUnit as exc:
        return str(exc)


@pytest.mark.parametrize("units_as_dict", [False, True])
def test_tree_decides_as_the_rules_do(units_as_dict):
    t = sample_tree(units_as_dict)
    facts = facts_sample(t, 3000)
    uncovered = 0
    for f in facts * 2:  # the second time from the per-place cache
        expected = outcome(lambda f: decide(f, t.units, t.policy_for, t.agencies), f)
        assert outcome(t.decide, f) == expected
        uncovered += isinstance(expected, str)
    assert 0 < uncovered < len(facts)


def test_place_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(tree_module, "PLACE_CACHE_SIZE", 5)
    t = sample_tree(False)
    for f in facts_sample(t, 200):
        assert outcome(t.decide, f) == outcome(lambda f: decide(f, t.units, t.policy_for, t.agencies), f)
        assert len(t._places) <= 5


def test_lowest_unit_of_uncovered_and_covered_places():
    t = sample_tree(False)
    assert t.lowest_unit("321282001001") is None  # 靖城街道 is not onboarded, nor is 靖江市
    assert t.lowest_unit("321282101001") == UnitRef("321282101001", "振兴居委会", "village")
    assert t.lowest_unit("330681104") == UnitRef("330681104", "店口镇", "township")
    assert t.lowest_unit("3306") is None
    with pytest.raises(NoResponsibleUnit):
        t.decide(Facts("321282001001"))
