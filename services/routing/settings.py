"""Tenant settings: the defaults, what a tenant may override, and how overrides inherit.

Every tenant stores only its own overrides (`routing.units.settings`, `routing.agencies.settings`,
JSONB). What applies to a tenant, its *effective settings*, is

    DEFAULTS  <- the city's overrides  <- the township's  <- the village's  (<- an agency's own)

where only onboarded units contribute (a unit that is not onboarded has no overrides), and an
agency starts from the effective settings of the unit it is attached to.

Merging, one level onto the next:

- objects merge key by key: a village that sets `time_targets.village` still inherits the city's
  `time_targets.township`;
- any other value (number, string, list) replaces the value above it, so `enabled_categories`
  set by a village replaces the city's list as a whole;
- except the working-day overrides, which accumulate down the chain: a unit's
  `working_days.extra_workdays` and `extra_holidays` are added to those it inherits, and for a day
  listed on both sides the lower unit's word wins (a village may work on a day its city declared
  a local holiday).

Updating a tenant's overrides is a JSON merge patch (RFC 7396) on its own overrides: a value sets
an override, `null` removes it (the tenant inherits that value again), objects merge. The result
is validated (types and ranges; the field is named in the 422), and so are the effective settings
it gives the tenant.

Categories are opaque strings here (the list is common/categories.py). The default `"all"`
enables every category; a list enables only those codes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from common.clocks import DEFAULT_RULES, TIER_TARGET_DEFAULTS, ClockKind
from common.errors import InvalidInput
from common.workdays import WorkCalendar

MAX_YUAN = 10_000_000  # the largest claim amount intake accepts
_CATEGORY_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

WorkingDayCount = Annotated[int, Field(strict=True, ge=1, le=250)]
Yuan = Annotated[int, Field(strict=True, ge=0, le=MAX_YUAN)]


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TimeTargets(_Settings):
    """Working days a case may stay at each tier before it is escalated (seed 004 practice)."""

    village: WorkingDayCount = TIER_TARGET_DEFAULTS["village"]
    township: WorkingDayCount = TIER_TARGET_DEFAULTS["township"]
    city: WorkingDayCount = TIER_TARGET_DEFAULTS["city"]


class AmountThresholds(_Settings):
    """Claim amounts (whole yuan) above which a case starts at a higher tier (issue 5)."""

    village_max: Yuan = 5_000
    township_max: Yuan = 50_000


class Collective(_Settings):
    """A collective dispute (群体性): this many distinct complainants against one business (credit
    code) within the window start at the township (routing rule `tier.collective`)."""

    complainants: Annotated[int, Field(strict=True, ge=2, le=10_000)] = 5
    window_days: Annotated[int, Field(strict=True, ge=1, le=365)] = 30


class EarlyWarning(_Settings):
    """排查预警: complaints against one business, or in one category within one township, reaching
    the number within the window raise a warning to the township and the city (once per window)."""

    business_count: Annotated[int, Field(strict=True, ge=2, le=100_000)] = 5
    category_count: Annotated[int, Field(strict=True, ge=2, le=100_000)] = 10
    window_days: Annotated[int, Field(strict=True, ge=1, le=365)] = 30


class WorkingDays(_Settings):
    """Corrections to the official calendar (common.workdays): days worked or taken off locally."""

    extra_workdays: tuple[date, ...] = ()
    extra_holidays: tuple[date, ...] = ()

    @model_validator(mode="after")
    def _not_both(self) -> WorkingDays:
        both = sorted(set(self.extra_workdays) & set(self.extra_holidays))
        if both:
            raise PydanticCustomError(
                "workday_conflict",
                "a day cannot be both an extra workday and an extra holiday: {days}",
                {"days": ", ".join(d.isoformat() for d in both)},
            )
        return self


class SettleFirst(_Settings):
    """先行和解: a new complaint against a business with a known contact goes to the business first,
    for this many working days (ending before the acceptance deadline); intake runs the lane."""

    enabled: Annotated[bool, Field(strict=True)] = False
    window_working_days: WorkingDayCount = 7


class Disclosure(_Settings):
    """消费投诉信息公示: the public figures of the tenant's subtree, and the fewest accepted complaints
    in 12 months for a business to be listed."""

    enabled: Annotated[bool, Field(strict=True)] = False
    min_accepted: Annotated[int, Field(strict=True, ge=1, le=10_000)] = 3


def _all_or_codes(value: Any) -> Any:
    if value == "all":
        return value
    if not isinstance(value, list | tuple):
        raise PydanticCustomError("categories", 'expected "all" or a list of category codes')
    if not value:
        raise PydanticCustomError("categories", 'enable at least one category, or "all"')
    wrong = [v for v in value if not isinstance(v, str) or not _CATEGORY_CODE.match(v)]
    if wrong:
        raise PydanticCustomError(
            "categories", "not a category code: {code!r} (lower-case letters, digits, _)", {"code": wrong[0]}
        )
    if len(set(value)) != len(value):
        raise PydanticCustomError("categories", "each category may be listed once")
    return tuple(value)


Categories = Annotated[Literal["all"] | tuple[str, ...], BeforeValidator(_all_or_codes)]


class TenantSettings(_Settings):
    """The effective settings of a tenant. Every field has its default, so a partial document
    (a tenant's overrides) validates too."""

    time_targets: TimeTargets = TimeTargets()
    acknowledgement_hours: Annotated[int, Field(strict=True, ge=1, le=720)] = DEFAULT_RULES[
        ClockKind.ACKNOWLEDGEMENT
    ].amount
    acceptance_working_days: WorkingDayCount = DEFAULT_RULES[ClockKind.ACCEPTANCE].amount
    yellow_share: Annotated[float, Field(strict=True, gt=0, le=1)] = 2 / 3
    amount_thresholds: AmountThresholds = AmountThresholds()
    collective: Collective = Collective()
    # the lowest tier a safety-related category starts at (routing rule `tier.safety`)
    safety_tier: Literal["township", "city"] = "township"
    early_warning: EarlyWarning = EarlyWarning()
    enabled_categories: Categories = "all"
    working_days: WorkingDays = WorkingDays()
    settle_first: SettleFirst = SettleFirst()
    disclosure: Disclosure = Disclosure()


DEFAULTS = TenantSettings()


def _field_name(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc if not (isinstance(part, str) and "[" in part)) or "settings"


def _invalid(exc: ValidationError) -> InvalidInput:
    seen: dict[str, str] = {}
    for error in exc.errors():
        message = "unknown setting; remove it" if error["type"] == "extra_forbidden" else error["msg"]
        seen.setdefault(_field_name(tuple(error["loc"])), message)
    return InvalidInput([{"field": field, "message": message} for field, message in seen.items()])


def _prune(document: dict[str, Any]) -> dict[str, Any]:
    """Drop objects left empty (a patch removed their last override)."""
    pruned = {}
    for key, value in document.items():
        if isinstance(value, dict):
            value = _prune(value)
            if not value:
                continue
        pruned[key] = value
    return pruned


def validate_overrides(overrides: Any) -> dict[str, Any]:
    """A tenant's own overrides, checked and normalised to JSON; InvalidInput naming the field."""
    if not isinstance(overrides, dict):
        raise InvalidInput.one("settings", "expected an object of settings to override")
    try:
        parsed = TenantSettings.model_validate(overrides)
    except ValidationError as exc:
        raise _invalid(exc) from exc
    return _prune(parsed.model_dump(mode="json", exclude_unset=True))


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: objects merge, null removes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _merge_days(inherited: Mapping[str, Any], own: Mapping[str, Any]) -> dict[str, list[str]]:
    own_work, own_off = set(own.get("extra_workdays", ())), set(own.get("extra_holidays", ()))
    work = (set(inherited.get("extra_workdays", ())) - own_off) | own_work
    off = (set(inherited.get("extra_holidays", ())) - own_work) | own_off
    return {"extra_workdays": sorted(work), "extra_holidays": sorted(off)}


def _merge(inherited: Mapping[str, Any], own: Mapping[str, Any], path: tuple[str, ...] = ()) -> dict[str, Any]:
    result = dict(inherited)
    for key, value in own.items():
        above = result.get(key)
        if (*path, key) == ("working_days",) and isinstance(value, Mapping) and isinstance(above, Mapping):
            result[key] = _merge_days(above, value)
        elif isinstance(value, Mapping) and isinstance(above, Mapping):
            result[key] = _merge(above, value, (*path, key))
        else:
            result[key] = value
    return result


def effective(chain: Iterable[Mapping[str, Any]]) -> TenantSettings:
    """The settings that apply at the end of `chain`: each tenant's overrides, from the top down."""
    merged: dict[str, Any] = DEFAULTS.model_dump(mode="json")
    for overrides in chain:
        merged = _merge(merged, overrides or {})
    try:
        return TenantSettings.model_validate(merged)
    except ValidationError as exc:
        raise _invalid(exc) from exc


def work_calendar(settings: TenantSettings) -> WorkCalendar:
    """The tenant's working-day calendar: the official one with its overrides."""
    return WorkCalendar(settings.working_days.extra_workdays, settings.working_days.extra_holidays)
