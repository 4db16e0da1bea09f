"""Rebuild the read model from the event log: `python -m services.reporting.rebuild [DATABASE_URL]`.

The same as the RPC `reporting.rebuild`: one transaction, handlers wait meanwhile (docs/reporting.md).
"""

from __future__ import annotations

import sys

from sqlalchemy.orm import Session

from common.db import make_engine
from services.reporting import folding


def main(argv: list[str]) -> None:
    engine = make_engine(argv[0] if argv else None, pool_size=1)
    with Session(engine) as session, session.begin():
        done = folding.rebuild(session)
    engine.dispose()
    print(f"replayed {done['replayed']} events")


if __name__ == "__main__":
    main(sys.argv[1:])
