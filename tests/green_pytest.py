"""pytest in an eventlet-patched process, for the interface tests of one service
(`tests/<service>/test_interface.py`): a nameko container runs in the test's own process, which
needs the standard library's sockets, threads and clocks to yield to eventlet. The rest of the suite
must not run patched (the gateway's asyncio client, Playwright, the psycopg2 COPY of the division
import), so `pytest` hands each interface module to a process of its own started here
(tests/conftest.py `pytest_pycollect_makemodule`).

    python -m tests.green_pytest tests/intake/test_interface.py -k duplicate
"""

from __future__ import annotations

if __name__ == "__main__":
    import eventlet

    # psycopg2 yields once a service container starts (common.db.patch_psycopg), not before: the
    # database is prepared first, with the division import's COPY, which cannot run green
    eventlet.monkey_patch(psycopg=False)

    import sys

    import pytest

    sys.exit(pytest.main(sys.argv[1:]))
