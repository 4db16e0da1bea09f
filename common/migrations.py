"""Alembic, one schema per component. Each component keeps its own `migrations/` folder whose
env.py calls `run_migrations(metadata)`; this module runs them programmatically.

    python -m common.migrations upgrade            # every component
    python -m common.migrations revision intake -m "add x"   # autogenerate for one component
"""

from __future__ import annotations

import argparse
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text

from common.db import make_engine

ROOT = Path(__file__).resolve().parent.parent
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


def run_migrations(metadata: MetaData) -> None:
    """Body of every component's env.py: migrate its own schema and nothing else."""
    schema = metadata.schema
    engine = make_engine(context.config.attributes.get("database_url"), poolclass=None, pool_size=1)
    with engine.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        connection.commit()
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table_schema=schema,
            include_schemas=True,
            include_name=lambda name, type_, _: type_ != "schema" or name == schema,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def upgrade(database_url: str | None = None, components: list[str] | None = None) -> None:
    for component in components or list(COMPONENTS):
        command.upgrade(alembic_config(component, database_url), "head")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m common.migrations")
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
