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
