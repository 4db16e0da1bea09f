"""The settings models (common/config.py): their documentation, nameko.yaml's defaults, and that
nothing else reads the environment."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from common.config import MODELS, GatewaySettings, NotificationSettings, PlatformSettings, ServiceSettings
from ops import settings_doc

ROOT = Path(__file__).resolve().parents[2]
# the libraries' own variables, read where the library's reading is followed (docs/settings.md)
LIBRARY_READERS = {"common/telemetry.py", "common/metrics.py"}


def test_docs_settings_is_generated_from_the_models():
    assert settings_doc.DOC.read_text() == settings_doc.render(), "run `python -m ops.settings_doc`"


def test_every_setting_is_described_and_named_once():
    seen: dict[str, type] = {}
    for model in MODELS:
        for name, field in settings_doc._own_fields(model).items():
            assert field.description, f"{model.__name__}.{name} has no description"
            assert field.alias == name.upper()
            assert field.alias not in seen, f"{field.alias} in {seen.get(field.alias)} and {model.__name__}"
            seen[field.alias] = model


def _environment_reads(tree: ast.AST) -> list[int]:
    """Lines reading a variable: os.environ.get(...), os.environ[...], os.getenv(...)."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = node.func
            if target.attr == "getenv" or (
                target.attr == "get" and isinstance(target.value, ast.Attribute) and target.value.attr == "environ"
            ):
                lines.append(node.lineno)
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.ctx, ast.Load)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "environ"
        ):
            lines.append(node.lineno)
    return lines


def test_only_the_settings_models_read_the_environment():
    readers = {}
    for folder in ("common", "services", "gateway", "ops"):
        for path in (ROOT / folder).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if relative == "common/config.py" or relative in LIBRARY_READERS or "/migrations/" in relative:
                continue
            lines = _environment_reads(ast.parse(path.read_text()))
            if lines:
                readers[relative] = lines
    assert readers == {}, "read the variable through a model in common/config.py"


def test_nameko_yaml_defaults_are_the_models():
    yaml = (ROOT / "deploy" / "nameko.yaml").read_text()
    defaults = dict(re.findall(r"\$\{([A-Z_]+):([^}]*)\}", yaml))
    fields = {field.alias: field.get_default() for field in ServiceSettings.model_fields.values()}
    assert defaults == {name: str(fields[name]) for name in defaults}
    assert set(defaults) == {"AMQP_URI", "DATABASE_URL", "DATABASE_READ_URL", "MAX_WORKERS", "LOG_LEVEL"}


@pytest.mark.parametrize(("value", "on"), [("1", True), ("0", False), ("true", False), ("", False)])
def test_a_switch_is_on_only_when_set_to_one(monkeypatch, value, on):
    monkeypatch.setenv("DEMO_MODE", value)
    assert PlatformSettings().demo_mode is on


def test_the_given_environment_wins_over_the_process_environment(monkeypatch):
    monkeypatch.setenv("SMTP_PORT", "2525")
    monkeypatch.setenv("SMTP_HOST", "mail.example.gov.cn")
    config = NotificationSettings.from_env({"SMTP_PORT": "587", "UNRELATED": "x"})
    assert (config.smtp_port, config.smtp_host, config.sms_provider) == (587, "mail.example.gov.cn", "log")


def test_jwt_secret_is_random_per_process_when_unset(monkeypatch):
    monkeypatch.delenv("JWT_SECRET", raising=False)
    assert len(GatewaySettings().jwt_secret) >= 32 and GatewaySettings().jwt_secret != GatewaySettings().jwt_secret
    monkeypatch.setenv("JWT_SECRET", "s" * 40)
    assert GatewaySettings().jwt_secret == "s" * 40 and "s" * 40 not in repr(GatewaySettings())
