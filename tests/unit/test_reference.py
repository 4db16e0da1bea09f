"""The shared vocabulary agrees with itself: every mediation state has a label and a case status,
every default is a known code, and the services' tables are the shared ones, not copies."""

from __future__ import annotations

from typing import get_args

from common import categories, reference
from common.contracts import ComplaintSubmission
from common.contracts import mediation as contract
from services.mediation import states


def test_every_mediation_state_has_a_label_and_a_case_status() -> None:
    assert list(reference.MEDIATION_STATES) == list(states.STATES)
    assert set(reference.MEDIATION_STATUS) == set(reference.MEDIATION_STATES)
    assert set(reference.MEDIATION_STATUS.values()) <= set(reference.CASE_STATUSES)


def test_the_defaults_are_known_codes() -> None:
    assert set(reference.DEFAULT_REMEDY_ROUTES) <= set(reference.REMEDY_ROUTES)
    assert set(categories.FILED_REQUESTS) < set(categories.REQUEST_CODES)
    assert {c.agency for c in categories.CATEGORIES if c.agency} <= set(reference.AGENCY_TYPES)


def test_the_contracts_take_their_codes_from_the_shared_lists() -> None:
    channel = ComplaintSubmission.model_fields["channel"].annotation
    assert get_args(channel) == tuple(reference.CHANNELS)
    assert get_args(contract.Remedy) == tuple(reference.REMEDY_ROUTES)
    assert get_args(contract.CaseState) == tuple(reference.MEDIATION_STATES)
    assert get_args(contract.TermKind) == categories.REQUEST_CODES


def test_every_list_served_has_a_chinese_label_for_each_code() -> None:
    for name, table in reference.REFERENCE_LISTS.items():
        assert table, name
        assert all(code.isascii() and label and not label.isascii() for code, label in table.items()), name
