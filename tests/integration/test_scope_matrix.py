"""The scope matrix of issue 3: every caller (roles at each tier, an agency, another city) against
every endpoint that returns cases, people or statistics, over cases placed in the caller's own unit,
a child, a sibling, the parent and another city. Each cell asserts the exact visibility (200 or 404,
in or out of a list, counts) and the masking (full or masked) - and the personal-data audit log
records exactly the unmasked reads.

Cases are submitted through the gateway at each place and routed by the platform; handing a case to
an agency and passing one up have no flow yet, so the test sets `agency_tenant` and writes a
`case_viewers` row with SQL, as those flows will.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.conftest import DEMO_PASSWORD, complaint, credit_code, wait_for

pytestmark = pytest.mark.integration

VILLAGE = "330681109290"  # 枫源村
SIBLING_VILLAGE = "330681109291"
TOWNSHIP = "330681109"  # 枫桥镇
SIBLING_TOWNSHIP = "330681110"
CITY = "330681"  # 诸暨市
OTHER_CITY = "321282"  # 靖江市
AGENCY = "330681-police"

CATEGORY = "prepaid_card"  # no other module files this category: the figures below count only these cases
PASSWORD = "matrix-password-1"


def id_number(serial: int) -> str:
    from stdnum.cn import ric

    base = f"33068119900101{serial:03d}"
    return base + ric.calc_check_digit(base + "0")  # stdnum expects a placeholder check digit


# name -> where the business is (the responsible unit after routing)
CASES = {
    "village": VILLAGE,
    "sibling_village": SIBLING_VILLAGE,
    "township": TOWNSHIP,
    "sibling_township": SIBLING_TOWNSHIP,
    "city": CITY,
    "other_city": OTHER_CITY,
    "handed": VILLAGE,  # then handed to the police
    "passed_up": TOWNSHIP,  # as if the village had passed it up: the village keeps a read-only view
}
PHONES = {name: f"1586751{index:04d}" for index, name in enumerate(CASES)}
PERSON = {name: f"王{'一二三四五六七八'[i]}" for i, name in enumerate(CASES)}


@dataclass(frozen=True)
class Caller:
    username: str
    tenant: str
    roles: tuple[str, ...] | None  # None: a demo account (every role of a unit)
    sees: frozenset[str]  # cases visible at all
    full: frozenset[str]  # cases whose single view shows personal data in full
    read_only: frozenset[str] = frozenset()
    counts: int = 0  # cases of CATEGORY in its figures
    admin: bool = False  # may read the audit log

    @property
    def agency(self) -> bool:
        return "-" in self.tenant


IN_CITY = frozenset(CASES) - {"other_city"}
IN_TOWNSHIP = frozenset({"village", "sibling_village", "township", "handed", "passed_up"})

CALLERS = {
    # village: own cases (and the one handed on to the police) in full; nothing of its sibling or
    # parent, except read-only what it passed up
    "village": Caller(
        VILLAGE,
        VILLAGE,
        None,
        sees=frozenset({"village", "handed", "passed_up"}),
        full=frozenset({"village", "handed"}),
        read_only=frozenset({"passed_up"}),
        counts=2,
        admin=True,
    ),
    "village_mediator": Caller(
        "matrix.v-mediator",
        VILLAGE,
        ("mediator",),
        sees=frozenset({"village", "handed", "passed_up"}),
        full=frozenset({"village", "handed"}),
        read_only=frozenset({"passed_up"}),
        counts=2,
    ),
    # township: its own in full, its villages masked; not its sibling township or the city
    "township": Caller(
        TOWNSHIP,
        TOWNSHIP,
        None,
        sees=IN_TOWNSHIP,
        full=frozenset({"township", "passed_up"}),
        counts=5,
        admin=True,
    ),
    # a tenant admin handles no cases: even its own unit's case is masked
    "township_admin": Caller(
        "matrix.t-admin", TOWNSHIP, ("tenant_admin",), sees=IN_TOWNSHIP, full=frozenset(), counts=5, admin=True
    ),
    "city": Caller(CITY, CITY, None, sees=IN_CITY, full=frozenset({"city"}), counts=7, admin=True),
    # an agency: only what was handed to it, never in full; nothing of the unit it is attached to
    "agency": Caller(
        "matrix.police", AGENCY, ("agency_liaison",), sees=frozenset({"handed"}), full=frozenset(), counts=1
    ),
    "other_city": Caller(
        OTHER_CITY,
        OTHER_CITY,
        None,
        sees=frozenset({"other_city"}),
        full=frozenset({"other_city"}),
        counts=1,
        admin=True,
    ),
}


@pytest.fixture(scope="module")
def accounts(platform, db) -> None:
    """Single-role and agency accounts, written straight into the identity schema."""
    from gateway.auth import hash_password
    from gateway.models import User

    password_hash = hash_password(PASSWORD)
    with Session(db) as session, session.begin():
        for caller in CALLERS.values():
            if caller.roles is not None:
                session.merge(
                    User(
                        username=caller.username,
                        password_hash=password_hash,
                        tenant_code=caller.tenant,
                        roles=list(caller.roles),
                    )
                )


@pytest.fixture(scope="module")
def headers(api, accounts) -> dict[str, dict[str, str]]:
    result = {}
    for key, caller in CALLERS.items():
        password = DEMO_PASSWORD if caller.roles is None else PASSWORD
        response = api.post("/api/v1/auth/token", data={"username": caller.username, "password": password})
        assert response.status_code == 200, response.text
        result[key] = {"Authorization": f"Bearer {response.json()['access_token']}"}
    return result


def category_count(api, headers: dict[str, str]) -> int:
    response = api.get("/api/v1/reports/summary", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["by_category"].get(CATEGORY, 0)


@pytest.fixture(scope="module")
def cases(api, db, headers) -> dict[str, Any]:
    """Submit one case at each place, wait until routed and counted, then hand one to the police
    and let the village keep a read-only view of one the township now has."""
    started = datetime.now(UTC)
    baseline = {key: category_count(api, h) for key, h in headers.items()}
    ids: dict[str, str] = {}
    # businesses of their own: five complainants against one business in the window make a
    # collective case, which goes to the township whatever the place (other modules file too)
    for serial, (name, place) in enumerate(CASES.items()):
        body = complaint(
            complainant={
                "name": PERSON[name],
                "phone": PHONES[name],
                "id_number": id_number(serial),
                "address": f"浙江省诸暨市枫桥镇测试路{serial}号",
            },
            business={"name": f"矩阵商店{serial}", "credit_code": credit_code(88_000 + serial), "division_code": place},
            incident_division_code=place,
            category=CATEGORY,
            claim_amount=100.0,
        )
        response = api.post("/api/v1/complaints", json=body)
        assert response.status_code == 201, response.text
        ids[name] = response.json()["id"]
    keys = {"ids": [uuid.UUID(i) for i in ids.values()]}

    routed_sql = "SELECT id, responsible_unit_code FROM intake.complaints WHERE id = ANY(:ids) AND status = 'routed'"
    counted_sql = "SELECT count(*) FROM reporting.complaint_facts WHERE complaint_id = ANY(:ids) AND status = 'routed'"
    acknowledged_sql = "SELECT count(DISTINCT complaint_id) FROM notification.messages WHERE complaint_id = ANY(:ids)"

    def routed_and_counted():
        with db.connect() as conn:
            routed = conn.execute(text(routed_sql), keys).all()
            done = [conn.scalar(text(sql), keys) for sql in (counted_sql, acknowledged_sql)]
        return dict(routed) if len(routed) == len(ids) and done == [len(ids)] * 2 else None

    units = wait_for(routed_and_counted, timeout=30)
    assert {name: units[uuid.UUID(ids[name])] for name in CASES} == CASES, "routed to the lowest unit of each place"
    with db.begin() as conn:
        handed = {"id": uuid.UUID(ids["handed"]), "agency": AGENCY}
        conn.execute(text("UPDATE intake.complaints SET agency_tenant = :agency WHERE id = :id"), handed)
        conn.execute(
            text("UPDATE reporting.complaint_facts SET agency_tenant = :agency WHERE complaint_id = :id"), handed
        )
        conn.execute(
            text(
                "INSERT INTO intake.case_viewers (complaint_id, unit_code, since, reason) "
                "VALUES (:id, :unit, now(), 'escalated')"
            ),
            {"id": uuid.UUID(ids["passed_up"]), "unit": VILLAGE},
        )
    return {"ids": ids, "baseline": baseline, "started": started}


@pytest.fixture(scope="module")
def single_views(api, headers, cases) -> dict[tuple[str, str], Any]:
    """Every caller reads every case once (the audit test counts exactly these reads)."""
    return {
        (key, name): api.get(f"/api/v1/complaints/{cases['ids'][name]}", headers=headers[key])
        for key in CALLERS
        for name in CASES
    }


def masked(value: str) -> bool:
    return "*" in value


@pytest.mark.parametrize("key", CALLERS)
@pytest.mark.parametrize("name", CASES)
def test_single_case_view(api, headers, cases, single_views, key, name):
    caller, response = CALLERS[key], single_views[(key, name)]
    if name not in caller.sees:
        assert response.status_code == 404, response.text
        absent = api.get(f"/api/v1/complaints/{uuid.uuid4()}", headers=headers[key])
        # out of scope answers exactly like an id that does not exist
        assert response.json() == {**absent.json(), "message": response.json()["message"]}
        return
    assert response.status_code == 200, response.text
    case = response.json()
    assert case["id"] == cases["ids"][name]
    assert case["read_only"] is (name in caller.read_only)
    person = case["complainant"]
    if name in caller.full:
        assert person["name"] == PERSON[name]
        assert person["phone"] == PHONES[name]
        assert len(person["id_number"]) == 18 and not masked(person["id_number"])
        assert not masked(person["address"])
    elif caller.agency:
        # an agency learns whom the case is about, not how to reach them
        assert person == {"name": PERSON[name][0] + "*"}
        assert all(set(entry) == {"at", "code", "step"} for entry in case["history"])  # no params, no people
    else:
        assert person["name"] == PERSON[name][0] + "*"
        assert person["phone"] == PHONES[name][:3] + "****" + PHONES[name][-4:]
        assert masked(person["id_number"]) and masked(person["address"])
    assert PHONES[name] not in response.text or name in caller.full


@pytest.mark.parametrize("key", CALLERS)
def test_list_shows_exactly_the_scope_and_always_masked(api, headers, cases, key):
    caller = CALLERS[key]
    response = api.get("/api/v1/complaints", params={"limit": 200}, headers=headers[key])
    assert response.status_code == 200, response.text
    ours = {c["id"]: c for c in response.json() if c["id"] in cases["ids"].values()}
    by_name = {name: ours.get(cases["ids"][name]) for name in CASES}
    assert {name for name, case in by_name.items() if case} == caller.sees
    for name in caller.sees:
        case = by_name[name]
        assert case["read_only"] is (name in caller.read_only)
        assert "history" not in case
        # a list never needs the phone: masked even for the responsible unit
        assert masked(case["complainant"]["name"])
        if caller.agency:
            assert set(case["complainant"]) == {"name"}
        else:
            assert case["complainant"]["phone"] == PHONES[name][:3] + "****" + PHONES[name][-4:]
            assert masked(case["complainant"]["id_number"]) and masked(case["complainant"]["address"])
    for phone in PHONES.values():
        assert phone not in response.text


@pytest.mark.parametrize("key", CALLERS)
@pytest.mark.parametrize("name", CASES)
def test_messages(api, headers, cases, key, name):
    response = api.get(f"/api/v1/complaints/{cases['ids'][name]}/messages", headers=headers[key])
    if name not in CALLERS[key].sees:
        assert response.status_code == 404, response.text
        return
    assert response.status_code == 200, response.text
    assert any(m["template"] == "acknowledgement" for m in response.json())
    assert PHONES[name] not in response.text


@pytest.mark.parametrize("key", CALLERS)
def test_summary_counts_exactly_the_scope(api, headers, cases, key):
    caller = CALLERS[key]
    response = api.get("/api/v1/reports/summary", headers=headers[key])
    assert response.status_code == 200, response.text
    figures = response.json()
    assert figures["unit"] == caller.tenant
    assert figures["by_category"].get(CATEGORY, 0) - cases["baseline"][key] == caller.counts
    assert "phone" not in response.text and "complainant" not in response.text


def expected_accesses(cases) -> set[tuple[str, str]]:
    """(username, case) of every read that showed personal data in full."""
    return {(caller.username, name) for caller in CALLERS.values() for name in caller.full}


@pytest.mark.parametrize("key", CALLERS)
def test_personal_data_audit(api, headers, cases, single_views, key):
    caller = CALLERS[key]
    since = cases["started"].isoformat()
    response = api.get("/api/v1/audit/personal-data", params={"since": since, "limit": 1000}, headers=headers[key])
    if not caller.admin:
        assert response.status_code == 403, response.text
        assert "tenant_admin" in response.json()["message"]
        return
    assert response.status_code == 200, response.text
    names = {case_id: name for name, case_id in cases["ids"].items()}
    rows = [row for row in response.json() if row["complaint_id"] in names]
    # accesses to the cases its tenant is responsible for (its subtree), by whoever read them
    responsible = {name for name, place in CASES.items() if place.startswith(caller.tenant)}
    expected = {(user, name) for user, name in expected_accesses(cases) if name in responsible}
    assert {(row["username"], names[row["complaint_id"]]) for row in rows} == expected
    assert len(rows) == len(expected), "one row per read, none for masked reads, lists or messages"
    for row in rows:
        assert row["fields"] == ["name", "phone", "id_number", "address"]
        assert row["endpoint"] == "intake.get_complaint"
        assert row["tenant"] == next(c.tenant for c in CALLERS.values() if c.username == row["username"])
    # until is exclusive; a window before the reads holds none of them
    before = api.get(
        "/api/v1/audit/personal-data",
        params={"until": (cases["started"] - timedelta(seconds=1)).isoformat()},
        headers=headers[key],
    )
    assert before.status_code == 200
    assert not {row["complaint_id"] for row in before.json()} & set(names)


def test_audit_rejects_a_malformed_date(api, headers):
    response = api.get("/api/v1/audit/personal-data", params={"since": "yesterday"}, headers=headers["city"])
    assert response.status_code == 422


def test_logs_never_hold_a_full_phone_number(platform, single_views, cases):
    """Every service wrote its logs while these cases went through (the notification log provider
    'sent' each acknowledgement): none of the numbers appears in full."""
    wait_for(lambda: (platform.log_dir / "notification.log").exists())
    for log in platform.log_dir.glob("*.log"):
        content = log.read_text(encoding="utf-8", errors="replace")
        for phone in PHONES.values():
            assert phone not in content, f"{phone} in full in {log.name}"
