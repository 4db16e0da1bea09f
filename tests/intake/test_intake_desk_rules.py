"""Pure rules of the intake desk: duplicate and new-fact tests, the e-mail parser, refusal inputs,
who decides, channel rules, tracking tails."""

from __future__ import annotations

import uuid
from decimal import Decimal
from email.message import EmailMessage

import pytest

from common.categories import RefusalGround
from common.errors import Conflict, Forbidden, InvalidInput
from common.tenancy import Scope
from services.intake import decisions, duplicates, email_intake, tracking
from services.intake.filing import check_channel, idempotency_scope_key
from services.intake.models import Complaint
from services.intake.validation import InvalidField

SUMMARY = "新买的电饭煲三天后无法加热，商家拒绝退货"


def record(**values) -> Complaint:
    base = {
        "id": uuid.uuid4(),
        "summary": SUMMARY,
        "claim_amount": Decimal("399.00"),
        "details": {},
        "business": {"name": "某某电器商店"},
        "status": "routed",
        "kind": "complaint",
        "responsible_unit_code": "330681109290",
    }
    base.update(values)
    return Complaint(**base)


def test_normalize_drops_spaces_punctuation_and_width():
    assert duplicates.normalize(" 枫桥 水果店，ＡＢＣ! ") == "枫桥水果店abc"


def test_similarity_of_a_retyped_text_is_high_and_of_another_story_low():
    assert duplicates.similarity(SUMMARY, SUMMARY.replace("，", " ") + "。") == 1.0
    assert duplicates.similarity(SUMMARY, SUMMARY[:-2] + "退款") >= duplicates.DUPLICATE_SIMILARITY
    assert duplicates.similarity(SUMMARY, "外卖里有异物，店家辱骂顾客") < duplicates.DUPLICATE_SIMILARITY
    assert duplicates.similarity("", SUMMARY) == 0.0


def test_same_business_by_credit_code_else_by_name():
    assert duplicates.same_business({"name": "甲", "credit_code": "X"}, {"name": "乙", "credit_code": "X"})
    assert not duplicates.same_business({"name": "甲", "credit_code": "X"}, {"name": "甲", "credit_code": "Y"})
    assert duplicates.same_business({"name": "枫桥 水果店"}, {"name": "枫桥水果店", "credit_code": "X"})
    assert not duplicates.same_business({"name": ""}, {"name": ""})


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        ({}, None),
        ({"claim_amount": None}, None),  # not saying the amount again is no new fact
        ({"claim_amount": Decimal("500.00")}, "claim amount"),
        ({"details": {"occurred_on": "2026-10-02"}}, "incident day"),
        ({"summary": SUMMARY + "，11月3日再次被拒"}, "new figures"),
    ],
)
def test_new_facts(new, expected):
    old = record(details={"occurred_on": "2026-10-01"})
    found = duplicates.new_facts(record(**new), old)
    assert (found is None) if expected is None else (expected in found)


def test_keys():
    assert duplicates.business_key({"name": "某店", "credit_code": "91330681MA2B0C3D1H"}) == "cc:91330681MA2B0C3D1H"
    assert duplicates.business_key({"name": "某 店"}) == "name:某店"
    assert duplicates.business_key({}) is None
    assert duplicates.address_key(None) is None and duplicates.address_key("枫桥镇 1号") == "枫桥镇1号"


def test_email_parse_takes_sender_text_phone_and_attachments():
    message = EmailMessage()
    message["From"] = "=?utf-8?b?546L5LqU?= <wangwu@example.com>"  # 王五, RFC 2047 encoded
    message["Subject"] = "投诉"
    message["Date"] = "Sun, 22 Nov 2026 10:00:00 +0800"
    message.set_content("电池鼓包。电话 139-1234-5678\n")
    message.add_alternative("<p>电池<b>鼓包</b></p>", subtype="html")
    message.add_attachment(b"%PDF-1.4\n", maintype="application", subtype="pdf", filename="发票.pdf")
    parsed = email_intake.parse(message.as_bytes())
    assert (parsed.sender_name, parsed.sender_address) == ("王五", "wangwu@example.com")
    assert parsed.phone == "13912345678"
    assert "电池鼓包" in parsed.text and "<p>" not in parsed.text
    assert parsed.attachments == [("发票.pdf", b"%PDF-1.4\n")]
    assert parsed.sent_at.startswith("2026-11-22T10:00:00")


def test_email_html_only_is_stripped_and_two_phones_are_left_to_the_clerk():
    message = EmailMessage()
    message["From"] = "a@example.com"
    message.set_content("<p>电话13912345678或13812345678</p>", subtype="html")
    parsed = email_intake.parse(message.as_bytes())
    assert parsed.text == "电话13912345678或13812345678" and parsed.phone is None


@pytest.mark.parametrize("raw", [b"", b"   ", b"no headers", b"From: nobody\r\n\r\nbody\r\n"])
def test_email_without_a_usable_sender_or_content_is_refused(raw):
    with pytest.raises(InvalidField) as caught:
        email_intake.parse(raw)
    assert caught.value.field == "message"


def test_refusal_inputs():
    ground, reason, routes = decisions.parse_refusal("time_barred", " 超过三年 ", None)
    assert ground is RefusalGround.TIME_BARRED and reason == "超过三年" and routes == ground.other_routes_zh
    with pytest.raises(InvalidInput) as caught:
        decisions.parse_refusal("nope", "", "")
    assert {f["field"] for f in caught.value.fields} == {"ground", "reason", "other_routes"}


def test_who_decides():
    case = record()
    decisions.check_decider(case, Scope("330681109290", "clerk", frozenset({"intake_clerk"})))
    decisions.check_decider(case, Scope("330681109290", "boss", frozenset({"supervisor"})))
    for scope in (
        Scope("330681109290", "m", frozenset({"mediator"})),
        Scope("330681109", "t", frozenset({"intake_clerk"})),
        Scope("330681-police", "p", frozenset({"agency_liaison", "intake_clerk"})),
    ):
        with pytest.raises(Forbidden):
            decisions.check_decider(case, scope)


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"status": "accepted"}, "already accepted"),
        ({"status": "refused"}, "already refused"),
        ({"status": "duplicate"}, "duplicate"),
        ({"status": "draft"}, "draft"),
        ({"status": "received"}, "'received'"),
        ({"status": "report_received", "kind": "report"}, "report"),
    ],
)
def test_wrong_states(values, words):
    decisions.check_state(record())
    with pytest.raises(Conflict, match=words):
        decisions.check_state(record(**values))


def test_channel_rules():
    clerk = Scope("330681109", "c", frozenset({"intake_clerk"}))
    agency = Scope("330681-police", "p", frozenset({"agency_liaison"}))
    check_channel("web", None)
    check_channel("hotline", clerk)
    check_channel("walk_in", clerk)
    check_channel("agency", agency)
    for channel, scope in (("hotline", None), ("web", clerk), ("hotline", agency), ("email", clerk)):
        with pytest.raises(InvalidInput):
            check_channel(channel, scope)
    with pytest.raises(Forbidden):
        check_channel("hotline", Scope("330681109", "m", frozenset({"mediator"})))
    with pytest.raises(Forbidden):
        check_channel("agency", Scope("330681-police", "x", frozenset()))


def test_idempotency_keys_are_per_caller():
    clerk = Scope("330681109", "c", frozenset({"intake_clerk"}))
    assert idempotency_scope_key(None, None) is None
    assert idempotency_scope_key(None, "k") != idempotency_scope_key(clerk, "k")
    assert idempotency_scope_key(clerk, "k") == idempotency_scope_key(clerk, "k")
    assert len(idempotency_scope_key(clerk, "k" * 100)) == 64


def test_tracking_tail_and_number():
    case = record(complainant={"phone": "0575-87012345"})
    assert tracking.phone_tail("0575-87012345") == "2345"
    assert tracking.matches(case, "2345") and not tracking.matches(case, "2346")
    assert not tracking.matches(None, "----")
    assert tracking.normalize_number(" ts2026 0101abc ") == "TS20260101ABC"
