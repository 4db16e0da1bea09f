"""Schemathesis against the gateway's own OpenAPI document, as a staff member: every operation with
generated valid and invalid input (examples, coverage, fuzzing), then the stateful phase following
the links between operations, checked with `not_a_server_error`. No input gives a 500.

Bounded: ten examples per operation at most and two and a half minutes in all. Every parameter
and body field often takes a value from a dictionary of what broke before (NUL, year 9999, year 1,
an unknown filter value). The staff account is
the demo account of a village no other test uses (every unit role, nothing above the village), and
every request names its own client address (the suite is a trusted proxy), so the logins it tries
lock nobody else out. Path parameters `complaint_id` are often the village's real cases (one
routed, one accepted with its mediation case), so the actions reach the services' own checks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import complaint, credit_code, wait_for

pytestmark = pytest.mark.integration

UNIT = "330681102203"  # 板西村, 应店街镇: a village of its own
FUZZ_ADDRESS = "192.0.2.77"
MAX_EXAMPLES = 10
MAX_SECONDS = 150  # the whole run's budget: schemathesis stops generating when it is spent
SEED = 17
# strings mixed into the generated ones: what broke before (a NUL, a day past any case's dates,
# an unknown filter value)
EDGES = ["\u0000", "a\u0000b", "9999-12-31", "0001-01-01", "9999-12-31T23:59:59-12:00", "bogus"]


def _cases(api, headers: dict[str, str]) -> list[str]:
    """A complaint routed to the village, and one accepted (so it has a mediation case)."""
    found = []
    for seed in (9701, 9702):
        body = complaint(
            business={"name": "板西农资店", "credit_code": credit_code(seed), "division_code": UNIT},
            incident_division_code=UNIT,
        )
        filed = api.post("/api/v1/complaints", json=body)
        assert filed.status_code == 201, filed.text
        cid = filed.json()["id"]
        wait_for(lambda cid=cid: api.get(f"/api/v1/complaints/{cid}", headers=headers).json().get("status") == "routed")
        found.append(cid)
    assert api.post(f"/api/v1/complaints/{found[1]}/accept", headers=headers).status_code == 200
    wait_for(lambda: api.get(f"/api/v1/complaints/{found[1]}/mediation", headers=headers).status_code == 200)
    return found


def _config(document: dict[str, Any], cases: list[str]) -> str:
    """Every path and query parameter of the document (by name) often takes an entry of EDGES;
    `complaint_id` often names one of `cases`. (Nothing with a `$ref` schema is bound, bodies
    included: schemathesis 4.32 fails on such bindings; test_edge_input.py covers body fields.)"""
    parameters = [
        p
        for operation in (op for item in document["paths"].values() for op in item.values())
        for p in operation.get("parameters", [])
        if p["in"] in ("path", "query") and p["name"] != "complaint_id"
    ]
    with_ref = {p["name"] for p in parameters if "$ref" in json.dumps(p["schema"])}
    names = {p["name"] for p in parameters} - with_ref
    bindings = [f'"{name}" = {{ dictionary = "edges", probability = 0.3 }}' for name in sorted(names)]
    return "\n".join(
        [
            "[dictionaries.cases]",
            f"values = {json.dumps(cases)}",
            "[dictionaries.edges]",
            f"values = {json.dumps(EDGES)}",
            "[parameters]",
            '"path.complaint_id" = { dictionary = "cases", probability = 0.7 }',
            *bindings,
        ]
    )


def test_no_generated_request_gets_a_server_error(platform, api, login, tmp_path: Path):
    headers = login(UNIT)
    cases = _cases(api, headers)
    config = tmp_path / "schemathesis.toml"
    config.write_text(_config(api.get("/openapi.json").json(), cases))
    report = tmp_path / "report.json"
    command = [
        str(Path(sys.executable).with_name("st")),
        "--config-file",
        str(config),
        "run",
        f"{platform.url}/openapi.json",
        "--checks",
        "not_a_server_error",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--max-time",
        str(MAX_SECONDS),
        "--seed",
        str(SEED),
        "--no-shrink",
        "--workers",
        "1",  # hypothesis describes its strategies racily from several threads (a runtime error)
        "--request-timeout",
        "30",
        "--header",
        f"Authorization: {headers['Authorization']}",
        "--header",
        f"X-Forwarded-For: {FUZZ_ADDRESS}",
        "--suppress-health-check",
        "all",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    # from tmp_path: schemathesis keeps its cache (.schemathesis/) in the working directory
    run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=MAX_SECONDS + 90)
    output = run.stdout + run.stderr
    (tmp_path / "output.txt").write_text(output)
    # what went wrong, without the advice on links and test data that precedes the summary
    problems = output[: output.find("SUMMARY")] if "SUMMARY" in output else output
    problems = problems[problems.find("=====") :] if "=====" in problems else problems
    assert run.returncode == 0, problems[:12000]
    assert "generated" in output and report.exists(), output[-4000:]
