"""The pure rules of staff identity: tenant ids, subtrees, roles a tenant may hold, grants, and the
throttling arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway import apikeys, auth, identity
from gateway.identity import Tenant

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SECRET = "a test secret of at least 32 bytes"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("330681", Tenant("330681")),
        ("330681109", Tenant("330681109")),
        ("330681109290", Tenant("330681109290")),
        ("330681-police", Tenant("330681", "police")),
        ("330681109290-labour_arbitration", Tenant("330681109290", "labour_arbitration")),
    ],
)
def test_tenant_ids_parse(value, expected):
    assert identity.parse_tenant(value) == expected
    assert identity.parse_tenant(value).id == value


@pytest.mark.parametrize(
    "value", ["", "33068", "3306811", "330681-", "330681-fire_brigade", "330681-Police", "x330681", "330681 "]
)
def test_bad_tenant_ids_are_refused(value):
    with pytest.raises(ValueError):
        identity.parse_tenant(value)
    assert not identity.is_tenant_id(value)


@pytest.mark.parametrize(
    ("root", "tenant", "inside"),
    [
        ("330681", "330681", True),
        ("330681", "330681109290", True),
        ("330681", "330681-police", True),
        ("330681109", "330681109290-court", True),
        ("330681109", "330681109", True),
        ("330681109", "330681110", False),  # sibling
        ("330681109", "330681", False),  # parent
        ("330681109", "330681-police", False),  # the parent's agency
        ("330681", "321282", False),  # another city
        ("330681-police", "330681-police", True),
        ("330681-police", "330681109", False),  # an agency has no subtree
        ("330681-police", "330681-court", False),
        ("330681", "not-a-tenant", False),
    ],
)
def test_subtree(root, tenant, inside):
    assert identity.in_subtree(root, tenant) is inside


def test_tenant_admin_manages_its_subtree_only_platform_admin_everything():
    admin = {"tenant_admin"}
    assert identity.can_manage("330681109", admin, "330681109290")
    assert not identity.can_manage("330681109", admin, "330681110")
    assert not identity.can_manage("330681109", {"supervisor", "mediator"}, "330681109290")
    assert identity.can_manage("330681109", {"platform_admin"}, "321282")
    assert not identity.can_manage("330681109", {"platform_admin"}, "garbage")


def test_roles_fit_the_tenant():
    assert identity.tenant_role_problems(Tenant("330681109"), ["mediator", "tenant_admin"]) == []
    assert identity.tenant_role_problems(Tenant("330681", "police"), ["agency_liaison", "tenant_admin"]) == []
    assert identity.tenant_role_problems(Tenant("330681"), ["ops"]) == []
    assert identity.tenant_role_problems(Tenant("330681109"), ["ops"]) == ["ops is held only at a city"]
    assert identity.tenant_role_problems(Tenant("330681109"), ["agency_liaison"]) == [
        "agency_liaison cannot be held by a user of a unit"
    ]
    assert identity.tenant_role_problems(Tenant("330681", "court"), ["mediator", "platform_admin"]) == [
        "mediator cannot be held by a user of an agency",
        "platform_admin cannot be held by a user of an agency",
    ]
    assert identity.tenant_role_problems(Tenant("330681"), ["wizard"]) == ["unknown role 'wizard'"]


def test_only_a_platform_admin_grants_or_removes_platform_admin():
    assert identity.grant_problems({"tenant_admin"}, [], ["platform_admin"]) == [
        "only a platform admin may grant or remove platform_admin"
    ]
    assert identity.grant_problems({"tenant_admin"}, ["platform_admin", "mediator"], ["mediator"]) != []
    assert identity.grant_problems({"tenant_admin"}, ["mediator"], ["mediator", "supervisor", "ops"]) == []
    # keeping a platform admin's role unchanged is no grant
    assert identity.grant_problems({"tenant_admin"}, ["platform_admin"], ["platform_admin"]) == []
    assert identity.grant_problems({"platform_admin"}, [], ["platform_admin"]) == []


def failures(*minutes_ago: float) -> list[datetime]:
    return [NOW - timedelta(minutes=m) for m in minutes_ago]


def test_retry_after_allows_below_the_limit():
    assert identity.retry_after(failures(1, 2, 3, 4), 5, 900, NOW) is None
    assert identity.retry_after([], 5, 900, NOW) is None


def test_retry_after_counts_until_the_limit_th_newest_failure_leaves_the_window():
    # five failures 1..5 minutes ago: the fifth newest (5 min ago) leaves the 15-minute window in 10 min
    assert identity.retry_after(failures(1, 2, 3, 4, 5), 5, 900, NOW) == 600
    # unordered input, and failures beyond the limit do not lengthen the wait
    assert identity.retry_after(failures(5, 1, 14, 3, 2, 4), 5, 900, NOW) == 600


def test_retry_after_ignores_failures_outside_the_window_and_never_says_zero():
    assert identity.retry_after(failures(1, 2, 3, 4, 16), 5, 900, NOW) is None
    assert identity.retry_after([NOW - timedelta(seconds=899.9)] * 5, 5, 900, NOW) == 1


def test_access_token_carries_the_version_and_is_refused_without_it():
    import jwt

    staff = auth.Staff(username="clerk.a", tenant="330681109", roles=frozenset({"mediator"}), version=3)
    token = auth.issue_token(staff, SECRET, 900)
    assert auth.read_token(token, SECRET) == staff
    with pytest.raises(auth.InvalidToken):
        auth.read_token(token, "another secret, also 32 bytes long")
    legacy = jwt.encode({"sub": "x", "tenant": "330681", "exp": 2**40}, SECRET, algorithm="HS256")
    with pytest.raises(auth.InvalidToken):
        auth.read_token(legacy, SECRET)
    expired = auth.issue_token(staff, SECRET, -1)
    with pytest.raises(auth.InvalidToken):
        auth.read_token(expired, SECRET)


def test_api_keys_are_random_prefixed_and_hashed():
    key, prefix = apikeys.new_key()
    other, _ = apikeys.new_key()
    assert key.startswith(f"dpk_{prefix}_") and len(key) > 40 and key != other
    assert apikeys.key_hash(key) != apikeys.key_hash(other)
    assert len(apikeys.key_hash(key)) == 64 and key not in apikeys.key_hash(key)


@pytest.mark.parametrize("username", ["330681109", "li.ming", "a-b_c@unit", "abc"])
def test_usernames(username):
    import re

    assert re.match(identity.USERNAME_PATTERN, username)


@pytest.mark.parametrize("username", ["ab", "Li", "-abc", "a b", "张三", "x" * 65])
def test_bad_usernames(username):
    import re

    assert not re.match(identity.USERNAME_PATTERN, username)
