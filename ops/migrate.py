"""Every component's schema migrations, in order: the composition root knows the components (the
gateway's identity schema and each service's), common/migrations.py what their migrations share.

    python -m ops.migrate upgrade            # every component
    python -m ops.migrate revision intake -m "add x"   # autogenerate for one component
"""

from __future__ import annotations

import argparse
from pathlib import Path

from alembic import command
from alembic.config import Config

from common.migrations import SERVICE_SCHEMAS, own_service_schemas

ROOT = Path(__file__).resolve().parent.parent
# the order they migrate in
COMPONENTS = {
    "identity": ROOT / "gateway" / "migrations",
    "routing": ROOT / "services" / "routing" / "migrations",
    "intake": ROOT / "services" / "intake" / "migrations",
    "mediation": ROOT / "services" / "mediation" / "migrations",
    "notification": ROOT / "services" / "notification" / "migrations",
    "reporting": ROOT / "services" / "reporting" / "migrations",
}


def alembic_config(component: str, database_url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(COMPONENTS[component]))
    if database_url:
        cfg.attributes["database_url"] = database_url
    return cfg


def upgrade(database_url: str | None = None, components: list[str] | None = None) -> None:
    components = components or list(COMPONENTS)
    for component in components:
        command.upgrade(alembic_config(component, database_url), "head")
    own_service_schemas(database_url, [name for name in components if name in SERVICE_SCHEMAS])


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m ops.migrate")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("upgrade", help="migrate components to head")
    up.add_argument("components", nargs="*", choices=[*COMPONENTS, []])
    rev = sub.add_parser("revision", help="autogenerate a migration for one component")
    rev.add_argument("component", choices=list(COMPONENTS))
    rev.add_argument("-m", "--message", required=True)
    args = parser.parse_args()
    if args.command == "upgrade":
        upgrade(components=args.components or None)
    else:
        command.revision(alembic_config(args.component), message=args.message, autogenerate=True)


if __name__ == "__main__":
    main()
