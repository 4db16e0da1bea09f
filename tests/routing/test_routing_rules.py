import pytest

from services.routing.rules import NoResponsibleUnit, UnitRef, decide_responsibility

CITY = UnitRef("330681", "诸暨市", "city")
TOWNSHIP = UnitRef("330681109", "枫桥镇", "township")
VILLAGE = UnitRef("330681109290", "枫源村委会", "village")


@pytest.mark.parametrize(
    ("business", "incident", "onboarded", "unit", "rule"),
    [
        ("330681109290", "330681110001", [CITY, TOWNSHIP, VILLAGE], VILLAGE, "territory.business"),
        ("330681109290", "330681110001", [CITY, TOWNSHIP], TOWNSHIP, "territory.business"),
        ("330681109290", "330681110001", [CITY], CITY, "territory.business"),
        (None, "330681109290", [CITY, TOWNSHIP, VILLAGE], VILLAGE, "territory.incident"),
        (None, "330681109", [CITY, TOWNSHIP, VILLAGE], TOWNSHIP, "territory.incident"),
    ],
)
def test_lowest_onboarded_unit_covering_the_place(business, incident, onboarded, unit, rule):
    decision = decide_responsibility(
        business_division_code=business,
        incident_division_code=incident,
        onboarded={u.code: u for u in onboarded},
    )
    assert decision.unit == unit
    assert decision.rule == rule
    assert decision.inputs["place"] == (business or incident)


def test_no_onboarded_unit():
    with pytest.raises(NoResponsibleUnit):
        decide_responsibility(business_division_code=None, incident_division_code="321282101001", onboarded={})


# --- the full rule set (services/routing/rules.py), table-driven ---------------------------------

from decimal import Decimal  # noqa: E402

from common.reference import REMEDY_ROUTES  # noqa: E402
from services.routing.rules import (  # noqa: E402
    Facts,
    TierPolicy,
    common_higher_unit,
    decide,
    escalation_target,
    find_agency,
    required_tier,
    territory,
)

DIANKOU = UnitRef("330681104", "店口镇", "township")
BAILIFAN = UnitRef("330681104226", "白沥畈村委会", "village")
ZHUJI = [CITY, TOWNSHIP, VILLAGE, DIANKOU, BAILIFAN]
ONBOARDED = {u.code: u for u in ZHUJI}


@pytest.mark.parametrize(
    ("facts", "place", "rule", "source"),
    [
        (
            Facts(
                "330681109290",
                business_operating_division_code="330681104226",
                business_registered_division_code="330681109290",
            ),
            "330681104226",
            "territory.business",
            "business_operating",
        ),
        (
            Facts("330681109290", business_registered_division_code="330681104226"),
            "330681104226",
            "territory.business",
            "business_registered",
        ),
        (
            Facts("330681109290", business_division_code="330681104226"),
            "330681104226",
            "territory.business",
            "business",
        ),
        (Facts("330681109290"), "330681109290", "territory.incident", "incident"),
        (
            Facts(
                "330681109290",
                is_platform_shop=True,
                business_operating_division_code="330681104226",
                business_registered_division_code="330681109",
            ),
            "330681104226",
            "territory.platform",
            "platform_shown",
        ),
        (
            Facts("330681109290", is_platform_shop=True, business_registered_division_code="330681109"),
            "330681109",
            "territory.platform",
            "platform_registered",
        ),
        (
            Facts(
                "330681109290",
                is_platform_shop=True,
                platform_division_code="330681104",
                business_registered_division_code="330681109",
            ),
            "330681104",
            "territory.platform",
            "platform_registered",
        ),
        # a platform shop without any address: where it happened
        (Facts("330681109290", is_platform_shop=True), "330681109290", "territory.incident", "incident"),
    ],
)
def test_territory_picks_the_place(facts, place, rule, source):
    assert territory(facts) == (place, rule, source)


POLICY = TierPolicy(village_max=5000, township_max=50000, collective_complainants=3, safety_tier="township")


@pytest.mark.parametrize(
    ("facts", "tier", "rules"),
    [
        (Facts("330681104226", claim_amount=Decimal("5000")), None, []),
        (Facts("330681104226", claim_amount=Decimal("5000.01")), "township", ["tier.amount"]),
        (Facts("330681104226", claim_amount=Decimal("50000")), "township", ["tier.amount"]),
        (Facts("330681104226", claim_amount=Decimal("50000.5")), "city", ["tier.amount"]),
        (Facts("330681104226", safety_related=True, category="food_safety"), "township", ["tier.safety"]),
        (Facts("330681104226", collective_complainants=2), None, []),
        (Facts("330681104226", collective_complainants=3), "township", ["tier.collective"]),
        # consumer in another township of the same city: the city
        (Facts("330681104226", complainant_division_code="330681109290"), "city", ["tier.cross_area"]),
        # same township, another village: no cross-area rule
        (Facts("330681104226", complainant_division_code="330681104236"), None, []),
        # another city: no common unit on the platform, the rule does not fire
        (Facts("330681104226", complainant_division_code="321282101001"), None, []),
        # several fire: the highest tier wins, all are recorded
        (
            Facts("330681104226", safety_related=True, claim_amount=Decimal("60000")),
            "city",
            ["tier.amount", "tier.safety"],
        ),
    ],
)
def test_tier_rules(facts, tier, rules):
    got, fired = required_tier(facts, "330681104226", POLICY)
    assert got == tier
    assert [f["rule"] for f in fired] == rules


def test_safety_tier_is_a_tenant_setting():
    got, _ = required_tier(Facts("330681104226", safety_related=True), "330681104226", TierPolicy(safety_tier="city"))
    assert got == "city"


@pytest.mark.parametrize(
    ("facts", "unit", "rule"),
    [
        (Facts("330681104226"), BAILIFAN, "territory.incident"),
        (Facts("330681104226", claim_amount=Decimal("8000")), DIANKOU, "tier.amount"),
        (Facts("330681104226", claim_amount=Decimal("80000")), CITY, "tier.amount"),
        (Facts("330681104226", safety_related=True), DIANKOU, "tier.safety"),
        (Facts("330681104226", collective_complainants=3), DIANKOU, "tier.collective"),
        (Facts("330681104226", complainant_division_code="330681109290"), CITY, "tier.cross_area"),
        # the place is a township already: a township rule keeps it there under the territory rule
        (Facts("330681104", safety_related=True), DIANKOU, "territory.incident"),
    ],
)
def test_decide_puts_the_case_at_the_required_tier(facts, unit, rule):
    decision = decide(facts, ONBOARDED, lambda code: POLICY)
    assert decision.unit == unit
    assert decision.rule == rule
    assert decision.inputs["place"] == "330681104226" if len(facts.incident_division_code) == 12 else True
    assert decision.inputs["territorial_unit"] in ONBOARDED


def test_decide_caps_at_the_highest_onboarded_unit():
    onboarded = {u.code: u for u in (DIANKOU, BAILIFAN)}  # no city onboarded
    decision = decide(Facts("330681104226", claim_amount=Decimal("80000")), onboarded, lambda code: POLICY)
    assert decision.unit == DIANKOU
    assert "capped" in decision.inputs


def test_decide_uses_the_territorial_units_thresholds():
    strict = TierPolicy(village_max=100, township_max=1000)
    decision = decide(Facts("330681104226", claim_amount=Decimal("500")), ONBOARDED, lambda code: strict)
    assert decision.unit == DIANKOU
    assert decision.inputs["tier_rules"][0]["village_max"] == 100


AGENCIES = {
    "330681": {"labour_arbitration": "330681-labour_arbitration", "police": "330681-police"},
    "330681104": {"police": "330681104-police"},
}


@pytest.mark.parametrize(
    ("agency_type", "unit_code", "found"),
    [
        ("police", "330681104226", "330681104-police"),  # the township's station
        ("police", "330681109290", "330681-police"),  # no station there: the city bureau
        ("labour_arbitration", "330681104226", "330681-labour_arbitration"),
        ("court", "330681104226", None),
    ],
)
def test_find_agency_of_the_right_tier(agency_type, unit_code, found):
    assert find_agency(unit_code, agency_type, AGENCIES) == found


def test_agency_matter_names_the_agency_and_keeps_the_unit():
    decision = decide(Facts("330681104226", agency_type="police"), ONBOARDED, lambda code: POLICY, AGENCIES)
    assert decision.unit == BAILIFAN and decision.agency == "330681104-police"
    assert decision.inputs["agency"]["rule"] == "agency.police"
    # one agency type code everywhere (common/reference.py): a petition matter finds the petition agency
    petition = decide(
        Facts("330681104226", agency_type="petition"),
        ONBOARDED,
        None,
        {"330681": {"petition": "330681-petition"}},
    )
    assert petition.agency == "330681-petition"
    none = decide(Facts("330681104226", agency_type="court"), ONBOARDED, None, AGENCIES)
    assert none.agency is None and "note" in none.inputs["agency"]


@pytest.mark.parametrize(
    ("code", "target"),
    [("330681104226", DIANKOU), ("330681104", CITY), ("330681", None), ("330681104236", DIANKOU)],
)
def test_escalation_goes_to_the_nearest_onboarded_unit_above(code, target):
    assert escalation_target(code, ONBOARDED) == target


@pytest.mark.parametrize(
    ("a", "b", "decider"),
    [
        ("330681104226", "330681104236", DIANKOU),  # two villages of one township
        ("330681104226", "330681109290", CITY),  # villages of two townships
        ("330681104226", "330681104", CITY),  # a village and its own township: the unit above both
        ("330681104226", "321282101001", None),  # two cities: nobody on the platform
    ],
)
def test_common_higher_unit_decides_authority(a, b, decider):
    assert common_higher_unit(a, b, ONBOARDED) == decider


def test_remedy_routes_beyond_the_top():
    assert set(REMEDY_ROUTES) >= {"arbitration", "court"}
