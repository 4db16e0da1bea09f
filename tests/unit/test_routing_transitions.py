"""Routing's transition table (services/routing/moves.py), table-driven: every (state, move) pair is
either allowed, leading to the state written here, or refused with the state's reason (a 409 at the
API). The expected table is written out by hand, independently of the module."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest

from common.errors import Conflict, Forbidden
from common.tenancy import Scope
from services.routing import moves

STATES = ["active", "handover_pending", "contested", "agency_pending", "with_agency", "ended"]

# (state, move) -> the state after it; every pair not written here is refused
EXPECTED = {
    ("active", "hand_over"): "handover_pending",
    ("active", "hand_to_agency"): "agency_pending",
    ("handover_pending", "handover_accept"): "active",
    ("handover_pending", "contest"): "contested",
    ("active", "return"): "active",
    ("active", "dispute"): "contested",
    ("contested", "contest_expired"): "contested",
    ("contested", "decide_authority"): "active",
    ("agency_pending", "handover_acknowledge"): "with_agency",
    ("agency_pending", "agency_lapsed"): "active",
    ("agency_pending", "agency_answer"): "with_agency",  # acknowledged on the way
    ("with_agency", "agency_answer"): "with_agency",
    ("agency_pending", "agency_hand_back"): "active",
    ("with_agency", "agency_hand_back"): "active",
    ("active", "escalate"): "active",
    ("active", "reclassify"): "active",
    ("active", "take_over"): "active",
    ("active", "pass_up"): "active",
    ("active", "end_at_top"): "ended",
    ("active", "request_takeover"): "active",
    **{(state, "decline_takeover"): state for state in STATES},
}
MOVES = sorted({move for _, move in EXPECTED})


@pytest.mark.parametrize(("state", "move"), list(itertools.product(STATES, MOVES)))
def test_every_state_and_move(state: str, move: str) -> None:
    case = SimpleNamespace(state=state)
    if (state, move) in EXPECTED:
        moves.enter(case, move)
        assert case.state == EXPECTED[(state, move)]
    else:
        with pytest.raises(Conflict, match=f"not possible now: {moves.NOT_NOW[state]}"):
            moves.enter(case, move)
        assert case.state == state


def test_the_table_has_no_other_rows() -> None:
    assert {key: row.to for key, row in moves.TRANSITIONS.items()} == EXPECTED
    assert set(moves.STATES) == set(STATES)


@pytest.mark.parametrize(
    ("move", "roles"),
    [
        ("handover_accept", {"supervisor", "intake_clerk"}),
        *[
            (move, {"agency_liaison", "supervisor", "intake_clerk"})
            for move in ("handover_acknowledge", "agency_answer", "agency_hand_back")
        ],
        *[(move, {"supervisor"}) for move in ("return", "contest", "decide_authority", "escalate", "reclassify")],
        *[(move, {"supervisor"}) for move in ("request_takeover", "take_over", "decline_takeover")],
    ],
)
def test_who_may_make_a_move(move: str, roles: set[str]) -> None:
    for role in ("intake_clerk", "mediator", "supervisor", "tenant_admin", "agency_liaison"):
        caller = Scope(unit="330681", user="u", roles=frozenset({role}))
        if role in roles:
            moves.need_role(caller, move)
        else:
            with pytest.raises(Forbidden, match=f"needs the role {' or '.join(sorted(roles))}"):
                moves.need_role(caller, move)


def test_routing_own_moves_need_no_caller_and_are_never_offered() -> None:
    supervisor = Scope(unit="330681", user="u", roles=frozenset({"supervisor", "intake_clerk", "agency_liaison"}))
    for move in ("hand_over", "hand_to_agency", "dispute", "contest_expired", "agency_lapsed", "pass_up", "end_at_top"):
        assert all(not moves.may(state, move, supervisor) for state in STATES)
        assert {row.who for (_, m), row in moves.TRANSITIONS.items() if m == move} == {moves.ROUTING}


def test_a_handover_waits_for_the_receiver() -> None:
    assert moves.TRANSITIONS[("active", "hand_over")].waits_for == "accepts"
    assert moves.TRANSITIONS[("active", "hand_to_agency")].waits_for == "acknowledges"
