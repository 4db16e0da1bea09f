"""Who is responsible for a case, and why: pure functions over plain values (no broker, no database).

The rules (docs/routing.md has them with examples):

1. **Territory** (属地管理, Art 13) picks the place:
   - a platform seller (`is_platform_shop`): the address shown on the platform
     (`business_operating_division_code`), else the platform's registered address
     (`platform_division_code`, else `business_registered_division_code`) - rule
     `territory.platform`, `place_source` `platform_shown` / `platform_registered`;
   - any other business: where it operates, else where it is registered, else the one division code
     intake sends (rule `territory.business`, `place_source` `business_operating` /
     `business_registered` / `business`);
   - no business address at all: where it happened (`territory.incident`).
   The lowest onboarded unit covering the place gets the case.
2. **Tier** (分级负责): some cases start higher. Each rule names the lowest tier it allows:
   claim above the village maximum -> township, above the township maximum -> city (`tier.amount`);
   a safety-related category -> township or the tenant's `safety_tier` (`tier.safety`); a collective
   dispute, several complainants against one business within the window -> township
   (`tier.collective`); business and consumer in different townships -> their lowest common unit
   (`tier.cross_area`). The highest requirement wins; the case goes to the lowest onboarded unit
   covering the place at that tier or above.
3. **Agency** (谁主管，谁负责): a category belonging to an agency type is handed to that agency of
   the decided unit, else of the nearest unit above it that has one (`agency.<type>`); the unit stays
   responsible until the agency acknowledges.

Every `Decision` carries the rule that decided it and the inputs it used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any, NamedTuple

from common.divisions import lineage, lowest_common_unit, parent_of

TIER_RANK = {"village": 0, "township": 1, "city": 2}
TIERS = ("village", "township", "city")
_RANK_BY_LENGTH = {12: 0, 9: 1, 6: 2}
_NONE: Mapping[str, Any] = MappingProxyType({})  # an empty, read-only default
_tuple_new = tuple.__new__


class UnitRef(NamedTuple):
    """An onboarded unit (a tuple: cheap to build for a national tree)."""

    code: str
    name: str
    tier: str


class Decision(NamedTuple):
    unit: UnitRef
    rule: str
    inputs: dict[str, Any]
    agency: str | None = None  # the agency tenant the case is handed to, if any


@dataclass(frozen=True, slots=True)
class Facts:
    """What a routing decision reads from a complaint (ComplaintReceived and routing's own counts)."""

    incident_division_code: str
    business_division_code: str | None = None
    business_registered_division_code: str | None = None
    business_operating_division_code: str | None = None
    is_platform_shop: bool = False
    platform_division_code: str | None = None
    complainant_division_code: str | None = None
    category: str = ""
    claim_amount: Decimal | float | int | None = None
    safety_related: bool = False
    agency_type: str | None = None
    # distinct complainants against the same business within the collective window, this one included
    collective_complainants: int = 0


@dataclass(frozen=True, slots=True)
class TierPolicy:
    """The tier settings of the territorial unit (its effective settings)."""

    village_max: int = 5_000
    township_max: int = 50_000
    collective_complainants: int = 5
    safety_tier: str = "township"


DEFAULT_POLICY = TierPolicy()


class NoResponsibleUnit(LookupError):
    """No onboarded unit covers the place: the case cannot be routed on this platform."""


def lowest_onboarded(code: str, onboarded: Mapping[str, UnitRef]) -> UnitRef | None:
    return next((onboarded[c] for c in lineage(code) if c in onboarded), None)


def territory(facts: Facts) -> tuple[str, str, str]:
    """(place, rule, source): which division code decides, the rule that picked it, and which of the
    complaint's addresses it is."""
    if facts.is_platform_shop:
        if facts.business_operating_division_code:
            return facts.business_operating_division_code, "territory.platform", "platform_shown"
        registered = facts.platform_division_code or facts.business_registered_division_code
        if registered:
            return registered, "territory.platform", "platform_registered"
    if facts.business_operating_division_code:
        return facts.business_operating_division_code, "territory.business", "business_operating"
    if facts.business_registered_division_code:
        return facts.business_registered_division_code, "territory.business", "business_registered"
    if facts.business_division_code:
        return facts.business_division_code, "territory.business", "business"
    return facts.incident_division_code, "territory.incident", "incident"


def required_tier(facts: Facts, place: str, policy: TierPolicy) -> tuple[str | None, list[dict[str, Any]]]:
    """The lowest tier the case may start at (None: no tier rule fired) and each rule that fired."""
    fired: list[dict[str, Any]] = []
    rank = -1  # the highest tier rank any rule required so far
    amount = facts.claim_amount
    if amount is not None:
        if amount > policy.township_max:
            fired.append(
                {
                    "rule": "tier.amount",
                    "tier": "city",
                    "claim_amount": str(amount),
                    "township_max": policy.township_max,
                }
            )
            rank = 2
        elif amount > policy.village_max:
            fired.append(
                {
                    "rule": "tier.amount",
                    "tier": "township",
                    "claim_amount": str(amount),
                    "village_max": policy.village_max,
                }
            )
            rank = 1
    if facts.safety_related:
        fired.append({"rule": "tier.safety", "tier": policy.safety_tier, "category": facts.category})
        rank = max(rank, TIER_RANK[policy.safety_tier])
    if facts.collective_complainants and facts.collective_complainants >= policy.collective_complainants:
        fired.append(
            {
                "rule": "tier.collective",
                "tier": "township",
                "complainants": facts.collective_complainants,
                "threshold": policy.collective_complainants,
            }
        )
        rank = max(rank, 1)
    other = facts.complainant_division_code
    if other and len(other) >= 9 and len(place) >= 9 and other[:9] != place[:9]:
        common = lowest_common_unit(other, place)
        if common is not None:
            fired.append(
                {"rule": "tier.cross_area", "tier": "city", "common_unit": common, "complainant_division_code": other}
            )
            rank = 2
    if not fired:
        return None, fired
    return TIERS[rank], fired


def find_agency(unit_code: str, agency_type: str, agencies: Mapping[str, Mapping[str, str]]) -> str | None:
    """The agency of `agency_type` attached to the unit, else to the nearest unit above it."""
    for code in lineage(unit_code):
        found = agencies.get(code, _NONE).get(agency_type)
        if found:
            return found
    return None


def decide(
    facts: Facts,
    onboarded: Mapping[str, UnitRef],
    policy_for: Callable[[str], TierPolicy] | None = None,
    agencies: Mapping[str, Mapping[str, str]] | None = None,
) -> Decision:
    """The responsible unit (and agency, if any) for a case, with the rule and its inputs.

    `policy_for(code)` gives the tier policy of an onboarded unit (its effective settings)."""
    place, rule, source = territory(facts)
    covering = lineage(place)
    chain = [c for c in covering if c in onboarded]  # codes, lowest first
    if not chain:
        raise NoResponsibleUnit(f"no onboarded unit covers {place}")
    territorial = onboarded[chain[0]]
    policy = policy_for(territorial.code) if policy_for else DEFAULT_POLICY
    return decide_over(facts, place, rule, source, covering, chain, territorial, policy, onboarded, agencies or _NONE)


def decide_over(
    facts: Facts,
    place: str,
    rule: str,
    source: str,
    covering: list[str],
    chain: Sequence[str],
    territorial: UnitRef,
    policy: TierPolicy,
    onboarded: Mapping[str, UnitRef],
    agencies: Mapping[str, Mapping[str, str]],
) -> Decision:
    """`decide` once the place is known, for callers that keep what depends on the place only
    (`DivisionTree`): `territory(facts)` gave (place, rule, source); `covering` is `lineage(place)`
    (the list goes into the inputs as it is), `chain` the onboarded codes among it, lowest first (not
    empty), `territorial` the unit of `chain[0]` and `policy` its tier policy."""
    unit = territorial
    amount = facts.claim_amount
    inputs: dict[str, Any] = {
        "place": place,
        "place_source": source,
        "covering": covering,
        "territorial_unit": territorial.code,
    }
    # the common case (no tier rule can fire) skips the rule list
    if (
        (amount is None or amount <= policy.village_max)
        and not facts.safety_related
        and facts.collective_complainants < policy.collective_complainants
        and not facts.complainant_division_code
    ):
        pass
    else:
        tier, fired = required_tier(facts, place, policy)
        if tier is not None:
            rank = TIER_RANK[tier]
            # a unit's tier is its code's length (city 6, township 9, village 12)
            code = next((c for c in chain if _RANK_BY_LENGTH[len(c)] >= rank), chain[-1])
            if code != territorial.code:
                unit = onboarded[code]
                rule = next(f for f in fired if f["tier"] == tier)["rule"]
            inputs["tier_rules"] = fired
            inputs["required_tier"] = tier
            if TIER_RANK[unit.tier] < rank:
                inputs["capped"] = f"no onboarded {tier} covers {place}; the highest onboarded unit takes it"
    if facts.category:
        inputs["category"] = facts.category
    if amount is not None:
        inputs["claim_amount"] = str(amount)
    agency = None
    if facts.agency_type:
        agency_type = facts.agency_type
        agency = find_agency(unit.code, agency_type, agencies)
        inputs["agency"] = {"rule": f"agency.{agency_type}", "type": agency_type, "tenant": agency}
        if agency is None:
            inputs["agency"]["note"] = f"no {agency_type} agency onboarded at or above {unit.code}; the unit keeps it"
    # tuple.__new__ skips the named tuple's Python-level __new__: the same object, a few times cheaper
    return _tuple_new(Decision, (unit, rule, inputs, agency))


def decide_responsibility(
    *, business_division_code: str | None, incident_division_code: str, onboarded: Mapping[str, UnitRef]
) -> Decision:
    """属地管理 only (no tier or agency rules): the business's place decides (Art 13); without one,
    where it happened."""
    facts = Facts(incident_division_code=incident_division_code, business_division_code=business_division_code)
    return decide(facts, onboarded)


# --- moving a case ------------------------------------------------------------------------------


def escalation_target(code: str, onboarded: Mapping[str, UnitRef]) -> UnitRef | None:
    """The nearest onboarded unit above `code` (village -> township -> city); None at the top."""
    return next((onboarded[c] for c in lineage(code)[1:] if c in onboarded), None)


def common_higher_unit(a: str, b: str, onboarded: Mapping[str, UnitRef]) -> UnitRef | None:
    """The lowest onboarded unit above both `a` and `b` (Art 33: it decides their dispute). When one
    covers the other, the unit above the higher one; None when nothing on the platform covers both."""
    common = lowest_common_unit(a, b)
    if common is None:
        return None
    if common in (a, b):
        common = parent_of(common)
        if common is None:
            return None
    return lowest_onboarded(common, onboarded)


def tier_for_reclassification(facts: Facts, place: str, policy: TierPolicy) -> tuple[str | None, list[dict[str, Any]]]:
    """The tier a case must be at after reclassification (new amount or category)."""
    return required_tier(facts, place, policy)
