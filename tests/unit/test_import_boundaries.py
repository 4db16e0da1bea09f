"""The import contracts of pyproject.toml (docs/architecture.md) hold on the tree, and each fails on a
forbidden import planted in a copy of it: a contract that cannot fail would prove nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("common", "services", "gateway", "ops")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

# contract id -> (module, the import planted in it)
PLANTED = [
    ("services", "services/routing/moves.py", "import services.intake.validation"),
    ("layers", "gateway/errors.py", "import services.notification.delivery"),
    ("layers", "common/masking.py", "import services.intake.validation"),
    ("layers", "services/intake/checks.py", "import gateway.auth"),
    ("layers", "common/reference.py", "import ops.migrate"),
    ("kernel", "common/reference.py", "import common.db"),
    ("kernel", "common/contracts/mediation.py", "from common.messaging import on_event"),
    ("platform", "common/telemetry.py", "import common.db"),
    ("platform", "common/outbox.py", "from common.clock_watch import ClockWatch"),
    ("metrics", "common/metrics.py", "from common.errors import InvalidInput"),
]


def lint_imports(tree: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    options = [arg for contract in contracts for arg in ("--contract", contract)]
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", *options],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of the Python packages and pyproject.toml, to plant imports in."""
    copy = tmp_path_factory.mktemp("tree")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    yield copy


def test_the_tree_keeps_every_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("contract", "module", "statement"), PLANTED, ids=lambda v: str(v).replace("/", "."))
def test_a_planted_import_breaks_its_contract(tree: Path, contract: str, module: str, statement: str) -> None:
    path = tree / module
    original = path.read_text()
    try:
        path.write_text(original + f"\n{statement}  # planted by test_import_boundaries\n")
        result = lint_imports(tree, contract)
    finally:
        path.write_text(original)
    assert result.returncode != 0, result.stdout[-3000:]
    assert "BROKEN" in result.stdout, result.stdout[-3000:]


def test_the_copy_keeps_every_contract_without_a_plant(tree: Path) -> None:
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout[-3000:]
