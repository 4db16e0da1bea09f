"""The acceptance decision's printable notices (Art 15-16): 受理告知书 and 不予受理告知书, HTML
from jinja2 templates (`templates/`, autoescaped), like mediation's documents. The complainant's
name and phone appear as the caller may see them (in full only for the responsible unit's case
staff, and that read is audited by the service); the free-text reason of a refusal is the clerk's."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from common import reference
from common.categories import ConsumerRequest, RefusalGround, category
from common.errors import Conflict, NotFound
from common.tenancy import Scope
from common.workdays import SHANGHAI
from services.intake import complaints
from services.intake.models import Complaint

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

# document -> (template, the decision it notifies)
KINDS = {"acceptance": ("acceptance.html", "accepted"), "refusal": ("refusal.html", "refused")}


def _day(value: datetime | str | None) -> str:
    if value is None:
        return ""
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at.astimezone(SHANGHAI).strftime("%Y年%m月%d日")


def render(complaint: Complaint, scope: Scope, kind: str) -> str:
    if kind not in KINDS:
        raise NotFound(f"no document {kind!r}")
    template, decision = KINDS[kind]
    decided = complaint.decision or {}
    if decided.get("decision") != decision:
        raise Conflict(f"the complaint was not {decision}: there is no {kind} notice")
    try:
        category_name = category(complaint.category or "").name_zh
    except KeyError:
        category_name = complaint.category or ""
    context: dict[str, Any] = {
        "c": complaint,
        "complainant": complaints.complainant_view(complaint, scope, single=True),
        "unit_name": complaint.responsible_unit_name or complaint.responsible_unit_code,
        "tier_name": reference.TIERS.get(complaint.responsible_tier or "", ""),
        "channel": reference.CHANNELS.get(complaint.channel, complaint.channel),
        "category": category_name,
        "requests": "、".join(ConsumerRequest(r).label_zh for r in complaint.requests or []) or "—",
        "received_on": _day(complaint.received_at),
        "decided_on": _day(decided.get("at")),
        "generated_at": datetime.now(UTC).astimezone(SHANGHAI).strftime("%Y年%m月%d日 %H:%M"),
    }
    if decision == "refused":
        context.update(
            ground=RefusalGround(decided["ground"]).label_zh,
            reason=decided.get("reason", ""),
            other_routes=decided.get("other_routes", ""),
        )
    return _env.get_template(template).render(**context)
