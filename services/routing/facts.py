"""What routing knows of a complaint: its facts, read from `complaint.received.v1` and kept as JSON
on the assignment (a return or a reclassification decides again on them)."""

from __future__ import annotations

from dataclasses import asdict, fields
from decimal import Decimal
from typing import Any

from common import categories
from common.contracts import ComplaintReceived
from services.routing.rules import Facts


def category_flags(code: str) -> tuple[bool, str | None]:
    """(safety_related, agency type) of a category code (common/categories.py); unknown codes have
    neither."""
    try:
        found = categories.category(code)
    except KeyError:
        return False, None
    return found.safety_related, found.agency


def facts_of(event: ComplaintReceived, collective: int = 0) -> Facts:
    """What a decision reads from `complaint.received.v1`, with the category's flags."""
    safety, agency = category_flags(event.category)
    return Facts(
        incident_division_code=event.incident_division_code,
        business_division_code=event.business_division_code,
        business_registered_division_code=event.business_registered_division_code,
        business_operating_division_code=event.business_operating_division_code,
        is_platform_shop=event.is_platform_shop,
        platform_division_code=event.platform_division_code,
        complainant_division_code=event.complainant_division_code,
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
