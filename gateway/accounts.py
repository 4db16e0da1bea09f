"""Staff accounts: real accounts, and the demo accounts, one per unit, that exist only in demo mode.

python -m gateway.accounts demo data/divisions     # create or refresh them
python -m gateway.accounts remove-demo             # leaving demo mode removes them
python -m gateway.accounts create-user admin 330681 platform_admin   # the first platform admin
                                                   # (password from $NEW_USER_PASSWORD or a prompt)

Users are managed through /api/v1/users once a first admin exists (docs/identity.md).
"""

from __future__ import annotations

import argparse
import csv
import getpass
import re
import sys
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from common.config import AccountsSettings
from common.db import make_engine
from common.divisions import is_unit_code
from common.tenancy import UNIT_ROLES
from gateway.auth import hash_password
from gateway.identity import USERNAME_PATTERN, parse_tenant, tenant_role_problems
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


def create_user(session: Session, username: str, password: str, tenant: str, roles: Iterable[str]) -> User:
    """A real account holding exactly `roles`; ValueError for a bad username, tenant or role."""
    if not re.match(USERNAME_PATTERN, username):
        raise ValueError(f"username {username!r} does not match {USERNAME_PATTERN}")
    problems = tenant_role_problems(parse_tenant(tenant), roles)
    if problems:
        raise ValueError("; ".join(problems))
    user = User(
        username=username,
        password_hash=hash_password(password),
        tenant_code=tenant,
        roles=sorted(set(roles)),
        disabled=False,
        demo=False,
        token_version=0,
    )
    session.add(user)
    session.flush()
    return user


def remove_demo_accounts(session: Session) -> int:
    return session.execute(delete(User).where(User.demo.is_(True))).rowcount


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m gateway.accounts")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="create the demo accounts for every unit in a division folder")
    demo.add_argument("folder", type=Path)
    sub.add_parser("remove-demo", help="remove every demo account")
    create = sub.add_parser("create-user", help="create a real account (e.g. the first platform admin)")
    create.add_argument("username")
    create.add_argument("tenant", help="division code, or <unit code>-<agency type>")
    create.add_argument("roles", nargs="+")
    args = parser.parse_args()
    config = AccountsSettings()
    if args.command == "create-user":
        password = config.new_user_password or getpass.getpass(f"password for {args.username}: ")
        if len(password) < 12:
            sys.exit("the password needs at least 12 characters")
    engine = make_engine()
    with Session(engine) as session, session.begin():
        if args.command == "demo":
            print(f"{ensure_demo_accounts(session, unit_codes(args.folder), config.demo_password)} demo accounts")
        elif args.command == "create-user":
            try:
                user = create_user(session, args.username.lower(), password, args.tenant, args.roles)
            except ValueError as exc:
                sys.exit(str(exc))
            print(f"created {user.username} ({user.tenant_code}: {', '.join(user.roles)})")
        else:
            print(f"removed {remove_demo_accounts(session)} demo accounts")
    engine.dispose()


if __name__ == "__main__":
    main()
