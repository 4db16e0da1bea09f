"""Request bodies of mediation actions: what is refused before any RPC (the gateway) and again in
the service."""

from __future__ import annotations

import pytest

from common.contracts import mediation as inputs
from common.errors import InvalidInput

LATER = "2026-12-01T09:30:00+08:00"


def fields(model, payload) -> list[str]:
    with pytest.raises(InvalidInput) as refused:
        inputs.parse(model, payload)
    return [f["field"] for f in refused.value.fields]


def test_a_session_names_its_party_and_place():
    assert inputs.parse(inputs.SessionInput, {"scheduled_at": LATER, "place": "调解室"}).mode == "joint"
    ok = inputs.parse(
        inputs.SessionInput, {"mode": "single_party", "party": "business", "channel": "phone", "scheduled_at": LATER}
    )
    assert ok.party == "business"
    assert fields(inputs.SessionInput, {"mode": "single_party", "channel": "phone", "scheduled_at": LATER})
    assert fields(inputs.SessionInput, {"channel": "in_person", "scheduled_at": LATER})
    assert fields(inputs.SessionInput, {"channel": "phone", "scheduled_at": "2026-12-01T09:30:00"}) == ["scheduled_at"]


def test_an_agreement_has_terms_with_deadlines():
    assert fields(inputs.AgreementInput, {"summary": "双方同意", "terms": []}) == ["terms"]
    assert "terms.0.deadline" in fields(
        inputs.AgreementInput, {"summary": "双方同意", "terms": [{"kind": "refund", "description": "退款"}]}
    )
    assert fields(
        inputs.AgreementInput,
        {
            "summary": "双方同意",
            "terms": [{"kind": "refund", "description": "退款", "amount": "-1", "deadline": "2026-12-01"}],
        },
    ) == ["terms.0.amount"]


def test_call_back_score_is_one_to_five_and_unknown_fields_are_refused():
    assert inputs.parse(inputs.CallbackInput, {"score": 5}).party == "complainant"
    assert fields(inputs.CallbackInput, {"score": 0}) == ["score"]
    assert fields(inputs.CallbackInput, {"score": 3, "rating": 3}) == ["rating"]


def test_termination_defaults_to_the_remedy_routes():
    parsed = inputs.parse(inputs.TerminateInput, {"reason": "二次调解未果"})
    assert parsed.remedies == ["arbitration", "court", "litigation_support"] and parsed.escalate is False
    assert fields(inputs.TerminateInput, {"reason": "x" * 3, "remedies": ["prayer"]}) == ["remedies.0"]


def test_every_action_but_the_platform_s_has_a_body_model():
    from services.mediation import states

    assert set(inputs.INPUTS) == set(states.ACTIONS) - states.SYSTEM_ACTIONS
