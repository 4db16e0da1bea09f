"""The tenant registry: the official division table and the units onboarded from it.

    python -m services.routing.registry import-divisions data/divisions
    python -m services.routing.registry onboard 330681 --subtree
    python -m services.routing.registry onboard 330681109 --agency police
    python -m services.routing.registry offboard 330681109290

The import streams CSV rows into PostgreSQL with COPY through a temporary table, so the whole
national table (about 660,000 rows) loads in seconds and little memory (docs/performance.md,
"Division import"), and a re-import rewrites only the rows whose name or parent changed. Codes
that disappeared from the table are kept: cases and tenants may still name them.

Onboarding and offboarding from the command line go through `services.routing.tenants` like the
API, with an audit row whose actor is `cli:<login>`; an offboard's `case.reassigned.v1` events wait
in routing's outbox until the routing service publishes them.
"""

from __future__ import annotations

import argparse
import csv
import getpass
import io
import itertools
from collections.abc import Iterable, Iterator
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from common.db import make_engine
from common.divisions import is_unit_code, lineage, tier_of
from services.routing.models import Agency, Division, Unit
from services.routing.rules import UnitRef

# file name -> the column holding the parent code
DIVISION_FILES = {
    "provinces.csv": None,
    "cities.csv": "provinceCode",
    "areas.csv": "cityCode",
    "streets.csv": "areaCode",
    "villages.csv": "streetCode",
}


def read_divisions(folder: Path) -> Iterator[tuple[str, str, str | None]]:
    for filename, parent_column in DIVISION_FILES.items():
        path = folder / filename
        if not path.exists():
            continue
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, [])
            code, name = header.index("code"), header.index("name")
            parent = header.index(parent_column) if parent_column else None
            for row in reader:
                if row:
                    yield row[code], row[name], row[parent] if parent is not None else None


def import_divisions(engine: Engine, rows: Iterable[tuple[str, str, str | None]], chunk_rows: int = 10_000) -> int:
    """Load (code, name, parent code) rows into routing.divisions in one transaction; the count.

    Rows go to a temporary table with COPY (CSV, written by the C csv module) in chunks, so memory
    stays flat whatever the table's size; one INSERT ... ON CONFLICT then applies them."""
    count = 0
    rows = iter(rows)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("CREATE TEMP TABLE division_load (code text, name text, parent_code text) ON COMMIT DROP")
        while chunk := list(itertools.islice(rows, chunk_rows)):
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerows(chunk)
            buffer.seek(0)
            # an unquoted empty field is NULL in CSV: only the parent code may be missing
            cursor.copy_expert(
                "COPY division_load (code, name, parent_code) FROM STDIN WITH (FORMAT csv, FORCE_NOT_NULL (name))",
                buffer,
            )
            count += len(chunk)
        # only new and changed rows are written (one hash join finds them): a re-import of an
        # unchanged table leaves no dead tuples and no index churn
        cursor.execute("ANALYZE division_load")
        cursor.execute(
            "INSERT INTO routing.divisions AS d (code, name, parent_code) "
            "SELECT l.code, l.name, l.parent_code FROM division_load l "
            "LEFT JOIN routing.divisions o ON o.code = l.code "
            "WHERE o.code IS NULL OR (o.name, o.parent_code) IS DISTINCT FROM (l.name, l.parent_code) "
            "ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, parent_code = EXCLUDED.parent_code"
        )
        raw.commit()
    finally:
        raw.close()
    return count


def onboard(session: Session, code: str, *, subtree: bool = False) -> int:
    """Make a unit (and with `subtree`, every township and village under it) a tenant."""
    if not is_unit_code(code):
        raise ValueError(f"{code!r} is not a city (6), township (9) or village (12) code")
    query = select(Division.code, Division.name).where(Division.code == code)
    if subtree:
        query = select(Division.code, Division.name).where(Division.code.startswith(code))
    rows = [(c, n) for c, n in session.execute(query) if is_unit_code(c)]
    if not rows:
        raise LookupError(f"division code {code} is not in the registry; import the division table first")
    session.execute(
        insert(Unit)
        .values([{"code": c, "name": n, "tier": tier_of(c).value, "settings": {}} for c, n in rows])
        .on_conflict_do_update(index_elements=[Unit.code], set_={"name": insert(Unit).excluded.name})
    )
    return len(rows)


def onboard_new(session: Session, code: str, *, subtree: bool = False) -> list[str]:
    """Like `onboard`, but leaves units already onboarded alone; the codes newly onboarded."""
    if not is_unit_code(code):
        raise ValueError(f"{code!r} is not a city (6), township (9) or village (12) code")
    query = select(Division.code, Division.name).where(
        Division.code.startswith(code, autoescape=True) if subtree else Division.code == code
    )
    rows = [(c, n) for c, n in session.execute(query) if is_unit_code(c)]
    if not any(c == code for c, _ in rows):
        raise LookupError(f"division code {code} is not in the registry; import the division table first")
    inserted = session.scalars(
        insert(Unit)
        .values([{"code": c, "name": n, "tier": tier_of(c).value, "settings": {}} for c, n in rows])
        .on_conflict_do_nothing(index_elements=[Unit.code])
        .returning(Unit.code)
    )
    return sorted(inserted)


def onboarded_lineage(session: Session, code: str, *, lock: bool = False) -> dict[str, UnitRef]:
    """The onboarded units covering `code`. With `lock` (a routing decision), they are held with
    FOR KEY SHARE until the transaction ends: an offboard waits for the decision to commit and then
    moves its case too, and a decision waiting on an offboard no longer sees the removed unit."""
    query = select(Unit).where(Unit.code.in_(lineage(code)))
    if lock:
        query = query.with_for_update(read=True, key_share=True)
    return {u.code: UnitRef(code=u.code, name=u.name, tier=u.tier) for u in session.scalars(query)}


def served(session: Session, codes: list[str]) -> dict[str, bool]:
    """For each code: a known division with an onboarded unit covering it; for an agency id
    (`<unit code>-<agency type>`), an onboarded agency."""
    agencies = [c for c in codes if "-" in c]
    onboarded_agencies = set(session.scalars(select(Agency.id).where(Agency.id.in_(agencies)))) if agencies else set()
    valid = [c for c in codes if is_unit_code(c)]
    known = set(session.scalars(select(Division.code).where(Division.code.in_(valid)))) if valid else set()
    covering = {c for code in known for c in lineage(code)}
    onboarded = set(session.scalars(select(Unit.code).where(Unit.code.in_(covering)))) if covering else set()
    return {
        c: c in onboarded_agencies if "-" in c else c in known and any(u in onboarded for u in lineage(c))
        for c in codes
    }


def unit_names(session: Session, codes: list[str]) -> dict[str, str]:
    return dict(session.execute(select(Unit.code, Unit.name).where(Unit.code.in_(codes))).tuples().all())


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m services.routing.registry")
    sub = parser.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import-divisions", help="import division CSVs (the china-division layout)")
    imp.add_argument("folder", type=Path)
    onb = sub.add_parser("onboard", help="onboard a unit (or an agency attached to it) as a tenant")
    onb.add_argument("code")
    onb.add_argument("--subtree", action="store_true", help="also every township and village under it")
    onb.add_argument("--agency", metavar="TYPE", help="attach an agency of this type to the unit instead")
    onb.add_argument("--name", help="the agency's name (default: the unit's name and the agency type)")
    off = sub.add_parser("offboard", help="offboard a tenant; a unit's open cases move to the unit above")
    off.add_argument("code")
    args = parser.parse_args()
    engine = make_engine()
    try:
        if args.command == "import-divisions":
            print(f"imported {import_divisions(engine, read_divisions(args.folder))} divisions")
        else:
            print(_tenant_command(engine, args))
    finally:
        engine.dispose()


def _tenant_command(engine: Engine, args: argparse.Namespace) -> str:
    from common.errors import DomainError
    from common.outbox import emit
    from services.routing import tenants
    from services.routing.models import Outbox

    scope = tenants.system_scope(args.code, f"cli:{getpass.getuser()}")
    try:
        with Session(engine) as session, session.begin():
            if args.command == "onboard":
                kind = "agency" if args.agency else "unit"
                done = tenants.onboard(
                    session, scope, args.code, subtree=args.subtree, kind=kind, agency_type=args.agency, name=args.name
                )
                return f"onboarded {done['onboarded']} tenant(s) at {done['code']}"
            result, events = tenants.offboard(session, scope, args.code)
            for event in events:
                emit(session, Outbox, event)
            return f"offboarded {result['code']}; {result['moved']} open case(s) moved to {result['to']}"
    except DomainError as exc:
        raise SystemExit(f"{type(exc).__name__}: {exc}") from exc


if __name__ == "__main__":
    main()
