"""Every package the code imports is declared in the requirements input it is installed from
(requirements*.in, locked into requirements*.txt by `make lock`)."""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
OWN = {"common", "services", "gateway", "ops", "bench", "tests"}
# what each folder runs with: the services' image has requirements.txt only, the gateway's adds the
# PDF extra, tests and benchmarks run in the development environment
INPUTS = {
    "common": ("requirements.in",),
    "services": ("requirements.in",),
    "ops": ("requirements.in",),
    "gateway": ("requirements.in", "requirements-pdf.in"),
    "bench": ("requirements.in", "requirements-pdf.in", "requirements-dev.in"),
    "tests": ("requirements.in", "requirements-pdf.in", "requirements-dev.in"),
}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(*inputs: str) -> set[str]:
    names = set()
    for name in inputs:
        for line in (ROOT / name).read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line and not line.startswith("-"):
                names.add(_normal(Requirement(line).name))
    return names


def _optional(node: ast.Try) -> bool:
    """An import in `try: ... except ImportError:` is optional (e.g. the OTLP/gRPC exporter)."""
    caught = [h.type for h in node.handlers if h.type is not None]
    names = [n.id for t in caught for n in ast.walk(t) if isinstance(n, ast.Name)]
    return "ImportError" in names or "ModuleNotFoundError" in names


def imported(path: Path) -> set[str]:
    """The top-level modules `path` imports, but for its own packages, the standard library and optional ones."""
    tree = ast.parse(path.read_text())
    optional = {id(n) for t in ast.walk(tree) if isinstance(t, ast.Try) and _optional(t) for n in ast.walk(t)}
    modules = set()
    for node in ast.walk(tree):
        if id(node) in optional:
            continue
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
    return {m for m in modules if m not in OWN and m not in sys.stdlib_module_names}


@pytest.mark.parametrize("folder", sorted(INPUTS))
def test_every_imported_package_is_declared(folder):
    distributions = packages_distributions()
    allowed = declared(*INPUTS[folder])
    missing = {}
    for path in (ROOT / folder).rglob("*.py"):
        for module in imported(path):
            providers = {_normal(d) for d in distributions.get(module, [])}
            if not providers & allowed:
                missing.setdefault(module, sorted(providers) or ["not installed"])
    assert missing == {}, f"declare these in {' or '.join(INPUTS[folder])} (module: distributions)"


def test_the_services_image_has_no_pdf_rendering():
    assert "weasyprint" not in declared("requirements.in")
    assert "weasyprint" in declared("requirements-pdf.in")


def test_every_lock_pins_every_package_with_hashes():
    for lock in ("requirements.txt", "requirements-pdf.txt", "requirements-dev.txt"):
        text = (ROOT / lock).read_text()
        pins = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", text, re.MULTILINE)
        hashed = re.findall(r"^[A-Za-z0-9_.-]+==\S+ \\\n\s+--hash=sha256:[0-9a-f]{64}", text, re.MULTILINE)
        assert pins and len(hashed) == len(pins), lock
        assert int(dict(pins)["setuptools"].split(".")[0]) < 81, "nameko's CLI needs pkg_resources"
        assert "file://" not in text and "-c /" not in text, f"{lock} names a file of this machine"
