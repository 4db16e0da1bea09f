"""The case list of the staff console (docs/intake.md, "The case list"): the cases in the caller's
scope, filtered, searched, sorted and paged in the database, with each row's light and nearest clock.

Every filter value is checked against its code list; an unknown one is a 422 naming the field and
the allowed values, never an empty page. A list is always masked (complaints.view, `single=False`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, and_, false, func, or_, select, true, union_all
from sqlalchemy.orm import Session, selectinload

from common import reference
from common.categories import CATEGORIES
from common.contracts import CHANNELS
from common.divisions import is_unit_code
from common.errors import InvalidInput
from common.tenancy import Scope
from common.workdays import SHANGHAI
from services.intake import complaints, duplicates, lights
from services.intake.models import CaseLight, ClockRow, ClockVerdict, Complaint

MAX_LIMIT: Final = 200
MAX_QUERY_LEN: Final = 100
SORTS: Final = ("-received_at", "received_at", "deadline")
LIGHTS: Final = tuple(reference.LIGHTS)
ON_TIME: Final = tuple(reference.REPORTED_CLOCKS.values())
_CATEGORY_CODES: Final = tuple(c.code for c in CATEGORIES)
_PHONE_TAIL = re.compile(r"\d{4}")
_CODE_PREFIX = re.compile(r"[0-9A-Z]{2,24}")  # a case number (TS…) or a credit code, or their start


@dataclass(frozen=True)
class ListQuery:
    offset: int = 0
    limit: int = 50
    sort: str = "-received_at"
    q: str | None = None
    statuses: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    unit: str | None = None
    lights: tuple[str, ...] = ()
    received_from: date | None = None
    received_to: date | None = None
    escalated: bool | None = None
    read_only: bool | None = None
    on_time: str | None = None  # a figure of reporting's on-time rates: the cases whose clock it counted
    on_time_from: date | None = None  # the days the clocks stopped (the rate's period), inclusive
    on_time_to: date | None = None


def _codes(value: Any, field: str, allowed: tuple[str, ...], problems: list[dict[str, str]]) -> tuple[str, ...]:
    values = [value] if isinstance(value, str) else list(value or [])
    unknown = [v for v in values if v not in allowed]
    if unknown:
        problems.append({"field": field, "message": f"unknown value {unknown[0]!r}; allowed: {', '.join(allowed)}"})
    return tuple(dict.fromkeys(v for v in values if v in allowed))


def _day(value: Any, field: str, problems: list[dict[str, str]]) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        problems.append({"field": field, "message": "a date YYYY-MM-DD"})
        return None


def _flag(value: Any, field: str, problems: list[dict[str, str]]) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "1"):
        return True
    if str(value).lower() in ("false", "0"):
        return False
    problems.append({"field": field, "message": "true or false"})
    return None


def parse(raw: dict[str, Any], scope: Scope) -> ListQuery:
    """The list's query parameters, checked; every problem at once (InvalidInput)."""
    problems: list[dict[str, str]] = []
    offset, limit = raw.get("offset", 0), raw.get("limit", 50)
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        problems.append({"field": "offset", "message": "an integer, 0 or more"})
        offset = 0
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        problems.append({"field": "limit", "message": f"an integer from 1 to {MAX_LIMIT}"})
        limit = 50
    sort = raw.get("sort") or SORTS[0]
    if sort not in SORTS:
        problems.append({"field": "sort", "message": f"unknown value {sort!r}; allowed: {', '.join(SORTS)}"})
    q = raw.get("q")
    if q is not None:
        q = str(q).strip()
        if not 1 <= len(q) <= MAX_QUERY_LEN:
            problems.append({"field": "q", "message": f"1 to {MAX_QUERY_LEN} characters"})
    unit = raw.get("unit") or None
    if unit is not None and (not is_unit_code(str(unit)) or not scope.sees(str(unit))):
        problems.append({"field": "unit", "message": f"a unit in your subtree ({scope.unit}); {unit!r} is not"})
    query = ListQuery(
        offset=offset,
        limit=limit,
        sort=sort,
        q=q or None,
        statuses=_codes(raw.get("status"), "status", tuple(reference.CASE_STATUSES), problems),
        categories=_codes(raw.get("category"), "category", _CATEGORY_CODES, problems),
        channels=_codes(raw.get("channel"), "channel", CHANNELS, problems),
        unit=unit,
        lights=_codes(raw.get("light"), "light", LIGHTS, problems),
        received_from=_day(raw.get("received_from"), "from", problems),
        received_to=_day(raw.get("received_to"), "to", problems),
        escalated=_flag(raw.get("escalated"), "escalated", problems),
        read_only=_flag(raw.get("read_only"), "read_only", problems),
        on_time=(_codes(raw.get("on_time"), "on_time", ON_TIME, problems) or (None,))[0],
        on_time_from=_day(raw.get("on_time_from"), "on_time_from", problems),
        on_time_to=_day(raw.get("on_time_to"), "on_time_to", problems),
    )
    if query.received_from and query.received_to and query.received_from > query.received_to:
        problems.append({"field": "from", "message": "on or before 'to'"})
    if problems:
        raise InvalidInput(problems)
    return query


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, SHANGHAI).astimezone(UTC)


def _search(q: str) -> ColumnElement[bool]:
    """By the query's shape, so each search can use its index: four digits are a phone tail; letters
    and digits (a case number or a credit code) are a prefix of either; anything else (a name) is
    looked for in the complainant's and the business's names.

    The prefixes are `starts_with` on plain columns (`business_key` is 'cc:' and the credit code when
    the business has one): it is leakproof, so under row-level security the prefix indexes still
    narrow the rows before the policy is tested; LIKE and `->>` are not, and scanned the whole scope."""
    upper = q.upper()
    if _PHONE_TAIL.fullmatch(q):
        return func.right(Complaint.complainant_phone, 4) == q
    if _CODE_PREFIX.fullmatch(upper):
        return or_(
            func.starts_with(Complaint.tracking_no, upper),
            func.starts_with(Complaint.business_key, duplicates.CREDIT_CODE_KEY + upper),
        )
    like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return or_(
        Complaint.complainant["name"].astext.ilike(like, escape="\\"),
        Complaint.business["name"].astext.ilike(like, escape="\\"),
    )


def _lit(colours: tuple[str, ...]) -> ColumnElement[bool]:
    """The case has a running clock of one of `colours`: intake's own or a mirrored light. EXISTS,
    so PostgreSQL plans (anti-)joins rather than testing every case against a list."""
    own = select(ClockRow.complaint_id).where(
        ClockRow.complaint_id == Complaint.id, ClockRow.stopped_at.is_(None), ClockRow.colour.in_(colours)
    )
    mirrored = select(CaseLight.complaint_id).where(
        CaseLight.complaint_id == Complaint.id, CaseLight.colour.in_(colours)
    )
    return or_(own.exists(), mirrored.exists())


def _light(lights: tuple[str, ...]) -> ColumnElement[bool]:
    conditions = {
        "red": _lit(("red",)),
        "yellow": and_(_lit(("yellow",)), ~_lit(("red",))),
        "green": and_(~_lit(("red", "yellow")), Complaint.status.not_in(reference.SETTLED_STATUSES)),
    }
    return or_(*(conditions[light] for light in lights))


def count_lights(session: Session, scope: Scope, query: ListQuery) -> dict[str, int]:
    """How many of the cases matching `query` (its light filter aside) show each light, counted in
    one pass: each case joined to whether its running yellow and red clocks and mirrored lights
    include a red one, instead of a count per light that tests every case against them again."""
    lit = union_all(
        select(ClockRow.complaint_id, ClockRow.colour).where(
            ClockRow.stopped_at.is_(None), ClockRow.colour.in_(("red", "yellow"))
        ),
        select(CaseLight.complaint_id, CaseLight.colour).where(CaseLight.colour.in_(("red", "yellow"))),
    ).subquery()
    worst = (
        select(lit.c.complaint_id, func.bool_or(lit.c.colour == "red").label("red"))
        .group_by(lit.c.complaint_id)
        .subquery()
    )
    counted = session.execute(
        select(
            func.count().filter(worst.c.red),
            func.count().filter(~worst.c.red),
            func.count().filter(worst.c.complaint_id.is_(None), Complaint.status.not_in(reference.SETTLED_STATUSES)),
        )
        .select_from(Complaint)
        .outerjoin(worst, worst.c.complaint_id == Complaint.id)
        .where(*_where(replace(query, lights=()), scope))
    ).one()
    return dict(zip(("red", "yellow", "green"), counted, strict=True))


def _where(query: ListQuery, scope: Scope) -> list[ColumnElement[bool]]:
    where = [complaints.in_scope(scope)]
    if query.statuses:
        where.append(Complaint.status.in_(query.statuses))
    if query.categories:
        where.append(Complaint.category.in_(query.categories))
    if query.channels:
        where.append(Complaint.channel.in_(query.channels))
    if query.unit:
        where.append(Complaint.responsible_unit_code.startswith(query.unit, autoescape=True))
    if query.received_from:
        where.append(Complaint.received_at >= _local_midnight(query.received_from))
    if query.received_to and query.received_to < date.max:  # to the last day there is: no upper bound
        where.append(Complaint.received_at < _local_midnight(query.received_to + timedelta(days=1)))
    if query.escalated is not None:
        where.append(Complaint.escalated_at.is_not(None) if query.escalated else Complaint.escalated_at.is_(None))
    if query.read_only is not None:
        # read-only: seen only through a viewer row (a unit of the subtree passed it up)
        handled = true() if scope.is_agency else Complaint.responsible_unit_code.startswith(scope.unit, autoescape=True)
        where.append(~handled if query.read_only else handled)
        if scope.is_agency and query.read_only:
            where.append(false())
    if query.q:
        where.append(_search(query.q))
    if query.lights:
        where.append(_light(query.lights))
    if query.on_time:
        where.append(_counted_on_time(query, scope))
    return where


def _counted_on_time(query: ListQuery, scope: Scope) -> ColumnElement[bool]:
    """The case has a verdict of the figure's clock counted in the subtree (of `unit`, else the
    caller's) in the period: reporting's on-time rate, met and missed, over the same stops."""
    verdicts = select(ClockVerdict.complaint_id).where(
        ClockVerdict.complaint_id == Complaint.id,
        ClockVerdict.figure == query.on_time,
        ClockVerdict.unit_code.startswith(query.unit or scope.unit, autoescape=True),
    )
    if query.on_time_from:
        verdicts = verdicts.where(ClockVerdict.stopped_on >= query.on_time_from)
    if query.on_time_to:
        verdicts = verdicts.where(ClockVerdict.stopped_on <= query.on_time_to)
    return verdicts.exists()


_ORDER: Final = {
    "-received_at": (Complaint.received_at.desc(), Complaint.id),
    "received_at": (Complaint.received_at.asc(), Complaint.id),
    "deadline": (Complaint.next_deadline.asc().nulls_last(), Complaint.received_at.desc(), Complaint.id),
}


def page(session: Session, scope: Scope, query: ListQuery, now: datetime) -> tuple[int, list[dict[str, Any]]]:
    """(the number of matching cases, the rows of the page asked for)."""
    where = _where(query, scope)
    total = session.scalar(select(func.count()).select_from(Complaint).where(*where)) or 0
    found = session.scalars(
        select(Complaint)
        .where(*where)
        .order_by(*_ORDER[query.sort])
        .offset(query.offset)
        .limit(query.limit)
        .options(selectinload(Complaint.clocks))
    ).all()
    mirrored: dict[Any, list[str]] = {}
    if found:
        for key, colour in session.execute(
            select(CaseLight.complaint_id, CaseLight.colour).where(CaseLight.complaint_id.in_([c.id for c in found]))
        ):
            mirrored.setdefault(key, []).append(colour)
    return total, [row(c, scope, now, mirrored.get(c.id, [])) for c in found]


def row(complaint: Complaint, scope: Scope, now: datetime, mirrored: list[str]) -> dict[str, Any]:
    """A list row: the masked case with its light and the nearest of intake's running clocks."""
    running = [r for r in complaint.clocks if r.stopped_at is None]
    unit = complaints.view_unit(complaint)
    nearest = None
    if running:
        first = min(running, key=lambda r: r.deadline)
        nearest = {**lights.views([first], now, unit)[0], "service": "intake"}
    colours = {r.colour for r in running} | set(mirrored)
    if nearest is not None:
        colours.add(nearest["colour"])
    return {
        **complaints.view(complaint, scope, single=False),
        "light": case_light(complaint.status, colours),
        "nearest_clock": nearest,
    }


def case_light(status: str, colours: set[str]) -> str | None:
    """The worst colour of the case's running clocks; green for an open case with none yellow or red;
    none for a settled one."""
    for colour in ("red", "yellow"):
        if colour in colours:
            return colour
    return None if status in reference.SETTLED_STATUSES else "green"
