"""Staff accounts: the demo accounts, one per unit, that exist only in demo mode.

python -m gateway.accounts demo data/divisions     # create or refresh them
python -m gateway.accounts remove-demo             # leaving demo mode removes them
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from common.config import settings
from common.db import make_engine
from common.divisions import is_unit_code
from common.tenancy import UNIT_ROLES
from gateway.auth import hash_password
from gateway.models import User


def unit_codes(folder: Path) -> list[str]:
    """Every city, township and village code in a division folder (china-division CSV layout)."""
    codes: list[str] = []
    for filename in ("areas.csv", "streets.csv", "villages.csv"):
        path = folder / filename
        if path.exists():
            with path.open(newline="", encoding="utf-8") as handle:
                codes += [row["code"] for row in csv.DictReader(handle) if is_unit_code(row["code"])]
    return codes


def ensure_demo_accounts(session: Session, codes: Iterable[str], password: str) -> int:
    """One account per unit, named by its division code, holding every role of a unit."""
    # one hash serves every demo account: hashing a thousand passwords would take a minute
    password_hash = hash_password(password)
    rows = [
        {"username": c, "password_hash": password_hash, "tenant_code": c, "roles": sorted(UNIT_ROLES), "demo": True}
        for c in codes
    ]
    if not rows:
        return 0
    statement = insert(User).values(rows)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[User.username],
            set_={"password_hash": statement.excluded.password_hash, "roles": statement.excluded.roles},
            where=User.demo.is_(True),
        )
    )
    return len(rows)


def remove_demo_accounts(session: Session) -> int:
    return session.execute(delete(User).where(User.demo.is_(True))).rowcount


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m gateway.accounts")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="create the demo accounts for every unit in a division folder")
    demo.add_argument("folder", type=Path)
    sub.add_parser("remove-demo", help="remove every demo account")
    args = parser.parse_args()
    engine = make_engine()
    with Session(engine) as session, session.begin():
        if args.command == "demo":
            print(f"{ensure_demo_accounts(session, unit_codes(args.folder), settings().demo_password)} demo accounts")
        else:
            print(f"removed {remove_demo_accounts(session)} demo accounts")
    engine.dispose()


if __name__ == "__main__":
    main()
