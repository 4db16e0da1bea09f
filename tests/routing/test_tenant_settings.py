"""Tenant settings: defaults, validation of overrides, merge patches and inheritance down the
city -> township -> village (-> agency) chain (services/routing/settings.py), and who may touch a
tenant (services/routing/tenants.py)."""

from datetime import date

import pytest

from common.clocks import DEFAULT_RULES, TIER_TARGET_DEFAULTS, ClockKind
from common.errors import Forbidden, InvalidInput, NotFound
from common.tenancy import Role, Scope
from services.routing import settings
from services.routing.tenants import authorize, split_id


def test_defaults_are_the_documented_ones_and_agree_with_the_clocks():
    d = settings.DEFAULTS
    assert d.time_targets.model_dump() == {"village": 10, "township": 15, "city": 30} == TIER_TARGET_DEFAULTS
    assert d.acknowledgement_hours == 24 == DEFAULT_RULES[ClockKind.ACKNOWLEDGEMENT].amount
    assert d.acceptance_working_days == 7 == DEFAULT_RULES[ClockKind.ACCEPTANCE].amount
    assert d.yellow_share == pytest.approx(2 / 3)
    assert d.amount_thresholds.model_dump() == {"village_max": 5000, "township_max": 50000}
    assert d.enabled_categories == "all"
    assert d.working_days.extra_workdays == () and d.working_days.extra_holidays == ()


CITY = {"time_targets": {"village": 8, "township": 12}, "amount_thresholds": {"village_max": 3000}}
TOWNSHIP = {"time_targets": {"township": 20}, "enabled_categories": ["product_quality", "price"]}
VILLAGE = {"time_targets": {"village": 5}, "acknowledgement_hours": 12}


@pytest.mark.parametrize(
    ("chain", "path", "expected"),
    [
        # nothing overridden anywhere: the defaults
        ([], "time_targets.village", 10),
        ([{}, {}, {}], "amount_thresholds.township_max", 50000),
        # a city override is seen by every unit below it
        ([CITY], "time_targets.village", 8),
        ([CITY, {}, {}], "time_targets.village", 8),
        ([CITY, {}, {}], "amount_thresholds.village_max", 3000),
        # objects merge key by key: the village's own target does not drop the city's township target
        ([CITY, {}, VILLAGE], "time_targets.village", 5),
        ([CITY, {}, VILLAGE], "time_targets.township", 12),
        ([CITY, {}, VILLAGE], "time_targets.city", 30),
        # the lower unit wins
        ([CITY, TOWNSHIP, VILLAGE], "time_targets.township", 20),
        ([CITY, TOWNSHIP], "time_targets.township", 20),
        ([CITY, TOWNSHIP, VILLAGE], "acknowledgement_hours", 12),
        ([CITY, TOWNSHIP], "acknowledgement_hours", 24),
        # a list replaces the list above it as a whole
        ([CITY, TOWNSHIP, VILLAGE], "enabled_categories", ("product_quality", "price")),
        ([CITY, TOWNSHIP, {"enabled_categories": ["price"]}], "enabled_categories", ("price",)),
        ([CITY, TOWNSHIP, {"enabled_categories": "all"}], "enabled_categories", "all"),
        # an agency's own overrides come last
        ([CITY, TOWNSHIP, {}, {"acceptance_working_days": 3}], "acceptance_working_days", 3),
        ([{"yellow_share": 0.5}, {}, {}], "yellow_share", 0.5),
    ],
)
def test_inheritance(chain, path, expected):
    value = settings.effective(chain)
    for part in path.split("."):
        value = getattr(value, part)
    assert value == expected


D1, D2, D3 = "2026-05-06", "2026-05-09", "2026-10-10"


@pytest.mark.parametrize(
    ("chain", "workdays", "holidays"),
    [
        ([{"working_days": {"extra_holidays": [D1]}}], [], [D1]),
        # accumulate down the chain
        ([{"working_days": {"extra_holidays": [D1]}}, {"working_days": {"extra_holidays": [D3]}}], [], [D1, D3]),
        ([{"working_days": {"extra_workdays": [D2]}}, {}, {"working_days": {"extra_holidays": [D1]}}], [D2], [D1]),
        # the lower unit's word on a day wins: the village works on the city's local holiday
        ([{"working_days": {"extra_holidays": [D1, D3]}}, {}, {"working_days": {"extra_workdays": [D1]}}], [D1], [D3]),
        ([{"working_days": {"extra_workdays": [D2]}}, {"working_days": {"extra_holidays": [D2]}}], [], [D2]),
    ],
)
def test_working_day_overrides_accumulate_and_the_lower_unit_wins(chain, workdays, holidays):
    effective = settings.effective(chain)
    assert [d.isoformat() for d in effective.working_days.extra_workdays] == workdays
    assert [d.isoformat() for d in effective.working_days.extra_holidays] == holidays
    calendar = settings.work_calendar(effective)
    for day in holidays:
        assert not calendar.is_workday(date.fromisoformat(day))
    for day in workdays:
        assert calendar.is_workday(date.fromisoformat(day))


@pytest.mark.parametrize(
    ("overrides", "normalised"),
    [
        ({}, {}),
        ({"time_targets": {"village": 12}}, {"time_targets": {"village": 12}}),
        ({"yellow_share": 1}, {"yellow_share": 1.0}),
        ({"enabled_categories": ["price", "contract"]}, {"enabled_categories": ["price", "contract"]}),
        ({"enabled_categories": "all"}, {"enabled_categories": "all"}),
        ({"working_days": {"extra_holidays": ["2026-05-06"]}}, {"working_days": {"extra_holidays": ["2026-05-06"]}}),
        ({"time_targets": {}}, {}),  # an empty object is no override
        ({"amount_thresholds": {"village_max": 0, "township_max": 10_000_000}},) * 2,
    ],
)
def test_valid_overrides_are_normalised(overrides, normalised):
    assert settings.validate_overrides(overrides) == normalised


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"time_targets": {"village": 0}}, "time_targets.village"),
        ({"time_targets": {"village": "10"}}, "time_targets.village"),
        ({"time_targets": {"village": True}}, "time_targets.village"),
        ({"time_targets": {"village": 10.5}}, "time_targets.village"),
        ({"time_targets": {"hamlet": 3}}, "time_targets.hamlet"),
        ({"acknowledgement_hours": 0}, "acknowledgement_hours"),
        ({"acceptance_working_days": 251}, "acceptance_working_days"),
        ({"yellow_share": 0}, "yellow_share"),
        ({"yellow_share": 1.5}, "yellow_share"),
        ({"amount_thresholds": {"village_max": -1}}, "amount_thresholds.village_max"),
        ({"amount_thresholds": {"township_max": 10_000_001}}, "amount_thresholds.township_max"),
        ({"enabled_categories": "some"}, "enabled_categories"),
        ({"enabled_categories": []}, "enabled_categories"),
        ({"enabled_categories": ["Price"]}, "enabled_categories"),
        ({"enabled_categories": ["price", "price"]}, "enabled_categories"),
        ({"working_days": {"extra_holidays": ["2026-13-01"]}}, "working_days.extra_holidays.0"),
        ({"working_days": {"extra_workdays": ["2026-05-06"], "extra_holidays": ["2026-05-06"]}}, "working_days"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_overrides_name_the_field(overrides, field):
    with pytest.raises(InvalidInput) as caught:
        settings.validate_overrides(overrides)
    assert [f["field"] for f in caught.value.fields] == [field]


def test_overrides_must_be_an_object():
    with pytest.raises(InvalidInput):
        settings.validate_overrides(["time_targets"])


@pytest.mark.parametrize(
    ("current", "patch", "result"),
    [
        ({}, {"time_targets": {"village": 5}}, {"time_targets": {"village": 5}}),
        ({"time_targets": {"village": 5}}, {"time_targets": {"city": 9}}, {"time_targets": {"village": 5, "city": 9}}),
        ({"time_targets": {"village": 5}}, {"time_targets": {"village": None}}, {"time_targets": {}}),
        ({"time_targets": {"village": 5}, "yellow_share": 0.5}, {"time_targets": None}, {"yellow_share": 0.5}),
        ({"enabled_categories": ["a", "b"]}, {"enabled_categories": ["c"]}, {"enabled_categories": ["c"]}),
        ({"yellow_share": 0.5}, {"absent": None}, {"yellow_share": 0.5}),
    ],
)
def test_merge_patch(current, patch, result):
    assert settings.merge_patch(current, patch) == result


def test_a_patch_that_empties_an_object_leaves_no_override():
    patched = settings.merge_patch({"time_targets": {"village": 5}}, {"time_targets": {"village": None}})
    assert settings.validate_overrides(patched) == {}


ADMIN = frozenset({Role.TENANT_ADMIN})
PLATFORM = frozenset({Role.PLATFORM_ADMIN})


@pytest.mark.parametrize(
    ("scope", "code", "roles", "outcome"),
    [
        (Scope("330681109"), "330681109", frozenset(), None),
        (Scope("330681109"), "330681109290", frozenset(), None),
        (Scope("330681109"), "330681109-police", frozenset(), None),
        (Scope("330681109"), "330681109290-court", frozenset(), None),
        # never a parent's, a sibling's or another city's
        (Scope("330681109"), "330681", frozenset(), NotFound),
        (Scope("330681109"), "330681110", frozenset(), NotFound),
        (Scope("330681109"), "321282", frozenset(), NotFound),
        (Scope("330681109"), "330681-police", frozenset(), NotFound),
        (None, "330681", frozenset(), NotFound),
        # an agency sees only itself
        (Scope("330681-police"), "330681-police", frozenset(), None),
        (Scope("330681-police"), "330681", frozenset(), NotFound),
        (Scope("330681-police"), "330681109", frozenset(), NotFound),
        # roles are checked inside the scope only: outside it, the answer stays 404
        (Scope("330681109", roles=frozenset({Role.MEDIATOR})), "330681109290", ADMIN, Forbidden),
        (Scope("330681109", roles=ADMIN), "330681109290", ADMIN, None),
        (Scope("330681109", roles=ADMIN), "330681109290", PLATFORM, Forbidden),
        (Scope("330681109", roles=frozenset({Role.MEDIATOR})), "330681110", ADMIN, NotFound),
        (Scope("330681", roles=PLATFORM), "330681109290", PLATFORM, None),
    ],
)
def test_who_may_touch_a_tenant(scope, code, roles, outcome):
    if outcome is None:
        assert authorize(scope, code, roles) is scope
    else:
        with pytest.raises(outcome):
            authorize(scope, code, roles)


@pytest.mark.parametrize(
    ("code", "parsed"),
    [
        ("330681", ("330681", None)),
        ("330681109290", ("330681109290", None)),
        ("330681109-labour_arbitration", ("330681109", "labour_arbitration")),
        ("330681-petition", ("330681", "petition")),
        ("330681-spies", NotFound),
        ("33068", NotFound),
        ("330681-", NotFound),
    ],
)
def test_tenant_ids(code, parsed):
    if parsed is NotFound:
        with pytest.raises(NotFound):
            split_id(code)
    else:
        assert split_id(code) == parsed
