"""The scope model (common/tenancy.py): parsing tenant ids, the context round trip, the central
filter and the database settings, and who sees personal data in full."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, MetaData, String, Table, Uuid
from sqlalchemy.dialects import postgresql

from common.masking import mask_recipient
from common.tenancy import Scope, Viewers, parse_tenant, scope_clause, scope_settings

_meta = MetaData()
cases = Table("cases", _meta, Column("id", Uuid), Column("unit", String), Column("agency", String))
viewers = Table("viewers", _meta, Column("case_id", Uuid), Column("unit", String))


def sql(clause) -> str:
    return str(clause.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))


@pytest.mark.parametrize(
    ("tenant", "parsed"),
    [
        ("330681", ("330681", None)),
        ("330681109290", ("330681109290", None)),
        ("330681-police", ("330681", "police")),
        ("330681109-labour_arbitration", ("330681109", "labour_arbitration")),
        ("", None),
        ("3306", None),
        ("330681-", None),
        ("330681-Police", None),
        ("330681-police-x", None),
        ("%", None),
    ],
)
def test_parse_tenant(tenant, parsed):
    assert parse_tenant(tenant) == parsed


def test_context_round_trip_for_both_kinds():
    for tenant in ("330681109", "330681-police"):
        scope = Scope(unit=tenant, user="u", roles=frozenset({"mediator", "supervisor"}))
        assert Scope.from_context(scope.to_context()) == scope
    assert Scope.from_context({"tenant_scope": "330681-"}) is None
    assert Scope.from_context({}) is None


def test_agency_scope_is_no_subtree():
    agency = Scope(unit="330681-police", roles=frozenset({"agency_liaison"}))
    assert agency.is_agency and agency.agency == "police" and agency.home_unit == "330681"
    assert not agency.sees("330681") and not agency.sees("330681109290")
    assert not agency.handles("330681")


def test_handles_needs_the_responsible_unit_and_a_case_role():
    assert Scope(unit="330681109", roles=frozenset({"mediator"})).handles("330681109")
    assert not Scope(unit="330681109", roles=frozenset({"tenant_admin"})).handles("330681109")
    assert not Scope(unit="330681", roles=frozenset({"mediator"})).handles("330681109")
    assert Scope(unit="330681").sees("330681109290") and not Scope(unit="330681109").sees("330681110")


def test_scope_clause_for_each_kind():
    unit = Scope(unit="330681109")
    assert sql(scope_clause(cases.c.unit, unit)).startswith("cases.unit LIKE '330681109' || ")
    with_viewers = sql(
        scope_clause(
            cases.c.unit, unit, viewers=Viewers(unit=viewers.c.unit, correlation=viewers.c.case_id == cases.c.id)
        )
    )
    assert "EXISTS" in with_viewers and with_viewers.count("LIKE '330681109'") == 2
    agency = Scope(unit="330681-police")
    assert sql(scope_clause(cases.c.unit, agency, agency_column=cases.c.agency)) == "cases.agency = '330681-police'"
    # a table without an agency column, no scope, or a malformed one: nothing
    for clause in (
        scope_clause(cases.c.unit, agency),
        scope_clause(cases.c.unit, None),
        scope_clause(cases.c.unit, Scope(unit="")),
    ):
        assert sql(clause) == "false"


def test_scope_settings():
    assert scope_settings(Scope(unit="330681109")) == {"app.scope_unit": "330681109", "app.scope_agency": ""}
    assert scope_settings(Scope(unit="330681-police")) == {"app.scope_unit": "", "app.scope_agency": "330681-police"}
    assert scope_settings(None) == scope_settings(Scope(unit="%")) == {"app.scope_unit": "", "app.scope_agency": ""}


def test_mask_recipient():
    assert mask_recipient("13800138000") == "138****8000"
    assert mask_recipient("0575-87012345") == "0575****2345"
    assert mask_recipient("zhang.san@example.com") == "z***@example.com"


def test_a_malformed_event_is_reported_without_its_personal_data():
    import uuid

    from common.contracts import ComplaintReceived, PoisonMessage

    envelope = {
        "type": ComplaintReceived.type,
        "event_id": str(uuid.uuid4()),
        "data": {"complainant_phone": "13800138000", "complainant_name": "张三", "channel": 5},
    }
    with pytest.raises(PoisonMessage) as caught:
        ComplaintReceived.parse(envelope)
    assert "tracking_no: Field required" in str(caught.value)
    assert "13800138000" not in str(caught.value) and caught.value.__cause__ is None
