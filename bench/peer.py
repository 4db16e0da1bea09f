"""The peer to compare with: django-helpdesk 2.6.1 under gunicorn with 2 workers on the same
machine (../shared/peers/django-helpdesk/, its README). `bench.submit` starts it, loads it with the
peer's own load generator (`load.py`: N clients posting tickets back to back), and stops it, in the
same run as the platform and alternating with it, so both are measured under the same conditions.

`setup.sh` there is run once by hand (a virtualenv and a database under /tmp and on the local
PostgreSQL); without it the comparison is skipped and the run says why.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ops.run import ROOT


def _peer_dir() -> Path:
    """shared/peers/django-helpdesk beside the checkout, or beside a folder above it (a worktree)."""
    candidates = [parent / "shared" / "peers" / "django-helpdesk" for parent in ROOT.parents]
    return next((c for c in candidates if c.exists()), candidates[0])


PEER_DIR = _peer_dir()
TOKEN = Path("/tmp/peer-helpdesk/api_token.txt")  # written by setup.sh
URL = "http://127.0.0.1:8100"


def missing() -> str | None:
    """Why the peer cannot run here, or None."""
    if not (PEER_DIR / "load.py").exists():
        return f"no peer at {PEER_DIR}"
    if not TOKEN.exists():
        return f"the peer is not set up: run {PEER_DIR / 'setup.sh'} once"
    return None


@contextlib.contextmanager
def running() -> Iterator[None]:
    """The peer's server from start.sh to stop.sh (a server left running by hand is stopped first)."""
    subprocess.run([str(PEER_DIR / "stop.sh")], capture_output=True, timeout=60)
    subprocess.run([str(PEER_DIR / "start.sh")], check=True, capture_output=True, timeout=120)
    try:
        yield
    finally:
        subprocess.run([str(PEER_DIR / "stop.sh")], capture_output=True, timeout=60)


def load(concurrency: int, seconds: float) -> dict[str, Any]:
    """`concurrency` clients creating tickets back to back for `seconds`: load.py's JSON line."""
    command = [sys.executable, str(PEER_DIR / "load.py"), "--json", "--url", URL]
    command += ["--concurrency", str(concurrency), "--seconds", str(seconds)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"the peer's load.py printed no figures: {done.stdout[-500:]} {done.stderr[-500:]}")
    return json.loads(lines[-1])
