"""The row-level-security helpers the intake, reporting and mediation migrations share
(common/migrations.py): which statements each runs, recorded by a stand-in for `alembic.op`. That
the resulting policies scope reads is tested against PostgreSQL in tests/integration/test_rls.py and
test_mediation_rls.py."""

from __future__ import annotations

import re

from common.migrations import (
    agency_is,
    covered,
    disable_row_security,
    enable_row_security,
    ensure_scoped_role,
    revoke_scoped_role,
)


class RecordingOp:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def execute(self, sql: str) -> None:
        self.statements.append(re.sub(r"\s+", " ", sql).strip())


def test_the_role_is_created_once_per_cluster_and_the_scope_tests_live_in_the_schema():
    op = RecordingOp()
    ensure_scoped_role(op, "intake")
    role, covers, agency, usage = op.statements
    assert "IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'disputes_scoped')" in role
    assert "EXCEPTION WHEN duplicate_object OR unique_violation" in role  # a concurrent creator
    assert "GRANT disputes_scoped TO %I" in role  # the owner may SET ROLE
    assert covers.startswith("CREATE OR REPLACE FUNCTION intake.scope_covers(code text) RETURNS boolean")
    assert "~ '^[0-9]{6}([0-9]{3}([0-9]{3})?)?$'" in covers  # only a well-formed division code counts
    assert agency.startswith("CREATE OR REPLACE FUNCTION intake.scope_agency_is(tenant text) RETURNS boolean")
    assert usage == "GRANT USAGE ON SCHEMA intake TO disputes_scoped"


def test_a_schema_agencies_never_read_gets_no_agency_test():
    op = RecordingOp()
    ensure_scoped_role(op, "mediation", agency=False)
    assert not any("scope_agency_is" in s for s in op.statements)
    revoke_scoped_role(op, "mediation", agency=False)
    assert op.statements[-2:] == [
        "REVOKE USAGE ON SCHEMA mediation FROM disputes_scoped",
        "DROP FUNCTION IF EXISTS mediation.scope_covers(text)",
    ]


def test_each_table_gets_read_only_access_and_its_policy_and_loses_them_again():
    policies = {"cases": "mediation.scope_covers(unit_code)", "steps": "EXISTS (SELECT 1)"}
    op = RecordingOp()
    enable_row_security(op, "mediation", policies)
    assert op.statements == [
        "GRANT SELECT ON mediation.cases, mediation.steps TO disputes_scoped",
        "ALTER TABLE mediation.cases ENABLE ROW LEVEL SECURITY",
        "DROP POLICY IF EXISTS scoped_read ON mediation.cases",
        "ALTER TABLE mediation.steps ENABLE ROW LEVEL SECURITY",
        "DROP POLICY IF EXISTS scoped_read ON mediation.steps",
        "CREATE POLICY scoped_read ON mediation.cases FOR SELECT TO disputes_scoped "
        "USING (mediation.scope_covers(unit_code))",
        "CREATE POLICY scoped_read ON mediation.steps FOR SELECT TO disputes_scoped USING (EXISTS (SELECT 1))",
    ]
    op = RecordingOp()
    disable_row_security(op, "mediation", (table for table in policies))  # any iterable, read twice
    assert op.statements == [
        "DROP POLICY IF EXISTS scoped_read ON mediation.cases",
        "ALTER TABLE mediation.cases DISABLE ROW LEVEL SECURITY",
        "DROP POLICY IF EXISTS scoped_read ON mediation.steps",
        "ALTER TABLE mediation.steps DISABLE ROW LEVEL SECURITY",
        "REVOKE SELECT ON mediation.cases, mediation.steps FROM disputes_scoped",
    ]


def test_a_policy_reads_each_scope_setting_in_a_sub_select_run_once_per_query():
    unit = covered("unit_code")
    assert unit.startswith("starts_with(unit_code, (SELECT CASE WHEN coalesce(current_setting('app.scope_unit', true)")
    assert "~ '^[0-9]{6}([0-9]{3}([0-9]{3})?)?$' THEN current_setting('app.scope_unit', true) END)" in unit
    # an empty agency setting is NULL, which equals no tenant id
    agency = agency_is("agency_tenant")
    assert agency == "agency_tenant = (SELECT nullif(current_setting('app.scope_agency', true), ''))"
