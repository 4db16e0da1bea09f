"""One-shot setup for a deployment whose PostgreSQL is already running (docker-compose's `migrate`):
migrate every schema, then load the tenants as `make run` does.

    python -m ops.load_demo

Unlike `python -m ops.run` it starts nothing and creates no database: DATABASE_URL must name an
existing database. The sample division table is imported and the demo cities onboarded; with
DEMO_MODE=1 the demo accounts are created (password $DEMO_PASSWORD), otherwise they are removed.
Safe to run again: migrations and the tenant load are idempotent.
"""

from __future__ import annotations

from common.config import settings
from ops.migrate import upgrade
from ops.run import DEMO_CITIES, load_tenants


def main() -> None:
    config = settings()
    print("migrating schemas ...", flush=True)
    upgrade(config.database_url)
    units, accounts = load_tenants(config.database_url, demo=config.demo_mode, password=config.demo_password)
    print(f"tenants: {units} units onboarded in {', '.join(DEMO_CITIES)}; {accounts} demo accounts", flush=True)


if __name__ == "__main__":
    main()
