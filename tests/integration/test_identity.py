"""Staff identity through the gateway, against the real identity schema: login throttling, refresh
rotation and reuse detection, logout, revocation on disable, user administration within a tenant
admin's subtree, role grants, and agency API keys."""

from __future__ import annotations

import hashlib
import itertools
import os
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import jwt
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.conftest import DEMO_PASSWORD, ROOT, free_port, onboard_agency

pytestmark = pytest.mark.integration

CITY, TOWNSHIP, VILLAGE = "330681", "330681109", "330681109290"
SIBLING_TOWNSHIP, OTHER_CITY = "330681110", "321282"
PASSWORD = "correct horse battery staple"
ADMIN = "root.admin"
_ips = itertools.count(1)
SECRETS = ("JWT_SECRET", "SMS_PROVIDER", "SMS_ENDPOINT", "SMS_SECRET", "WEBHOOK_URL", "WEBHOOK_SECRET", "DEMO_MODE")


def fresh_ip() -> dict[str, str]:
    """A client address of its own (the suite is a trusted proxy: FORWARDED_ALLOW_IPS=127.0.0.1 in
    tests/conftest.py), so each test's failed logins count against its own address."""
    n = next(_ips)
    return {"X-Forwarded-For": f"10.77.{n // 250}.{n % 250 + 1}"}


def unique(prefix: str) -> str:
    return f"{prefix}.{uuid.uuid4().hex[:8]}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def log_in(api, username: str, password: str = PASSWORD, headers: dict[str, str] | None = None):
    return api.post("/api/v1/auth/token", data={"username": username, "password": password}, headers=headers)


@pytest.fixture(scope="module")
def admin(api, db) -> dict[str, str]:
    """A platform admin, created the way the first one is: with gateway.accounts, not the API."""
    from gateway.accounts import create_user

    with Session(db) as session, session.begin():
        create_user(session, ADMIN, PASSWORD, CITY, ["platform_admin"])
    response = log_in(api, ADMIN)
    assert response.status_code == 200, response.text
    return bearer(response.json()["access_token"])


@pytest.fixture
def make_user(api, admin):
    def create(tenant: str = VILLAGE, roles: tuple[str, ...] = ("mediator",), username: str | None = None) -> str:
        name = username or unique("staff")
        body = {"username": name, "password": PASSWORD, "tenant": tenant, "roles": list(roles)}
        response = api.post("/api/v1/users", json=body, headers=admin)
        assert response.status_code == 201, response.text
        return name

    return create


# --- login throttling -----------------------------------------------------------------------------


def test_five_failures_from_one_address_delay_that_address_only(api, make_user):
    """Usernames are division codes anyone can guess: a stranger's failures must not lock the owner out."""
    username = make_user()
    stranger = fresh_ip()
    for _ in range(5):
        assert log_in(api, username, "wrong password", stranger).status_code == 401
    delayed = log_in(api, username, PASSWORD, stranger)  # even the right password, from there
    assert delayed.status_code == 429
    assert delayed.json()["error"] == "too_many_attempts"
    assert "too many failed logins for this account from this address" in delayed.json()["message"]
    assert 0 < int(delayed.headers["Retry-After"]) <= 30  # half a minute, not a quarter of an hour
    # the owner, at their own address, signs in at once
    assert log_in(api, username, PASSWORD, fresh_ip()).status_code == 200


def test_the_delay_doubles_with_each_further_failure(api, db, make_user):
    username, ip = make_user(), fresh_ip()
    address = ip["X-Forwarded-For"]

    def failures(count: int, newest_seconds_ago: int) -> None:
        with db.begin() as conn:
            conn.execute(text("DELETE FROM identity.login_attempts WHERE username = :u"), {"u": username})
            for k in range(count):
                conn.execute(
                    text(
                        "INSERT INTO identity.login_attempts (username, client_ip, at) "
                        "VALUES (:u, :ip, now() - make_interval(secs => :ago))"
                    ),
                    {"u": username, "ip": address, "ago": newest_seconds_ago + k},
                )

    failures(5, 40)  # the first delay, 30 s, is over
    assert log_in(api, username, "wrong password", ip).status_code == 401
    failures(6, 40)  # 60 s after the sixth
    assert 15 <= int(log_in(api, username, PASSWORD, ip).headers["Retry-After"]) <= 20
    failures(8, 40)  # 240 s after the eighth
    assert 195 <= int(log_in(api, username, PASSWORD, ip).headers["Retry-After"]) <= 200
    failures(5, 40)
    assert log_in(api, username, PASSWORD, ip).status_code == 200


def test_four_failures_do_not_lock(api, make_user):
    username = make_user()
    ip = fresh_ip()
    for _ in range(4):
        assert log_in(api, username, "wrong password", ip).status_code == 401
    assert log_in(api, username, PASSWORD, ip).status_code == 200


def test_a_success_resets_the_username_count(api, make_user):
    username = make_user()
    ip = fresh_ip()
    for _ in range(4):
        assert log_in(api, username, "wrong password", ip).status_code == 401
    assert log_in(api, username, PASSWORD, ip).status_code == 200
    for _ in range(4):
        assert log_in(api, username, "wrong password", ip).status_code == 401
    # eight failures in the window, but never five since the last success
    assert log_in(api, username, PASSWORD, ip).status_code == 200


def test_concurrent_attempts_cannot_outrun_the_limit(api, make_user):
    """Attempts arriving at once from one address still get at most five password checks between them."""
    username = make_user()
    ip = fresh_ip()

    def attempt(_: int) -> int:
        return log_in(api, username, "wrong password", ip).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        codes = list(pool.map(attempt, range(24)))
    assert codes.count(401) + codes.count(429) == 24
    # refused attempts leave no trace, so failing on one by one reaches exactly five failures in all
    for _ in range(5):
        if log_in(api, username, PASSWORD + "!", ip).status_code == 429:
            break
        codes.append(401)
    assert codes.count(401) == 5
    assert log_in(api, username, PASSWORD, ip).status_code == 429


def test_twenty_failures_from_one_address_lock_the_address(api, make_user):
    username = make_user()
    ip = fresh_ip()
    for n in range(20):
        assert log_in(api, f"nobody.{n}", "wrong password", ip).status_code == 401
    locked = log_in(api, username, PASSWORD, ip)
    assert locked.status_code == 429
    assert "from this address" in locked.json()["message"]
    assert int(locked.headers["Retry-After"]) > 0
    assert log_in(api, username, PASSWORD, fresh_ip()).status_code == 200


def test_throttling_state_lives_in_the_identity_schema(api, db, make_user):
    """Failures recorded by another gateway process (rows in identity.login_attempts) count here."""
    username, ip = make_user(), fresh_ip()
    with db.begin() as conn:
        for _ in range(5):
            conn.execute(
                text("INSERT INTO identity.login_attempts (username, client_ip) VALUES (:u, :ip)"),
                {"u": username, "ip": ip["X-Forwarded-For"]},
            )
    assert log_in(api, username, PASSWORD, ip).status_code == 429
    with db.begin() as conn:
        conn.execute(text("DELETE FROM identity.login_attempts WHERE username = :u"), {"u": username})
    assert log_in(api, username, PASSWORD, ip).status_code == 200


def untrusted_client(platform) -> httpx.Client:
    """A client on 127.0.0.2: no proxy the gateway trusts, so its X-Forwarded-For counts for nothing."""
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    return httpx.Client(base_url=platform.url, transport=transport, timeout=20)


def test_rotating_x_forwarded_for_from_an_untrusted_host_does_not_bypass_the_address_limit(platform, make_user):
    username = make_user()
    with untrusted_client(platform) as client:
        for n in range(20):
            forged = {"X-Forwarded-For": f"198.51.100.{n + 1}"}
            assert log_in(client, f"nobody.{n}", "wrong password", forged).status_code == 401
        locked = log_in(client, username, PASSWORD, {"X-Forwarded-For": "198.51.100.99"})
        assert locked.status_code == 429 and "from this address" in locked.json()["message"]


def test_behind_a_trusted_proxy_the_rightmost_untrusted_address_counts(api, make_user):
    """What the client wrote to the left of the address the proxy saw proves nothing."""
    username = make_user()
    seen_by_proxy = fresh_ip()["X-Forwarded-For"]
    for n in range(20):
        forged = {"X-Forwarded-For": f"203.0.113.{n + 1}, {seen_by_proxy}"}
        assert log_in(api, f"nobody.{n}", "wrong password", forged).status_code == 401
    locked = log_in(api, username, PASSWORD, {"X-Forwarded-For": f"203.0.113.99, {seen_by_proxy}"})
    assert locked.status_code == 429 and "from this address" in locked.json()["message"]
    assert log_in(api, username, PASSWORD, fresh_ip()).status_code == 200


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({}, "JWT_SECRET"),
        ({"JWT_SECRET": "x" * 32, "SMS_PROVIDER": "http", "SMS_ENDPOINT": "http://127.0.0.1:9/sms"}, "SMS_SECRET"),
        ({"JWT_SECRET": "x" * 32, "WEBHOOK_URL": "http://127.0.0.1:9/{tenant}"}, "WEBHOOK_SECRET"),
    ],
)
def test_the_gateway_refuses_to_start_outside_demo_mode_without_its_secrets(settings, named):
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    env.update(DEMO_MODE="0", **settings)
    command = [sys.executable, "-m", "uvicorn", "gateway.app:app", "--port", str(free_port()), "--no-proxy-headers"]
    started = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert started.returncode != 0
    assert f"refusing to start outside demo mode (DEMO_MODE=0) without these settings: {named}" in started.stderr


# --- access and refresh tokens --------------------------------------------------------------------


def test_login_returns_a_short_lived_access_token_and_a_refresh_token(api, make_user):
    body = log_in(api, make_user()).json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert body["refresh_expires_in"] == 7 * 24 * 3600
    assert len(body["refresh_token"]) >= 40
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 900
    assert claims["ver"] == 0


def test_refresh_rotates_and_reuse_revokes_the_family(api, make_user):
    first = log_in(api, make_user()).json()
    rotated = api.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert api.get("/api/v1/auth/me", headers=bearer(second["access_token"])).status_code == 200

    # the old refresh token is spent; presenting it again is taken as theft ...
    reuse = api.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401
    assert reuse.json()["error"] == "invalid_refresh_token"
    assert "already used" in reuse.json()["message"]
    # ... so the whole family is revoked, including the token rotated to
    later = api.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert later.status_code == 401


def test_refresh_chain_keeps_working_while_unbroken(api, make_user):
    token = log_in(api, make_user()).json()["refresh_token"]
    for _ in range(3):
        response = api.post("/api/v1/auth/refresh", json={"refresh_token": token})
        assert response.status_code == 200
        token = response.json()["refresh_token"]


def test_unknown_or_malformed_refresh_tokens_are_refused(api):
    assert api.post("/api/v1/auth/refresh", json={"refresh_token": "not-a-token"}).status_code == 401
    missing = api.post("/api/v1/auth/refresh", json={})
    assert missing.status_code == 422
    assert missing.json()["fields"][0]["field"] == "refresh_token"


def test_logout_revokes_the_refresh_token(api, make_user):
    pair = log_in(api, make_user()).json()
    assert api.post("/api/v1/auth/logout", json={"refresh_token": pair["refresh_token"]}).status_code == 204
    assert api.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}).status_code == 401
    # logging out twice, or with a token nobody knows, is not an error
    assert api.post("/api/v1/auth/logout", json={"refresh_token": pair["refresh_token"]}).status_code == 204
    assert api.post("/api/v1/auth/logout", json={"refresh_token": "unknown"}).status_code == 204


def test_logout_everywhere_ends_access_tokens_and_other_sessions(api, make_user):
    username = make_user()
    one, two = log_in(api, username).json(), log_in(api, username).json()
    body = {"refresh_token": one["refresh_token"], "everywhere": True}
    assert api.post("/api/v1/auth/logout", json=body).status_code == 204
    assert api.get("/api/v1/auth/me", headers=bearer(two["access_token"])).status_code == 401
    assert api.post("/api/v1/auth/refresh", json={"refresh_token": two["refresh_token"]}).status_code == 401
    assert log_in(api, username).status_code == 200


# --- disabling ------------------------------------------------------------------------------------


def test_disabling_a_user_revokes_access_and_refresh_at_once(api, admin, make_user):
    username = make_user()
    pair = log_in(api, username).json()
    assert api.get("/api/v1/complaints", headers=bearer(pair["access_token"])).status_code == 200

    disabled = api.patch(f"/api/v1/users/{username}", json={"disabled": True}, headers=admin)
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True

    refused = api.get("/api/v1/complaints", headers=bearer(pair["access_token"]))
    assert refused.status_code == 401
    assert "log in" in refused.json()["message"]
    assert api.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}).status_code == 401
    assert log_in(api, username, headers=fresh_ip()).status_code == 401

    # enabling again lets them log in, but the old tokens stay dead
    assert api.patch(f"/api/v1/users/{username}", json={"disabled": False}, headers=admin).status_code == 200
    assert api.get("/api/v1/auth/me", headers=bearer(pair["access_token"])).status_code == 401
    assert log_in(api, username).status_code == 200


def test_a_password_change_ends_every_session(api, admin, make_user):
    username = make_user()
    pair = log_in(api, username).json()
    new = "a completely new passphrase"
    changed = api.post(f"/api/v1/users/{username}/password", json={"password": new}, headers=admin)
    assert changed.status_code == 204
    assert api.get("/api/v1/auth/me", headers=bearer(pair["access_token"])).status_code == 401
    assert api.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}).status_code == 401
    assert log_in(api, username, PASSWORD, fresh_ip()).status_code == 401
    assert log_in(api, username, new).status_code == 200


def test_changing_your_own_password_needs_the_current_one(api, make_user):
    username = make_user()
    own = bearer(log_in(api, username).json()["access_token"])
    path = f"/api/v1/users/{username}/password"
    missing = api.post(path, json={"password": "my brand new passphrase"}, headers=own)
    assert missing.status_code == 422 and missing.json()["fields"][0]["field"] == "current_password"
    wrong = api.post(path, json={"password": "my brand new passphrase", "current_password": "nope"}, headers=own)
    assert wrong.status_code == 422 and wrong.json()["fields"][0]["field"] == "current_password"
    body = {"password": "my brand new passphrase", "current_password": PASSWORD}
    assert api.post(path, json=body, headers=own).status_code == 204
    assert log_in(api, username, "my brand new passphrase").status_code == 200
    # a mediator cannot set somebody else's password
    other = api.post(f"/api/v1/users/{ADMIN}/password", json={"password": "x" * 20}, headers=own)
    assert other.status_code == 401  # its token ended with its own password change
    own = bearer(log_in(api, username, "my brand new passphrase").json()["access_token"])
    assert api.post(f"/api/v1/users/{ADMIN}/password", json={"password": "x" * 20}, headers=own).status_code == 403


# --- roles ----------------------------------------------------------------------------------------


def test_a_real_account_holds_only_the_roles_it_was_given(api, make_user):
    username = make_user(roles=("mediator",))
    body = log_in(api, username).json()
    assert body["roles"] == ["mediator"] and body["tenant"] == VILLAGE
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["roles"] == ["mediator"] and claims["tenant"] == VILLAGE
    me = api.get("/api/v1/auth/me", headers=bearer(body["access_token"])).json()
    assert me == {"username": username, "tenant": VILLAGE, "roles": ["mediator"], "kind": "user"}
    # a mediator manages nobody
    assert api.get("/api/v1/users", headers=bearer(body["access_token"])).status_code == 403


def test_demo_accounts_keep_every_unit_role(api):
    body = log_in(api, TOWNSHIP, DEMO_PASSWORD).json()
    assert set(body["roles"]) == {"intake_clerk", "mediator", "supervisor", "tenant_admin"}


def test_role_changes_apply_on_the_next_request(api, admin, make_user):
    username = make_user(tenant=TOWNSHIP, roles=("tenant_admin", "mediator"))
    token = bearer(log_in(api, username).json()["access_token"])
    assert api.get("/api/v1/users", headers=token).status_code == 200
    patched = api.patch(f"/api/v1/users/{username}", json={"roles": ["mediator"]}, headers=admin)
    assert patched.status_code == 200 and patched.json()["roles"] == ["mediator"]
    assert api.get("/api/v1/users", headers=token).status_code == 403
    assert api.get("/api/v1/auth/me", headers=token).json()["roles"] == ["mediator"]


# --- who manages whom -----------------------------------------------------------------------------


def test_tenant_admin_creates_users_in_its_subtree(api, login):
    township_admin = login(TOWNSHIP)
    for tenant in (TOWNSHIP, VILLAGE, f"{VILLAGE}-police"):
        roles = ["agency_liaison"] if "-" in tenant else ["intake_clerk", "mediator"]
        body = {"username": unique("made.by.township"), "password": PASSWORD, "tenant": tenant, "roles": roles}
        response = api.post("/api/v1/users", json=body, headers=township_admin)
        assert response.status_code == 201, response.text
        assert response.json()["tenant"] == tenant and response.json()["roles"] == sorted(roles)


@pytest.mark.parametrize("tenant", [SIBLING_TOWNSHIP, f"{SIBLING_TOWNSHIP}001", CITY, f"{CITY}-police", OTHER_CITY])
def test_tenant_admin_cannot_create_outside_its_subtree(api, login, tenant):
    body = {"username": unique("outside"), "password": PASSWORD, "tenant": tenant, "roles": ["mediator"]}
    response = api.post("/api/v1/users", json=body, headers=login(TOWNSHIP))
    assert response.status_code == 403
    assert TOWNSHIP in response.json()["message"]


def test_users_outside_the_subtree_answer_404(api, login, make_user):
    sibling = make_user(tenant=SIBLING_TOWNSHIP)
    child = make_user(tenant=VILLAGE)
    township_admin = login(TOWNSHIP)
    assert api.get(f"/api/v1/users/{child}", headers=township_admin).status_code == 200
    for username in (sibling, CITY, OTHER_CITY, "no.such.user"):  # sibling, parent, other city, absent
        got = api.get(f"/api/v1/users/{username}", headers=township_admin)
        assert got.status_code == 404, username
        assert (
            api.patch(f"/api/v1/users/{username}", json={"disabled": True}, headers=township_admin).status_code == 404
        )
        password = api.post(f"/api/v1/users/{username}/password", json={"password": "x" * 20}, headers=township_admin)
        assert password.status_code == 404
    assert log_in(api, sibling).status_code == 200  # untouched


def test_user_list_shows_the_subtree_only(api, login, make_user):
    child, sibling = make_user(tenant=VILLAGE), make_user(tenant=SIBLING_TOWNSHIP)
    township_admin = login(TOWNSHIP)
    users = []
    after = None
    while True:
        page = api.get(
            "/api/v1/users", params={"limit": 500, **({"after": after} if after else {})}, headers=township_admin
        )
        assert page.status_code == 200
        users += page.json()
        if len(page.json()) < 500:
            break
        after = page.json()[-1]["username"]
    names = {u["username"] for u in users}
    assert child in names and TOWNSHIP in names and VILLAGE in names
    assert sibling not in names and CITY not in names and ADMIN not in names
    assert all(u["tenant"].startswith(TOWNSHIP) for u in users)
    only_village = api.get("/api/v1/users", params={"tenant": VILLAGE}, headers=township_admin).json()
    assert {u["tenant"].split("-")[0] for u in only_village} == {VILLAGE}


def test_tenant_admin_cannot_grant_platform_admin(api, login, make_user):
    township_admin = login(TOWNSHIP)
    body = {"username": unique("wannabe"), "password": PASSWORD, "tenant": VILLAGE, "roles": ["platform_admin"]}
    response = api.post("/api/v1/users", json=body, headers=township_admin)
    assert response.status_code == 403
    assert "platform admin" in response.json()["message"]
    username = make_user(tenant=VILLAGE)
    patch = api.patch(
        f"/api/v1/users/{username}", json={"roles": ["mediator", "platform_admin"]}, headers=township_admin
    )
    assert patch.status_code == 403
    assert log_in(api, username).json()["roles"] == ["mediator"]


def test_tenant_admin_cannot_touch_a_platform_admin_in_its_subtree(api, admin, login):
    username = unique("platform.two")
    body = {"username": username, "password": PASSWORD, "tenant": VILLAGE, "roles": ["platform_admin"]}
    assert api.post("/api/v1/users", json=body, headers=admin).status_code == 201
    township_admin = login(TOWNSHIP)
    assert api.get(f"/api/v1/users/{username}", headers=township_admin).status_code == 200
    for change in ({"disabled": True}, {"roles": ["mediator"]}):
        assert api.patch(f"/api/v1/users/{username}", json=change, headers=township_admin).status_code == 403
    reset = api.post(f"/api/v1/users/{username}/password", json={"password": "x" * 20}, headers=township_admin)
    assert reset.status_code == 403


def test_ops_is_a_city_role(api, login):
    body = {"username": unique("ops"), "password": PASSWORD, "tenant": TOWNSHIP, "roles": ["ops"]}
    response = api.post("/api/v1/users", json=body, headers=login(TOWNSHIP))
    assert response.status_code == 422
    assert response.json()["fields"] == [{"field": "roles", "message": "ops is held only at a city"}]
    city_ops = {**body, "tenant": CITY}
    assert api.post("/api/v1/users", json=city_ops, headers=login(CITY)).status_code == 201


def test_an_admin_cannot_disable_itself(api, admin):
    response = api.patch(f"/api/v1/users/{ADMIN}", json={"disabled": True}, headers=admin)
    assert response.status_code == 403
    assert api.get("/api/v1/auth/me", headers=admin).status_code == 200


# --- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"tenant": "330681999999"}, "tenant"),  # well formed, but no such village
        ({"tenant": "999999"}, "tenant"),
        ({"tenant": "33068x"}, "tenant"),
        ({"tenant": "330681-fire_brigade"}, "tenant"),
        ({"password": "short"}, "password"),
        ({"roles": ["wizard"]}, "roles.0"),
        ({"roles": []}, "roles"),
        ({"username": "Has Spaces"}, "username"),
        ({"username": "x"}, "username"),
        ({"role": ["mediator"]}, "role"),
        ({"roles": ["agency_liaison"]}, "roles"),  # not a role of a unit
    ],
)
def test_bad_user_input_is_a_422_naming_the_field(api, admin, change, field):
    body = {"username": unique("valid"), "password": PASSWORD, "tenant": VILLAGE, "roles": ["mediator"], **change}
    response = api.post("/api/v1/users", json=body, headers=admin)
    assert response.status_code == 422, response.text
    assert field in [f["field"] for f in response.json()["fields"]]


def test_password_may_not_be_the_username(api, admin):
    name = "same.as.password"
    # 16 characters: long enough, but the username
    body = {"username": name, "password": name, "tenant": VILLAGE, "roles": ["mediator"]}
    response = api.post("/api/v1/users", json=body, headers=admin)
    assert response.status_code == 422 and response.json()["fields"][0]["field"] == "password"


def test_usernames_are_unique(api, admin, make_user):
    username = make_user()
    body = {"username": username.upper(), "password": PASSWORD, "tenant": VILLAGE, "roles": ["mediator"]}
    assert api.post("/api/v1/users", json=body, headers=admin).status_code == 409


def test_passwords_are_never_returned(api, admin, db, make_user):
    username = make_user()
    responses = [
        api.get(f"/api/v1/users/{username}", headers=admin),
        api.get("/api/v1/users", params={"tenant": VILLAGE}, headers=admin),
        api.patch(f"/api/v1/users/{username}", json={"roles": ["mediator", "supervisor"]}, headers=admin),
    ]
    created = api.post(
        "/api/v1/users",
        json={"username": unique("shown"), "password": PASSWORD, "tenant": VILLAGE, "roles": ["mediator"]},
        headers=admin,
    )
    for response in [*responses, created]:
        assert response.status_code in (200, 201)
        assert PASSWORD not in response.text and "password" not in response.text and "$argon2" not in response.text
    assert set(created.json()) == {"username", "tenant", "roles", "disabled", "demo", "created_at", "updated_at"}
    with db.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM identity.users WHERE username = :u"), {"u": username})
        assert stored.scalar_one().startswith("$argon2id$")


# --- API keys -------------------------------------------------------------------------------------


def with_key(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


def test_api_key_lifecycle(api, db, login):
    city_admin = login(CITY)
    agency = onboard_agency(db, f"{CITY}-consumer_association")
    created = api.post("/api/v1/api-keys", json={"tenant": agency, "name": "消协平台"}, headers=city_admin)
    assert created.status_code == 201, created.text
    issued = created.json()
    key, key_id = issued["key"], issued["id"]
    assert key.startswith(f"dpk_{issued['prefix']}_")

    me = api.get("/api/v1/auth/me", headers=with_key(key))
    assert me.status_code == 200
    assert me.json() == {
        "username": f"api-key:{key_id}",
        "tenant": agency,
        "roles": ["agency_liaison"],
        "kind": "api_key",
    }
    assert api.get("/api/v1/complaints", headers=with_key(key)).status_code == 200
    assert api.get("/api/v1/auth/me", headers=with_key(key + "x")).status_code == 401

    # stored hashed, listed without the key
    with db.connect() as conn:
        row = conn.execute(text("SELECT * FROM identity.api_keys WHERE id = :id"), {"id": key_id}).mappings().one()
    assert row["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(dict(row))
    listed = api.get("/api/v1/api-keys", headers=city_admin)
    assert key_id in [k["id"] for k in listed.json()] and key not in listed.text and "key_hash" not in listed.text

    # rotation: the new key works, the old one stops at once
    rotated = api.post(f"/api/v1/api-keys/{key_id}/rotate", headers=city_admin)
    assert rotated.status_code == 200
    new_key = rotated.json()["key"]
    assert new_key != key and rotated.json()["id"] == key_id
    assert api.get("/api/v1/auth/me", headers=with_key(key)).status_code == 401
    assert api.get("/api/v1/auth/me", headers=with_key(new_key)).status_code == 200

    # rotation with a grace: both work until the grace ends
    graceful = api.post(f"/api/v1/api-keys/{key_id}/rotate", json={"grace_seconds": 300}, headers=city_admin)
    assert graceful.status_code == 200 and graceful.json()["previous_valid_until"]
    newest = graceful.json()["key"]
    assert api.get("/api/v1/auth/me", headers=with_key(new_key)).status_code == 200
    assert api.get("/api/v1/auth/me", headers=with_key(newest)).status_code == 200

    # revocation ends the key and its predecessor in grace
    assert api.delete(f"/api/v1/api-keys/{key_id}", headers=city_admin).status_code == 204
    assert api.get("/api/v1/auth/me", headers=with_key(newest)).status_code == 401
    assert api.get("/api/v1/auth/me", headers=with_key(new_key)).status_code == 401
    assert api.post(f"/api/v1/api-keys/{key_id}/rotate", headers=city_admin).status_code == 409
    assert key_id not in [k["id"] for k in api.get("/api/v1/api-keys", headers=city_admin).json()]
    revoked = api.get("/api/v1/api-keys", params={"include_revoked": True}, headers=city_admin).json()
    assert [k["revoked_at"] for k in revoked if k["id"] == key_id] != [None]


def test_api_keys_are_for_agencies_of_the_subtree(api, db, login):
    township_admin = login(TOWNSHIP)
    unit_key = api.post("/api/v1/api-keys", json={"tenant": VILLAGE, "name": "x"}, headers=township_admin)
    assert unit_key.status_code == 422 and unit_key.json()["fields"][0]["field"] == "tenant"
    parent_agency = api.post("/api/v1/api-keys", json={"tenant": f"{CITY}-court", "name": "x"}, headers=township_admin)
    assert parent_agency.status_code == 403
    # only for an agency that exists: onboarded, attached to its unit
    missing = api.post("/api/v1/api-keys", json={"tenant": f"{TOWNSHIP}-court", "name": "法庭"}, headers=township_admin)
    assert missing.status_code == 422 and missing.json()["fields"][0]["field"] == "tenant"
    assert "not an onboarded agency" in missing.json()["fields"][0]["message"]
    onboard_agency(db, f"{TOWNSHIP}-court")
    own = api.post("/api/v1/api-keys", json={"tenant": f"{TOWNSHIP}-court", "name": "法庭"}, headers=township_admin)
    assert own.status_code == 201
    key_id = own.json()["id"]
    # a sibling township's admin cannot see, rotate or revoke it
    sibling_admin = login(SIBLING_TOWNSHIP)
    assert key_id not in [k["id"] for k in api.get("/api/v1/api-keys", headers=sibling_admin).json()]
    assert api.post(f"/api/v1/api-keys/{key_id}/rotate", headers=sibling_admin).status_code == 404
    assert api.delete(f"/api/v1/api-keys/{key_id}", headers=sibling_admin).status_code == 404
    assert api.delete("/api/v1/api-keys/not-a-uuid", headers=sibling_admin).status_code == 404
    assert api.get("/api/v1/auth/me", headers=with_key(own.json()["key"])).status_code == 200


def test_an_api_key_manages_nothing(api, db, login):
    onboard_agency(db, f"{CITY}-procuratorate")
    key = api.post(
        "/api/v1/api-keys", json={"tenant": f"{CITY}-procuratorate", "name": "检察"}, headers=login(CITY)
    ).json()["key"]
    assert api.get("/api/v1/users", headers=with_key(key)).status_code == 403
    assert (
        api.post("/api/v1/api-keys", json={"tenant": f"{CITY}-court", "name": "x"}, headers=with_key(key)).status_code
        == 403
    )


def test_account_and_key_changes_are_in_the_identity_audit_trail(api, db, login):
    """Every change an admin makes to an account or a key is audited, for the admins above it."""
    city_admin = login(CITY)
    username = unique("audited")
    body = {"username": username, "password": PASSWORD, "tenant": VILLAGE, "roles": ["mediator"]}
    assert api.post("/api/v1/users", json=body, headers=city_admin).status_code == 201
    patched = api.patch(f"/api/v1/users/{username}", json={"roles": ["mediator", "supervisor"]}, headers=city_admin)
    assert patched.status_code == 200
    assert api.patch(f"/api/v1/users/{username}", json={"disabled": True}, headers=city_admin).status_code == 200
    reset = api.post(f"/api/v1/users/{username}/password", json={"password": PASSWORD + "x"}, headers=city_admin)
    assert reset.status_code == 204
    agency = onboard_agency(db, f"{TOWNSHIP}-police")
    key = api.post("/api/v1/api-keys", json={"tenant": agency, "name": "审计"}, headers=city_admin)
    assert api.delete(f"/api/v1/api-keys/{key.json()['id']}", headers=city_admin).status_code == 204

    trail = api.get("/api/v1/identity/audit", params={"tenant": VILLAGE}, headers=login(TOWNSHIP))
    assert trail.status_code == 200, trail.text
    mine = [(r["action"], r["actor"]) for r in trail.json() if r["subject"] == username]
    assert mine == [
        ("password_set", CITY),
        ("user_changed", CITY),
        ("user_changed", CITY),
        ("user_created", CITY),
    ]
    changed = [r for r in trail.json() if r["subject"] == username and r["action"] == "user_changed"]
    assert changed[-1]["detail"] == {
        "before": {"roles": ["mediator"], "disabled": False},
        "after": {"roles": ["mediator", "supervisor"], "disabled": False},
    }
    assert PASSWORD not in trail.text
    keys = api.get("/api/v1/identity/audit", params={"tenant": TOWNSHIP}, headers=city_admin).json()
    assert [r["action"] for r in keys if r["subject"] == key.json()["id"]] == ["api_key_revoked", "api_key_created"]
    assert key.json()["key"] not in str(keys)
    # a sibling's admin does not read it
    refused = api.get("/api/v1/identity/audit", params={"tenant": VILLAGE}, headers=login(SIBLING_TOWNSHIP))
    assert refused.status_code == 404
