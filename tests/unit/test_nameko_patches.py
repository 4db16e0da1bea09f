"""The changes common/messaging.py makes to nameko: installed only when a service asks
(`install_nameko_patches()`, in each service.py), and wrapped around nameko methods whose source is
pinned here. A nameko upgrade that changes one fails this test: read the new method, check the
wrapper still holds (docs of `install_broker_loss_guards`, `install_rpc_queue_declarations`), then
pin the new hash."""

from __future__ import annotations

import hashlib
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from common import messaging

ROOT = Path(__file__).resolve().parents[2]

# sha256 of `inspect.getsource` of each wrapped method, nameko 2.14.1
PINNED = {
    "QueueConsumer.ack_message": "b8a1614182c16380",
    "QueueConsumer.requeue_message": "42a6f7bb5b0ed534",
    "Responder.send_response": "d5c3234c5e408a01",
    "RpcConsumer.setup": "5f423f9c59173a5d",
    "ReplyListener.setup": "13e0e4ffef66593a",
}


def source_hash(cls: type, name: str) -> str:
    original = inspect.unwrap(getattr(cls, name))  # the wrappers keep nameko's method as __wrapped__
    return hashlib.sha256(inspect.getsource(original).encode()).hexdigest()[:16]


@pytest.mark.parametrize(("cls", "name"), messaging.PATCHED_METHODS, ids=lambda v: getattr(v, "__name__", v))
def test_the_wrapped_nameko_methods_are_those_the_wrappers_were_written_for(cls: type, name: str) -> None:
    key = f"{cls.__name__}.{name}"
    assert source_hash(cls, name) == PINNED[key], f"nameko changed {key}: review its wrapper in common/messaging.py"


def test_every_wrapped_method_is_pinned() -> None:
    assert {f"{cls.__name__}.{name}" for cls, name in messaging.PATCHED_METHODS} == set(PINNED)


def test_importing_the_module_changes_nothing_and_installing_wraps_each_method_once() -> None:
    probe = """
import inspect
from common import messaging
before = {(c, n): getattr(c, n) for c, n in messaging.PATCHED_METHODS}
assert not any(hasattr(f, "__wrapped__") for f in before.values()), "patched at import"
messaging.install_nameko_patches()
messaging.install_nameko_patches()
for (c, n), original in before.items():
    patched = getattr(c, n)
    assert patched is not original and patched.__wrapped__ is original, (c, n)
"""
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]


def test_every_service_installs_them() -> None:
    for service in sorted((ROOT / "services").glob("*/service.py")):
        assert "\ninstall_nameko_patches()" in service.read_text(), service
