"""What routing knows of a complaint: its facts, read from `complaint.received.v1` and kept as JSON
on the assignment (a return or a reclassification decides again on them)."""

from __future__ import annotations

from dataclasses import asdict, fields
from decimal import Decimal
from typing import Any

from common.contracts import ComplaintReceived
from services.routing.rules import Facts


def category_flags(code: str) -> tuple[bool, str | None]:
    """(safety_related, agency type) of an intake category code; unknown codes have neither.
    The categories are data (services/intake/categories.py); routing reads them, never intake's tables."""
    from services.intake.categories import CATEGORIES

    found = next((c for c in CATEGORIES if c.code == code), None)
    return (found.safety_related, found.agency) if found else (False, None)


def facts_of(event: ComplaintReceived, collective: int = 0) -> Facts:
    """What a decision reads from `complaint.received.v1`. Fields intake may or may not send are read
    with defaults: business_registered_division_code, business_operating_division_code,
    is_platform_shop, platform_division_code, complainant_division_code, and the category flags
    (`safety_related`, `agency`) when the event carries them, else from the category list."""
    safety, agency = category_flags(event.category)
    safety = bool(getattr(event, "safety_related", None) or safety)
    agency = getattr(event, "agency", None) or agency
    return Facts(
        incident_division_code=event.incident_division_code,
        business_division_code=event.business_division_code,
        business_registered_division_code=getattr(event, "business_registered_division_code", None),
        business_operating_division_code=getattr(event, "business_operating_division_code", None),
        is_platform_shop=bool(getattr(event, "is_platform_shop", False)),
        platform_division_code=getattr(event, "platform_division_code", None),
        complainant_division_code=getattr(event, "complainant_division_code", None),
        category=event.category,
        claim_amount=event.claim_amount,
        safety_related=safety,
        agency_type=agency,
        collective_complainants=collective,
    )


def facts_to_json(facts: Facts) -> dict[str, Any]:
    data = asdict(facts)
    if data["claim_amount"] is not None:
        data["claim_amount"] = str(data["claim_amount"])
    return data


def facts_from_json(data: dict[str, Any]) -> Facts:
    known = {f.name for f in fields(Facts)}
    values = {k: v for k, v in data.items() if k in known}
    if values.get("claim_amount") is not None:
        values["claim_amount"] = Decimal(str(values["claim_amount"]))
    return Facts(**values)
