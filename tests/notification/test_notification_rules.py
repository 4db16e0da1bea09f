"""Notification without I/O: the rules table, recipients, the reduced template context, templates
and their overrides, quiet hours, tenant settings inheritance, signing, backoff."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from common.contracts import (
    ALL_CONTRACTS,
    CaseEscalated,
    CaseRoutingStep,
    ClockColourChanged,
    ComplaintAccepted,
    ComplaintReceived,
    ComplaintRefused,
    ComplaintRouted,
    EarlyWarningRaised,
    MediationEnded,
    MediationTransitioned,
    Unit,
)
from common.contracts.signing import sign, verify_signature
from common.errors import InvalidInput
from services.notification import planning, rules, settings, templates
from services.notification.channels import Channels, Logged, Outgoing, Smtp, signed_headers

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai
VILLAGE = Unit(code="330681109290", name="枫源村委会", tier="village")
TOWNSHIP = Unit(code="330681109", name="枫桥镇", tier="township")
CID = uuid.uuid4()
PHONE = "13800138000"


def case(**overrides) -> planning.CaseFacts:
    facts = planning.CaseFacts(
        complaint_id=CID,
        tracking_no="TS20261123ABC234",
        category="product_quality",
        complainant_name="张三丰",
        complainant_phone=PHONE,
        business_name="某某电器商店",
        unit_code=VILLAGE.code,
        unit_name=VILLAGE.name,
        unit_tier="village",
    )
    for key, value in overrides.items():
        setattr(facts, key, value)
    return facts


def received() -> ComplaintReceived:
    return ComplaintReceived(
        complaint_id=CID,
        tracking_no="TS20261123ABC234",
        channel="web",
        received_at=NOW,
        category="product_quality",
        incident_division_code=VILLAGE.code,
        complainant_name="张三丰",
        complainant_phone=PHONE,
    )


def transition(action: str, **detail) -> MediationTransitioned:
    return MediationTransitioned(
        complaint_id=CID,
        unit=VILLAGE,
        action=action,
        from_state="assigned",
        to_state="session_scheduled",
        actor="li.ming",
        mediator="li.ming",
        at=NOW,
        detail=detail,
    )


def planned(event_type, event, facts=None, webhook=None):
    return {
        (p.rule.template, p.recipient.role, p.channel, p.address)
        for p in planning.plan(event_type, event, facts or case(), webhook)
    }


# --- the rules table ----------------------------------------------------------------------------------


def test_every_rule_names_a_known_template_channel_and_event():
    types = {c.type for c in ALL_CONTRACTS} | {rules.AGENCY_REMINDER}
    channels = {rules.SMS, rules.EMAIL, rules.INBOX, rules.WEBHOOK, rules.DOCKING}
    for rule in rules.RULES:
        assert rule.event in types, rule
        assert rule.template in templates.TEMPLATES, rule
        assert set(rule.channels) <= channels and rule.channels, rule
    # every template is used by some rule
    assert {r.template for r in rules.RULES} == set(templates.TEMPLATES)
    # the same (event, recipient, template, channel) is never listed twice
    keys = [(r.event, r.recipient, r.template, r.channels, tuple(r.when.items())) for r in rules.RULES]
    assert len(keys) == len(set(keys))


def test_clock_colour_event_is_a_contract_on_the_shared_clocks_exchange():
    assert ClockColourChanged in ALL_CONTRACTS
    assert (ClockColourChanged.source, ClockColourChanged.type) == ("clocks", "clock.colour_changed.v1")


def test_receipt_acknowledges_to_the_complainants_phone():
    assert planned(rules.RECEIVED, received(), planning.CaseFacts(complaint_id=CID, complainant_phone=PHONE)) == {
        ("acknowledgement", "complainant", "sms", PHONE)
    }


def test_routing_tells_the_complainant_who_handles_it_and_the_units_inbox():
    event = ComplaintRouted(complaint_id=CID, unit=VILLAGE, rule="territory.business", decided_at=NOW)
    assert planned(rules.ROUTED, event) == {
        ("handler_assigned", "complainant", "sms", PHONE),
        ("case_assigned_unit", "unit_staff", "inbox", f"tenant:{VILLAGE.code}"),
    }


def test_acceptance_invites_the_business_on_its_known_channel():
    event = ComplaintAccepted(
        complaint_id=CID,
        tracking_no="TS1",
        unit=VILLAGE,
        accepted_at=NOW,
        accepted_by="x",
        category="price",
        business_name="某店",
        complainant_name="张三",
        complainant_phone=PHONE,
    )
    no_contact = planned(rules.ACCEPTED, event)
    assert ("mediation_invitation", "business", "sms", None) in no_contact  # recorded as failed: no address
    by_mail = planned(rules.ACCEPTED, event, case(business_email="shop@example.com"))
    assert ("mediation_invitation", "business", "email", "shop@example.com") in by_mail
    by_phone = planned(rules.ACCEPTED, event, case(business_phone="13900000000", business_email="shop@example.com"))
    assert ("mediation_invitation", "business", "sms", "13900000000") in by_phone  # SMS preferred
    assert ("accepted", "complainant", "sms", PHONE) in by_phone


def test_mediation_actions_pick_their_recipients():
    assert planned(rules.TRANSITIONED, transition("assign", mediator="li.ming")) == {
        ("mediator_assigned", "complainant", "sms", PHONE),
        ("case_assigned_mediator", "mediator", "inbox", "user:li.ming"),
    }
    schedule = planning.plan(rules.TRANSITIONED, transition("schedule_session"), case(business_email="b@x.cn"))
    assert {(p.recipient.role, p.channel) for p in schedule} == {("complainant", "sms"), ("business", "email")}
    assert all(p.rule.time_critical for p in schedule)  # a session may be tomorrow morning
    # a single-party session (单方调解) invites the party it is with, and only that party
    for party in ("business", "complainant"):
        single = transition("schedule_session", mode="single_party", party=party)
        invited = planning.plan(rules.TRANSITIONED, single, case(business_email="b@x.cn"))
        assert {p.recipient.role for p in invited} == {party}
    assert planned(rules.TRANSITIONED, transition("request_recusal", requested_by="business")) == {
        ("recusal_requested", "unit_staff", "inbox", f"tenant:{VILLAGE.code}")
    }
    assert planned(rules.TRANSITIONED, transition("record_minutes")) == set()


@pytest.mark.parametrize(
    ("outcome", "templates_expected"),
    [
        ("agreement", {"mediation_outcome", "callback_survey"}),
        ("expired", {"mediation_outcome", "remedy_routes", "callback_survey"}),
        ("consent_refused", {"mediation_outcome", "remedy_routes"}),
        ("withdrawn", {"mediation_outcome"}),
        # passed on by routing: the complainant's one message comes with the move (below)
        ("failed", set()),
        ("agreement_breached", set()),
    ],
)
def test_the_end_of_mediation_tells_the_outcome_and_where_to_go(outcome, templates_expected):
    event = MediationEnded(complaint_id=CID, unit=VILLAGE, outcome=outcome, ended_at=NOW, recovered_amount=Decimal(1))
    told = planned(rules.ENDED, event)
    assert {t for t, role, _, _ in told if role == "complainant"} == templates_expected
    assert {t for t, role, _, _ in told if role == "business"} == {"mediation_outcome"}


def test_a_failed_mediation_passed_up_is_one_message_with_the_remedies_chosen():
    up = CaseEscalated(
        complaint_id=CID,
        from_unit=VILLAGE,
        to_unit=TOWNSHIP,
        trigger="mediation_failed",
        actor="system:mediation",
        at=NOW,
        inputs={"outcome": "failed", "escalate": True, "remedies": ["court", "judicial_confirmation"]},
    )
    told = planning.plan(rules.ESCALATED, up, case())
    assert [p.rule.template for p in told if p.recipient.role == "complainant"] == ["mediation_passed_up"]
    [sms] = [p for p in told if p.recipient.role == "complainant"]
    _, body = templates.render(
        templates.TEMPLATES["mediation_passed_up"], planning.context(rules.ESCALATED, up, case(), sms.recipient)
    )
    assert "向人民法院起诉、申请司法确认" in body and "申请仲裁" not in body
    assert VILLAGE.name in body and TOWNSHIP.name in body and "调解未达成协议" in body
    ended = MediationEnded(complaint_id=CID, unit=VILLAGE, outcome="expired", ended_at=NOW, remedies=["court"])
    recipient = planning.Recipient("complainant", "complainant", {"sms": PHONE}, VILLAGE.code, "张*")
    assert planning.context(rules.ENDED, ended, case(), recipient)["remedies"] == "向人民法院起诉"


def test_escalation_goes_to_the_higher_tier_and_take_over_to_the_lower():
    up = CaseEscalated(
        complaint_id=CID, from_unit=VILLAGE, to_unit=TOWNSHIP, trigger="party_request", actor="x", at=NOW
    )
    assert ("case_escalated", "higher_tier", "inbox", f"tenant:{TOWNSHIP.code}") in planned(rules.ESCALATED, up)
    taken = up.model_copy(update={"trigger": "take_over"})
    assert planned(rules.ESCALATED, taken) == {
        ("handler_changed", "complainant", "sms", PHONE),
        ("case_taken_over", "unit_staff", "inbox", f"tenant:{VILLAGE.code}"),
    }


def test_take_over_request_and_early_warning_reach_units_above():
    step = CaseRoutingStep(
        complaint_id=CID,
        seq=3,
        step="takeover_requested",
        responsible_unit=VILLAGE,
        target="330681109",
        actor="x",
        at=NOW,
    )
    assert planned(rules.ROUTING_STEP, step) == {("takeover_requested", "higher_tier", "inbox", "tenant:330681109")}
    warning = EarlyWarningRaised(
        warning_id=uuid.uuid4(),
        kind="business",
        key="91330681MA2B00000X",
        township_code="330681109",
        city_code="330681",
        count=5,
        threshold=5,
        window_days=30,
        raised_at=NOW,
    )
    assert {a for _, _, _, a in planned(rules.EARLY_WARNING, warning, planning.CaseFacts())} == {
        "tenant:330681109",
        "tenant:330681",
    }


def test_an_agency_handover_goes_to_webhook_docking_queue_and_inbox():
    step = CaseRoutingStep(
        complaint_id=CID,
        seq=2,
        step="agency_handover_requested",
        responsible_unit=VILLAGE,
        target="330681-police",
        agency_tenant="330681-police",
        actor="routing",
        at=NOW,
    )
    assert planned(rules.ROUTING_STEP, step, webhook="https://police.example/hook") == {
        ("agency_handover", "agency", "webhook", "https://police.example/hook"),
        ("agency_handover", "agency", "amqp", "agency.330681-police"),
        ("agency_handover", "agency", "inbox", "tenant:330681-police"),
    }
    no_hook = planned(rules.ROUTING_STEP, step)
    assert ("agency_handover", "agency", "webhook", None) in no_hook  # failed with the reason, not lost silently


def test_an_agencys_answer_and_hand_back_tell_the_unit_that_handed_the_case_over():
    said = {"agency": "330681109-police", "agency_name": "枫桥派出所", "outcome": "mediated", "answer": "已调解"}
    answered = CaseRoutingStep(
        complaint_id=CID,
        seq=4,
        step="agency_answered",
        responsible_unit=VILLAGE,
        target=VILLAGE.code,
        agency_tenant="330681109-police",
        inputs=said,
        actor="liaison",
        at=NOW,
    )
    inbox = f"tenant:{VILLAGE.code}"
    assert planned(rules.ROUTING_STEP, answered) == {("agency_answered", "unit_staff", "inbox", inbox)}
    recipient = planning.Recipient("unit_staff", inbox, {}, VILLAGE.code)
    ctx = planning.context(rules.ROUTING_STEP, answered, case(), recipient)
    _, body = templates.render(templates.TEMPLATES["agency_answered"], {**templates.SAMPLE_CONTEXT, **ctx})
    assert "枫桥派出所" in body and "已调解化解" in body and "已调解" in body
    back = answered.model_copy(update={"step": "agency_handed_back", "inputs": {**said, "reason": "不属治安案件"}})
    assert planned(rules.ROUTING_STEP, back) == {("agency_handed_back", "unit_staff", "inbox", inbox)}
    ctx = planning.context(rules.ROUTING_STEP, back, case(), recipient)
    _, body = templates.render(templates.TEMPLATES["agency_handed_back"], {**templates.SAMPLE_CONTEXT, **ctx})
    assert "退回理由：不属治安案件" in body


def test_clock_colours_go_to_the_handler_else_the_unit_and_red_also_to_the_supervisor():
    red = ClockColourChanged(complaint_id=CID, clock="acceptance", colour="red", unit=VILLAGE, handler="li", tier="v")
    assert planned(rules.CLOCK, red) == {
        ("clock_red", "handler", "inbox", "user:li"),
        ("clock_red", "supervisor", "inbox", f"tenant:{VILLAGE.code}"),
    }
    # the unit holding the case itself: its inbox is told once
    unit_red = red.model_copy(update={"handler": None})
    assert planned(rules.CLOCK, unit_red) == {("clock_red", "handler", "inbox", f"tenant:{VILLAGE.code}")}
    yellow = red.model_copy(update={"colour": "yellow"})
    assert planned(rules.CLOCK, yellow) == {("clock_yellow", "handler", "inbox", "user:li")}
    assert planned(rules.CLOCK, red.model_copy(update={"colour": "green"})) == set()


def test_a_complainant_message_before_the_contact_is_known_is_retried():
    event = ComplaintRouted(complaint_id=CID, unit=VILLAGE, rule="r", decided_at=NOW)
    with pytest.raises(planning.NotYetKnown):
        planning.plan(rules.ROUTED, event, planning.CaseFacts(complaint_id=CID))


def test_learning_never_writes_none_over_a_value():
    refused = ComplaintRefused(
        complaint_id=CID,
        tracking_no="TS1",
        unit=VILLAGE,
        ground="time_barred",
        reason="r",
        other_routes="o",
        refused_at=NOW,
        refused_by="x",
        complainant_phone=PHONE,
    )
    facts = planning.learned(rules.REFUSED, refused)
    assert facts["complainant_phone"] == PHONE and facts["unit_code"] == VILLAGE.code
    assert None not in facts.values()


# --- templates and personal data ----------------------------------------------------------------------


EVENTS = {
    rules.RECEIVED: received(),
    rules.TRANSITIONED: transition(
        "draft_agreement",
        terms=[{"kind": "refund", "amount": "399.00", "deadline": "2026-12-01"}],
        scheduled_at="2026-12-01T01:30:00+00:00",
        channel="in_person",
        mode="joint",
    ),
}


@pytest.mark.parametrize("name", sorted(templates.TEMPLATES))
def test_every_template_renders_without_personal_data(name):
    subject, body = templates.render(templates.TEMPLATES[name], templates.SAMPLE_CONTEXT)
    assert subject and body
    event = EVENTS[rules.TRANSITIONED]
    recipient = planning.Recipient("complainant", "complainant", {"sms": PHONE}, VILLAGE.code, "张**")
    ctx = planning.context(rules.TRANSITIONED, event, case(), recipient)
    assert PHONE not in str(ctx) and "张三丰" not in str(ctx)
    assert ctx["name"] == "张**"


def test_the_context_formats_terms_and_local_times():
    recipient = planning.Recipient("business", "business", {}, VILLAGE.code, "某某电器商店")
    ctx = planning.context(rules.TRANSITIONED, EVENTS[rules.TRANSITIONED], case(), recipient)
    assert ctx["scheduled_at"] == "2026-12-01 09:30"  # Shanghai time
    assert ctx["terms"] == [{"kind": "退款", "amount": "399.00", "deadline": "2026-12-01"}]
    _, body = templates.render(templates.TEMPLATES["agreement_terms"], ctx)
    assert "某某电器商店您好" in body and "退款399.00元" in body and "2026-12-01" in body


def test_an_override_is_checked_before_it_is_saved():
    templates.check_override("accepted", "已受理 {{ tracking_no }}", "{{ name }}：已受理")
    with pytest.raises(InvalidInput) as bad_variable:
        templates.check_override("accepted", None, "{{ complainant_phone }}")
    assert bad_variable.value.fields[0]["field"] == "text"
    with pytest.raises(InvalidInput):
        templates.check_override("accepted", None, "{% for %}")
    with pytest.raises(InvalidInput):  # the sandbox refuses reaching Python internals
        templates.check_override("accepted", None, "{{ name.__class__.__mro__ }}")
    with pytest.raises(InvalidInput) as unknown:
        templates.check_override("no_such_template", None, "x")
    assert unknown.value.fields[0]["field"] == "template"


def test_an_override_replaces_subject_and_text():
    subject, body = templates.render(
        templates.TEMPLATES["accepted"], templates.SAMPLE_CONTEXT, (None, "村里的话：{{ tracking_no }}")
    )
    assert subject == "投诉已受理：TS20261122ABC234" and body == "村里的话：TS20261122ABC234"


def test_the_overrides_of_an_events_tenants_are_read_at_once_and_the_nearest_wins():
    from types import SimpleNamespace

    from services.notification import tenants

    stored = [  # township before city: the order the database gives is no precedence
        SimpleNamespace(subject=None, tenant_code="330681109", template="accepted", text="镇"),
        SimpleNamespace(subject=None, tenant_code="330681", template="accepted", text="市"),
        SimpleNamespace(subject=None, tenant_code="330681", template="refused", text="市"),
        SimpleNamespace(subject=None, tenant_code="330682", template="accepted", text="别的市"),
    ]
    reads = []

    class Session:
        def scalars(self, statement):
            reads.append(statement)
            return iter(stored)

    found = tenants.overrides_for(Session(), ["330681109290", "330681110", "330681109290", None])
    assert len(reads) == 1
    texts = {tenant: {name: row.text for name, row in own.items()} for tenant, own in found.items()}
    assert texts == {
        "330681109290": {"accepted": "镇", "refused": "市"},
        "330681110": {"accepted": "市", "refused": "市"},
        None: {},
    }
    assert tenants.render("accepted", found["330681109290"]["accepted"], templates.SAMPLE_CONTEXT)[1] == "镇"
    assert tenants.overrides_for(Session(), [None]) == {None: {}} and len(reads) == 1  # nothing to read


# --- tenant settings and quiet hours -------------------------------------------------------------------


def test_settings_inherit_down_the_tree_and_an_agency_from_its_unit(monkeypatch):
    monkeypatch.setenv("SMS_QUIET_HOURS", "21:00-08:00")
    monkeypatch.setenv("WEBHOOK_URL", "https://hooks.example/{tenant}")
    rows = {"330681": {"quiet_hours": "22:00-07:00"}, "330681109": {"quiet_hours": "off"}}
    assert settings.effective(rows, "330681")["quiet_hours"] == "22:00-07:00"
    assert settings.effective(rows, "330681109290")["quiet_hours"] == "off"
    assert settings.effective(rows, "330681110001")["quiet_hours"] == "22:00-07:00"
    assert settings.effective({}, "321282")["quiet_hours"] == "21:00-08:00"
    agency = settings.effective(rows, "330681109-police")
    assert agency["quiet_hours"] == "off" and agency["webhook_url"] == "https://hooks.example/330681109-police"
    assert settings.chain("330681109-police") == ["330681", "330681109", "330681109-police"]
    assert settings.chain("bogus") == []


def test_settings_validation_names_the_field():
    settings.validate({"quiet_hours": "22:30-06:00", "webhook_url": None})
    for patch, field in (
        ({"quiet_hours": "22-6"}, "quiet_hours"),
        ({"webhook_url": "ftp://x"}, "webhook_url"),
        ({"webhook_secret": "short"}, "webhook_secret"),
        ({"colour": "red"}, "colour"),
    ):
        with pytest.raises(InvalidInput) as exc:
            settings.validate(patch)
        assert exc.value.fields[0]["field"] == field
    assert settings.public({"webhook_secret": "s" * 20}) == {"webhook_secret_set": True}


@pytest.mark.parametrize(
    ("local_time", "quiet", "expected_local"),
    [
        ("2026-11-23 23:30", "21:00-08:00", "2026-11-24 08:00"),  # across midnight
        ("2026-11-24 07:59", "21:00-08:00", "2026-11-24 08:00"),
        ("2026-11-24 08:00", "21:00-08:00", None),  # the window's end is outside it
        ("2026-11-24 12:00", "21:00-08:00", None),
        ("2026-11-24 12:30", "12:00-14:00", "2026-11-24 14:00"),  # a noon rest
        ("2026-11-24 23:30", "off", None),
        ("2026-11-24 23:30", None, None),
    ],
)
def test_quiet_hours_hold_sms_until_the_window_ends(local_time, quiet, expected_local):
    now = datetime.strptime(local_time, "%Y-%m-%d %H:%M").replace(tzinfo=planning.LOCAL_TZ).astimezone(UTC)
    allowed = settings.next_allowed(now, quiet)
    if expected_local is None:
        assert allowed == now
    else:
        assert allowed.astimezone(planning.LOCAL_TZ).strftime("%Y-%m-%d %H:%M") == expected_local
        assert allowed.tzinfo is not None and allowed > now


# --- signing and backoff ----------------------------------------------------------------------------


def test_signature_covers_timestamp_and_body_and_expires():
    body = b'{"to": "x"}'
    headers = signed_headers("secret", body, "m-1", now=1_800_000_000)
    ts, sig = headers["X-Disputes-Timestamp"], headers["X-Disputes-Signature"]
    assert sig == sign("secret", body, 1_800_000_000) and sig.startswith("sha256=")
    assert verify_signature("secret", body, ts, sig, now=1_800_000_100)
    assert not verify_signature("secret", body, ts, sig, now=1_800_000_000 + 301)  # replay window
    assert not verify_signature("secret", body + b" ", ts, sig, now=1_800_000_000)
    assert not verify_signature("other", body, ts, sig, now=1_800_000_000)
    assert not verify_signature("secret", body, str(1_800_000_001), sig, now=1_800_000_000)  # timestamp is signed
    assert not verify_signature("secret", body, None, sig)


def test_backoff_grows_with_jitter_and_is_capped():
    from services.notification import delivery

    rng = random.Random(7)
    delays = [delivery.backoff(n, rng) for n in (1, 2, 3, 4)]
    base = delivery.RETRY_BASE_SECONDS
    for n, delay in zip((1, 2, 3, 4), delays, strict=True):
        nominal = min(delivery.RETRY_MAX_SECONDS, base * 2 ** (n - 1))
        assert timedelta(seconds=0.5 * nominal) <= delay <= timedelta(seconds=1.5 * nominal)
    assert len({d.total_seconds() for d in (delivery.backoff(3, random.Random(s)) for s in range(5))}) > 1  # jitter
    assert delivery.backoff(100, rng) <= timedelta(seconds=1.5 * delivery.RETRY_MAX_SECONDS)


# --- channels chosen by the environment (services/notification/channels.py) -------------------------


def test_email_is_logged_unless_smtp_is_chosen_and_a_wrong_choice_is_named() -> None:
    assert isinstance(Channels({"EMAIL_PROVIDER": "log"}).email, Logged)
    smtp = Channels({"EMAIL_PROVIDER": "smtp", "SMTP_HOST": "mail.example.gov.cn", "SMTP_PORT": "587"}).email
    assert isinstance(smtp, Smtp) and (smtp.host, smtp.port) == ("mail.example.gov.cn", 587)
    with pytest.raises(RuntimeError, match="EMAIL_PROVIDER must be smtp or log, not 'sendmail'"):
        Channels({"EMAIL_PROVIDER": "sendmail"})


def test_a_logged_message_masks_its_address(caplog: pytest.LogCaptureFixture) -> None:
    message = Outgoing(id="m1", channel="email", address="wangwu@example.com", subject="受理通知", body="已受理")
    with caplog.at_level("INFO", logger="notification.delivery"):
        assert Logged("e-mail").send(message) == "sent"
    assert "w***@example.com" in caplog.text and "wangwu" not in caplog.text and "受理通知" in caplog.text


def test_a_template_lists_its_placeholders_and_previews_a_proposed_text():
    ordered = templates.TEMPLATES["supervision_ordered"]
    assert templates.placeholders(ordered) == ["category", "deadline", "from_unit", "instruction", "tracking_no"]
    shown = templates.preview("supervision_ordered", None, "请于{{ deadline }}前答复：{{ instruction }}")
    assert shown["subject"] == "督办：TS20261122ABC234"  # the default subject, the sample's number
    assert shown["text"] == "请于2026-12-10 23:59前答复：三日内联系经营者核实退款情况"
    with pytest.raises(InvalidInput) as misspelt:  # refused as a save would be
        templates.preview("supervision_ordered", "督办{{ trackin_no }}", "{{ deadline }}")
    assert misspelt.value.fields[0]["field"] == "subject"
