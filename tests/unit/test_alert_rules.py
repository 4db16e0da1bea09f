"""The Prometheus rules load and behave as their unit tests say (`promtool test rules`).

promtool comes with Debian's prometheus package (.ci/run installs it). Without it the tests are
skipped on a developer's machine, and fail in CI (`CI` set), where a skipped rule test would pass
unnoticed."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

PROMETHEUS = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


def promtool() -> str:
    found = shutil.which("promtool")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("promtool is missing in CI: install Debian's prometheus package (see .ci/run)")
    pytest.skip("promtool not installed (apt-get install prometheus)")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([promtool(), *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=120)


def test_rules_are_valid():
    result = run("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_unit_tests_pass():
    result = run("test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_scrape_config_is_valid():
    result = run("check", "config", "--syntax-only", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_severity_and_a_runbook_section():
    docs = (PROMETHEUS.parents[1] / "docs" / "observability.md").read_text()
    anchors = {line.split("{#", 1)[1].rstrip("}").strip() for line in docs.splitlines() if "{#" in line}
    anchors |= {
        "-".join(line.lstrip("#").strip().lower().split()) for line in docs.splitlines() if line.startswith("#")
    }
    rules = [r for g in yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"] for r in g["rules"]]
    alerts = [r for r in rules if "alert" in r]
    assert len(alerts) >= 10
    for rule in alerts:
        assert rule["labels"]["severity"] in {"page", "warning", "ticket"}, rule["alert"]
        anchor = rule["annotations"]["runbook"].split("#", 1)[1]
        assert anchor in anchors, f"{rule['alert']}: docs/observability.md has no section #{anchor}"
        assert rule["alert"] in docs, f"{rule['alert']} is not described in docs/observability.md"


def test_dashboard_queries_parse(tmp_path):
    """Every query of the Grafana dashboard is valid PromQL (checked by promtool as recording
    rules, with the dashboard's variables filled in)."""
    import json

    dashboard = json.loads((PROMETHEUS.parent / "grafana" / "dashboards" / "disputes-operations.json").read_text())
    variables = {"$window": "1d", "$city": ".*", "$clock": ".*", "$route": ".*"}
    rules = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for name, value in variables.items():
                expr = expr.replace(name, value)
            assert "$" not in expr, f"{panel['title']}: unknown variable in {expr}"
            rules.append({"record": f"dashboard:panel_{panel['id']}_{target['refId']}", "expr": expr})
    assert len(rules) >= 20
    (tmp_path / "dashboard.yml").write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = subprocess.run(
        [promtool(), "check", "rules", str(tmp_path / "dashboard.yml")], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
