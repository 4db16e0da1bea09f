"""Who is told what: the one table from events to recipients, templates and channels. Data only.

A rule fires for an event of its `event` type when every field named in `when` has one of the listed
values (`action` of a mediation transition, `outcome` of a mediation end, `step` of a routing step,
`trigger` of an escalation, `colour` of a clock; a name the event does not have is looked up in its
`detail`, e.g. the `party` of a single-party session, None when absent). Each rule names

- `recipient`: a role that `recipients.resolve` turns into concrete recipients (possibly none,
  possibly several: an early warning goes to the township and the city);
- `template`: the name of a template in templates.py (tenants may override its text);
- `channels`: where it goes. One channel, or for a party a preference list (`sms`, then `email`):
  the first channel the recipient has an address for is used;
- `time_critical`: SMS goes out even in the tenant's quiet hours.

docs/notification.md shows the same table for people.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# recipient roles (Message.recipient_role)
COMPLAINANT = "complainant"
BUSINESS = "business"
UNIT_STAFF = "unit_staff"  # the inbox of the unit responsible (or named by the event)
MEDIATOR = "mediator"  # the inbox of one user
HANDLER = "handler"  # the user holding a case, else its unit's inbox
SUPERVISOR = "supervisor"  # the unit's inbox, where its supervisors read, when a user holds the case
HIGHER_TIER = "higher_tier"  # the inbox of a unit above
WARNED_UNITS = "warned_units"  # an early warning's township and city
ORDERED_UNIT = "ordered_unit"  # the inbox of the unit a supervision order is addressed to (now)
SUPERVISING_UNIT = "supervising_unit"  # the inbox of the unit that sent a supervision order
AGENCY = "agency"  # an agency tenant
PLATFORM_ADMINS = "platform_admins"  # the inbox every platform admin reads

# channels
SMS = "sms"
EMAIL = "email"
INBOX = "inbox"
WEBHOOK = "webhook"
DOCKING = "amqp"  # the agency's docking queue `agency.<tenant>`
PARTY = (SMS, EMAIL)  # a party: SMS when a phone is known, else e-mail

# how a mediation ended (mediation.ended.v1's `outcome`): failed and breached-then-escalated ends are
# passed on by routing (up a tier, or ended at the top), and the complainant's one message about the
# end comes with that move (`mediation_passed_up`, or `remedy_routes` at the top); the others end here
ENDED_HERE = ("agreement", "consent_refused", "withdrawn", "expired")
ENDED_BADLY_HERE = ("expired", "consent_refused")


@dataclass(frozen=True)
class Rule:
    event: str
    recipient: str
    template: str
    channels: tuple[str, ...]
    time_critical: bool = False
    when: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def matches(self, event_type: str, event: Any) -> bool:
        if event_type != self.event:
            return False
        return all(_field(event, name) in allowed for name, allowed in self.when.items())


def _field(event: Any, name: str) -> Any:
    if hasattr(event, name):
        return getattr(event, name)
    return (getattr(event, "detail", None) or {}).get(name)


def _r(event, recipient, template, channels, time_critical=False, **when) -> Rule:
    channels = (channels,) if isinstance(channels, str) else tuple(channels)
    return Rule(event, recipient, template, channels, time_critical, {k: tuple(v) for k, v in when.items()})


RECEIVED = "complaint.received.v1"
ROUTED = "complaint.routed.v1"
ACCEPTED = "complaint.accepted.v1"
REFUSED = "complaint.refused.v1"
SETTLE_FIRST_OPENED = "settle_first.opened.v1"
REASSIGNED = "case.reassigned.v1"
ESCALATED = "case.escalated.v1"
ROUTING_STEP = "case.routing_step.v1"
EARLY_WARNING = "early_warning.raised.v1"
TRANSITIONED = "mediation.transitioned.v1"
ENDED = "mediation.ended.v1"
CLOCK = "clock.colour_changed.v1"
CALENDAR_MISSING = "official_calendar.missing.v1"
AGENCY_REMINDER = "notification.agency_reminder"  # raised by notification's own timer, and by the yellow
# light of the agency's acknowledgement clock (service.py), one counter for both
AGENCY_ACK_CLOCK = "agency_handover_ack"
SUPERVISION_ORDERED = "supervision.ordered.v1"
SUPERVISION_ANSWERED = "supervision.answered.v1"
SUPERVISION_ACCEPTED = "supervision.accepted.v1"
SUPERVISION_RETURNED = "supervision.returned.v1"
SUPERVISION_MOVED = "supervision.moved.v1"
SUPERVISION_EVENTS = (
    SUPERVISION_ORDERED,
    SUPERVISION_ANSWERED,
    SUPERVISION_ACCEPTED,
    SUPERVISION_RETURNED,
    SUPERVISION_MOVED,
)
SUPERVISION_CLOCK = "supervision"

JUDICIAL_APPLIED, JUDICIAL_DECIDED = "apply_judicial_confirmation", "record_judicial_decision"

# sessions held with a party: a joint one (its `party` is None) or a single-party one with that party
WITH_COMPLAINANT, WITH_BUSINESS = (None, "complainant"), (None, "business")
NOT_TAKE_OVER = ("tier_target_expired", "mediation_failed", "party_request", "staff_request", "reclassified")
NOT_AFTER_MEDIATION = ("tier_target_expired", "party_request", "staff_request", "reclassified", "take_over")

RULES: tuple[Rule, ...] = (
    # --- the complainant ---------------------------------------------------------------------
    _r(RECEIVED, COMPLAINANT, "acknowledgement", SMS),
    _r(ROUTED, COMPLAINANT, "handler_assigned", SMS),
    _r(ACCEPTED, COMPLAINANT, "accepted", SMS),
    _r(REFUSED, COMPLAINANT, "refused", SMS),
    _r(REASSIGNED, COMPLAINANT, "handler_changed", SMS),
    _r(ESCALATED, COMPLAINANT, "handler_changed", SMS, trigger=NOT_AFTER_MEDIATION),
    _r(ESCALATED, COMPLAINANT, "mediation_passed_up", SMS, trigger=("mediation_failed",)),
    _r(ROUTING_STEP, COMPLAINANT, "handler_changed", SMS, step=("handover_accepted", "authority_decided")),
    _r(ROUTING_STEP, COMPLAINANT, "remedy_routes", SMS, step=("ended_at_top",)),
    _r(TRANSITIONED, COMPLAINANT, "mediator_assigned", SMS, action=("assign",)),
    # a joint session invites both parties, a single-party one (单方调解) only the party it is with
    _r(TRANSITIONED, COMPLAINANT, "session_scheduled", SMS, True, action=("schedule_session",), party=WITH_COMPLAINANT),
    _r(TRANSITIONED, COMPLAINANT, "agreement_terms", SMS, action=("draft_agreement",)),
    _r(ENDED, COMPLAINANT, "mediation_outcome", SMS, outcome=ENDED_HERE),
    _r(ENDED, COMPLAINANT, "remedy_routes", SMS, outcome=ENDED_BADLY_HERE),
    _r(ENDED, COMPLAINANT, "callback_survey", SMS, outcome=("agreement", "expired")),
    # --- the business ------------------------------------------------------------------------
    _r(ACCEPTED, BUSINESS, "mediation_invitation", PARTY),
    # the settle-first lane: the complaint waits for the business's answer until the window's end
    _r(SETTLE_FIRST_OPENED, BUSINESS, "settle_first_waiting", SMS, True),
    _r(TRANSITIONED, BUSINESS, "session_scheduled", PARTY, True, action=("schedule_session",), party=WITH_BUSINESS),
    _r(TRANSITIONED, BUSINESS, "agreement_terms", PARTY, action=("draft_agreement",)),
    _r(ENDED, BUSINESS, "mediation_outcome", PARTY),
    # --- staff (the inbox) -------------------------------------------------------------------
    _r(ROUTED, UNIT_STAFF, "case_assigned_unit", INBOX),
    _r(REASSIGNED, UNIT_STAFF, "case_assigned_unit", INBOX),
    _r(ROUTING_STEP, UNIT_STAFF, "handover_requested", INBOX, step=("handover_requested",)),
    # the unit that asked the unit above to take a case over (the step's target)
    _r(ROUTING_STEP, UNIT_STAFF, "takeover_declined", INBOX, step=("takeover_declined",)),
    _r(TRANSITIONED, MEDIATOR, "case_assigned_mediator", INBOX, action=("assign",)),
    _r(TRANSITIONED, UNIT_STAFF, "recusal_requested", INBOX, action=("request_recusal",)),
    _r(TRANSITIONED, UNIT_STAFF, "re_review_requested", INBOX, action=("request_re_review",)),
    _r(CLOCK, HANDLER, "clock_yellow", INBOX, colour=("yellow",)),
    _r(CLOCK, HANDLER, "clock_red", INBOX, True, colour=("red",)),
    _r(CLOCK, SUPERVISOR, "clock_red", INBOX, True, colour=("red",)),
    # --- a higher tier -----------------------------------------------------------------------
    _r(ESCALATED, HIGHER_TIER, "case_escalated", INBOX, True, trigger=NOT_TAKE_OVER),
    _r(ESCALATED, UNIT_STAFF, "case_taken_over", INBOX, trigger=("take_over",)),
    _r(ROUTING_STEP, HIGHER_TIER, "takeover_requested", INBOX, True, step=("takeover_requested",)),
    # an agency did not acknowledge in time: the unit above the handing unit (the step's target);
    # the handing unit itself got the red light of the agency's clock
    _r(ROUTING_STEP, HIGHER_TIER, "agency_handover_lapsed", INBOX, True, step=("agency_handover_lapsed",)),
    _r(EARLY_WARNING, WARNED_UNITS, "early_warning", INBOX, True),
    # --- the unit that handed a case to an agency (the step's target): the agency answered, or
    # handed the case back for the unit to work again --------------------------------------------
    _r(ROUTING_STEP, UNIT_STAFF, "agency_answered", INBOX, step=("agency_answered",)),
    _r(ROUTING_STEP, UNIT_STAFF, "agency_handed_back", INBOX, True, step=("agency_handed_back",)),
    # --- the platform ------------------------------------------------------------------------
    _r(CALENDAR_MISSING, PLATFORM_ADMINS, "official_calendar_missing", INBOX, True),
    # --- supervision orders (督办): the unit ordered and the unit that sent it -------------------
    _r(SUPERVISION_ORDERED, ORDERED_UNIT, "supervision_ordered", INBOX, True),
    _r(SUPERVISION_MOVED, ORDERED_UNIT, "supervision_moved", INBOX, True),
    _r(SUPERVISION_ANSWERED, SUPERVISING_UNIT, "supervision_answered", INBOX),
    _r(SUPERVISION_ACCEPTED, ORDERED_UNIT, "supervision_accepted", INBOX),
    _r(SUPERVISION_RETURNED, ORDERED_UNIT, "supervision_returned", INBOX, True),
    # the unit ordered got the clock's red light above (HANDLER); the sender is told it is overdue
    _r(CLOCK, SUPERVISING_UNIT, "supervision_overdue", INBOX, True, colour=("red",), clock=(SUPERVISION_CLOCK,)),
    # --- agencies: the webhook, the docking queue and the agency's inbox ------------------------
    _r(ROUTING_STEP, AGENCY, "agency_handover", WEBHOOK, True, step=("agency_handover_requested",)),
    _r(ROUTING_STEP, AGENCY, "agency_handover", DOCKING, True, step=("agency_handover_requested",)),
    _r(ROUTING_STEP, AGENCY, "agency_handover", INBOX, step=("agency_handover_requested",)),
    _r(AGENCY_REMINDER, AGENCY, "agency_reminder", WEBHOOK, True),
    _r(AGENCY_REMINDER, AGENCY, "agency_reminder", DOCKING, True),
    _r(AGENCY_REMINDER, AGENCY, "agency_reminder", INBOX),
    _r(ROUTING_STEP, AGENCY, "agency_handover_withdrawn", WEBHOOK, True, step=("agency_handover_lapsed",)),
    _r(ROUTING_STEP, AGENCY, "agency_handover_withdrawn", DOCKING, True, step=("agency_handover_lapsed",)),
    _r(ROUTING_STEP, AGENCY, "agency_handover_withdrawn", INBOX, step=("agency_handover_lapsed",)),
    # 诉调对接: the parties' joint application for judicial confirmation goes to the court named
    # (the transition's agency_tenant) the way a handover goes to an agency; its answer comes back
    # to the unit and the complainant
    _r(TRANSITIONED, AGENCY, "judicial_confirmation_requested", WEBHOOK, True, action=(JUDICIAL_APPLIED,)),
    _r(TRANSITIONED, AGENCY, "judicial_confirmation_requested", DOCKING, True, action=(JUDICIAL_APPLIED,)),
    _r(TRANSITIONED, AGENCY, "judicial_confirmation_requested", INBOX, action=(JUDICIAL_APPLIED,)),
    _r(TRANSITIONED, UNIT_STAFF, "judicial_decision", INBOX, action=(JUDICIAL_DECIDED,)),
    _r(TRANSITIONED, COMPLAINANT, "judicial_decision", SMS, action=(JUDICIAL_DECIDED,)),
)


def matching(event_type: str, event: Any, rules: tuple[Rule, ...] = RULES) -> list[Rule]:
    return [rule for rule in rules if rule.matches(event_type, event)]


def event_types(rules: tuple[Rule, ...] = RULES) -> frozenset[str]:
    return frozenset(rule.event for rule in rules)
