import pytest

from common.divisions import Tier, covers, is_unit_code, lineage, lowest_common_unit, parent_of, tier_of


@pytest.mark.parametrize(
    ("code", "tier", "parent"),
    [("330681", Tier.CITY, None), ("330681109", Tier.TOWNSHIP, "330681"), ("330681109290", Tier.VILLAGE, "330681109")],
)
def test_tier_and_parent(code, tier, parent):
    assert tier_of(code) is tier
    assert parent_of(code) == parent


@pytest.mark.parametrize("code", ["33", "3306", "33068110", "3306811092901", "33068a", ""])
def test_not_unit_codes(code):
    assert not is_unit_code(code)
    with pytest.raises(ValueError):
        tier_of(code)


def test_lineage_lowest_first():
    assert lineage("330681109290") == ["330681109290", "330681109", "330681"]
    assert lineage("330681") == ["330681"]


@pytest.mark.parametrize(
    ("scope", "code", "expected"),
    [
        ("330681", "330681109290", True),
        ("330681109", "330681109290", True),
        ("330681109290", "330681109290", True),
        ("330681109", "330681110001", False),  # sibling township
        ("330681109290", "330681109291", False),  # sibling village
        ("330681109290", "330681109", False),  # parent
        ("321282", "330681109290", False),  # another city
        ("3306", "330681109290", False),  # a prefecture is not a unit of this platform
    ],
)
def test_covers(scope, code, expected):
    assert covers(scope, code) is expected


def test_lowest_common_unit():
    assert lowest_common_unit("330681109290", "330681109001") == "330681109"
    assert lowest_common_unit("330681109290", "330681110001") == "330681"
    assert lowest_common_unit("330681109290", "321282101001") is None
