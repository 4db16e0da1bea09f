"""The mediation state machine, table-driven: every (state, action) pair is either allowed, leading
to the state written here, or refused with a reason (a 409 at the API). The expected table is
written out by hand, independently of services/mediation/states.py."""

from __future__ import annotations

import itertools

import pytest

from services.mediation import roster, states
from services.mediation.states import Refused, next_state

RUNNING = [
    "awaiting_consent",
    "awaiting_assignment",
    "assigned",
    "session_scheduled",
    "session_held",
    "failed_once",
    "second_session_scheduled",
    "second_session_held",
    "agreement_drafted",
]
WITH_MEDIATOR = [
    "assigned",
    "session_scheduled",
    "session_held",
    "failed_once",
    "second_session_scheduled",
    "second_session_held",
    "agreement_drafted",
    "re_review",
    "breached",
]
AFTER_A_SESSION = [
    "session_scheduled",
    "session_held",
    "failed_once",
    "second_session_scheduled",
    "second_session_held",
    "agreement_drafted",
    "agreed",
    "performed",
    "breached",
    "terminated",
    "re_review",
    "withdrawn",
    "expired",
    "escalated",
]
CLOSED = ["consent_refused", "withdrawn", "expired", "terminated", "agreed", "performed", "escalated", "breached"]

# (state, action) -> the state it leads to, with the facts below (round 1, previous = agreed,
# not both confirmed, not every term performed); the conditional ones are tested separately
EXPECTED: dict[tuple[str, str], str] = {
    ("awaiting_consent", "consent"): "awaiting_assignment",
    ("awaiting_consent", "refuse_consent"): "consent_refused",
    ("awaiting_assignment", "assign"): "assigned",
    ("assigned", "schedule_session"): "session_scheduled",
    ("session_scheduled", "schedule_session"): "session_scheduled",
    ("session_scheduled", "record_minutes"): "session_held",
    ("session_held", "schedule_session"): "session_scheduled",
    ("session_held", "draft_agreement"): "agreement_drafted",
    ("session_held", "fail"): "failed_once",
    ("failed_once", "schedule_session"): "second_session_scheduled",
    ("second_session_scheduled", "schedule_session"): "second_session_scheduled",
    ("second_session_scheduled", "record_minutes"): "second_session_held",
    ("second_session_held", "schedule_session"): "second_session_scheduled",
    ("second_session_held", "draft_agreement"): "agreement_drafted",
    ("second_session_held", "terminate"): "terminated",
    ("agreement_drafted", "draft_agreement"): "agreement_drafted",
    ("agreement_drafted", "confirm_agreement"): "agreement_drafted",  # one party so far
    ("agreement_drafted", "fail"): "failed_once",  # round 1
    ("agreed", "perform_term"): "agreed",  # not every term yet
    ("agreed", "breach_term"): "breached",
    ("breached", "perform_term"): "breached",
    ("breached", "breach_term"): "breached",
    ("breached", "reopen"): "assigned",
    ("breached", "escalate"): "escalated",
    ("agreed", "request_re_review"): "re_review",
    ("terminated", "request_re_review"): "re_review",
    ("expired", "request_re_review"): "re_review",
    ("re_review", "uphold"): "agreed",  # back to the state before
    ("re_review", "reopen"): "assigned",
    ("re_review", "withdraw"): "withdrawn",
    ("agreed", "apply_judicial_confirmation"): "agreed",  # not applied yet (the court's answer: guarded)
}
for _state in RUNNING:
    EXPECTED[(_state, "withdraw")] = "withdrawn"
    EXPECTED[(_state, "expire")] = "expired"
    EXPECTED[(_state, "start_appraisal")] = _state
    EXPECTED[(_state, "end_appraisal")] = _state
for _state in WITH_MEDIATOR:
    EXPECTED[(_state, "request_recusal")] = _state
    EXPECTED[(_state, "decide_recusal")] = _state
    EXPECTED.setdefault((_state, "assign"), _state)
for _state in AFTER_A_SESSION:
    EXPECTED[(_state, "confirm_minutes")] = _state
for _state in CLOSED:
    EXPECTED[(_state, "callback")] = _state
    EXPECTED[(_state, "notify_end")] = _state
for _state in states.STATES:
    EXPECTED[(_state, "move_unit")] = _state
# a new unit assigns its own mediator; a case ended without settling is mediated anew by the unit above
for _state in [
    *(s for s in WITH_MEDIATOR if s in RUNNING),
    "re_review",
    "breached",
    "terminated",
    "expired",
    "escalated",
]:
    EXPECTED[(_state, "move_unit")] = "awaiting_assignment"

FACTS = {"round": 1, "previous": "agreed"}
ALL_PAIRS = list(itertools.product(states.STATES, states.ACTIONS))


def test_states_and_actions_are_the_documented_ones():
    assert len(states.STATES) == 18
    assert set(RUNNING) == states.RUNNING
    assert set(WITH_MEDIATOR) == states.WITH_MEDIATOR
    assert set(states.ENDED) == {"consent_refused", "withdrawn", "expired", "terminated", "agreed", "escalated"}


@pytest.mark.parametrize(("state", "action"), sorted(EXPECTED), ids=lambda v: v)
def test_allowed_transition(state, action):
    assert next_state(state, action, FACTS) == EXPECTED[(state, action)]


FORBIDDEN = sorted(pair for pair in ALL_PAIRS if pair not in EXPECTED and pair != ("agreement_drafted", "terminate"))


@pytest.mark.parametrize(("state", "action"), FORBIDDEN, ids=lambda v: v)
def test_forbidden_transition_is_refused_with_the_reason(state, action):
    with pytest.raises(Refused) as refused:
        next_state(state, action, FACTS)
    assert f"{action} is not allowed while the case is {state}" in str(refused.value)
    assert not states.allowed(state, action, FACTS)


def test_the_table_has_no_pair_the_test_does_not_know():
    allowed = {pair for pair in ALL_PAIRS if states.allowed(*pair, FACTS)}
    assert allowed == set(EXPECTED)


def test_every_target_is_a_state():
    for (state, action), target in states.TRANSITIONS.items():
        assert state in states.STATES and action in states.ACTIONS
        assert target in states.STATES or target == states.PREVIOUS


# --- guards and conditions --------------------------------------------------------------------


def test_second_round_draft_may_terminate_but_not_fail():
    assert next_state("agreement_drafted", "terminate", {"round": 2}) == "terminated"
    with pytest.raises(Refused, match="second round"):
        next_state("agreement_drafted", "fail", {"round": 2})
    with pytest.raises(Refused, match="second session"):
        next_state("agreement_drafted", "terminate", {"round": 1})


def test_agreement_is_reached_when_both_parties_confirmed():
    assert next_state("agreement_drafted", "confirm_agreement", {"both_confirmed": False}) == "agreement_drafted"
    assert next_state("agreement_drafted", "confirm_agreement", {"both_confirmed": True}) == "agreed"


def test_performed_when_every_term_is():
    assert next_state("agreed", "perform_term", {"all_performed": False}) == "agreed"
    assert next_state("agreed", "perform_term", {"all_performed": True}) == "performed"


@pytest.mark.parametrize("previous", ["agreed", "terminated", "expired"])
def test_upholding_a_re_review_returns_to_where_the_case_was(previous):
    assert next_state("re_review", "uphold", {"previous": previous}) == previous


def test_judicial_confirmation_is_applied_once_and_answered_once():
    assert next_state("agreed", "apply_judicial_confirmation", {"judicial": None}) == "agreed"
    with pytest.raises(Refused, match="已申请过司法确认"):
        next_state("agreed", "apply_judicial_confirmation", {"judicial": "applied"})
    for state in ("agreed", "performed", "breached"):
        assert next_state(state, "record_judicial_decision", {"judicial": "applied"}) == state
        for answered in (None, "confirmed", "refused"):
            with pytest.raises(Refused, match="没有待法院答复"):
                next_state(state, "record_judicial_decision", {"judicial": answered})
    with pytest.raises(Refused, match="只有已达成"):
        next_state("agreement_drafted", "apply_judicial_confirmation", {})
    # the court's answer is the court's: never offered to the unit's staff
    assert "record_judicial_decision" not in states.allowed_actions("agreed", {"judicial": "applied"})
    assert "apply_judicial_confirmation" in states.allowed_actions("agreed", {"judicial": None})


def test_unknown_state_or_action_is_a_programming_error():
    with pytest.raises(ValueError):
        next_state("nowhere", "consent")
    with pytest.raises(ValueError):
        next_state("awaiting_consent", "dance")


def test_allowed_actions_leave_out_system_actions():
    actions = states.allowed_actions("awaiting_consent")
    assert "consent" in actions and "withdraw" in actions
    assert "expire" not in actions and "move_unit" not in actions


def test_every_end_state_has_an_outcome():
    assert set(states.OUTCOMES) == states.ENDED
    assert states.OUTCOMES["terminated"] == "failed"


# --- choosing a mediator -------------------------------------------------------------------------


def C(name, *categories, active=True):
    return roster.Candidate(name, tuple(categories), active)


def test_skill_first_then_generalists_then_load():
    team = [C("a"), C("b", "product_quality"), C("c", "catering")]
    assert roster.pick(team, "product_quality", {"b": 9}) == "b"
    assert roster.pick(team, "housing", {}) == "a"  # a generalist before a specialist of another category
    assert roster.pick([C("a"), C("d")], "x", {"a": 3, "d": 1}) == "d"
    assert roster.pick([C("a"), C("d")], "x", {}) == "a"  # tie: by username


def test_rostered_mediators_before_staff_who_joined_by_acting():
    supervisor = roster.Candidate("a-supervisor", (), rostered=False)  # acted on a case: no skills, no load
    team = [supervisor, C("m1", "catering"), C("m2"), C("m3")]
    assert roster.pick(team, "product_quality", {"m2": 2, "m3": 1}) == "m3"  # by load among the rostered
    assert roster.pick([supervisor, C("m1", "catering")], "x", {"m1": 5}) == "m1"
    assert roster.pick([supervisor], "x", {}) == "a-supervisor"  # nobody else: the one who acted


def test_inactive_and_excluded_are_never_picked():
    team = [C("a", active=False), C("b"), C("c")]
    assert roster.pick(team, "x", {}, exclude={"b"}) == "c"
    assert roster.pick(team, "x", {}, exclude={"b", "c"}) is None
