"""Who is responsible for a case, and why: pure functions over plain values (no broker, no database).

Skeleton rule set (属地管理): the lowest onboarded unit covering the business's division code, else
the incident place. Tier rules, agencies and escalation come with the routing issue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from common.divisions import lineage


@dataclass(frozen=True)
class UnitRef:
    code: str
    name: str
    tier: str


@dataclass(frozen=True)
class Decision:
    unit: UnitRef
    rule: str
    inputs: dict[str, Any] = field(default_factory=dict)


class NoResponsibleUnit(LookupError):
    """No onboarded unit covers the place: the case cannot be routed on this platform."""


def lowest_onboarded(code: str, onboarded: Mapping[str, UnitRef]) -> UnitRef | None:
    return next((onboarded[c] for c in lineage(code) if c in onboarded), None)


def decide_responsibility(
    *, business_division_code: str | None, incident_division_code: str, onboarded: Mapping[str, UnitRef]
) -> Decision:
    """属地管理: the business's place decides (Art 13); without one, where it happened."""
    if business_division_code:
        place, rule = business_division_code, "territory.business"
    else:
        place, rule = incident_division_code, "territory.incident"
    unit = lowest_onboarded(place, onboarded)
    if unit is None:
        raise NoResponsibleUnit(f"no onboarded unit covers {place}")
    return Decision(unit=unit, rule=rule, inputs={"place": place, "covering": lineage(place)})
