"""Which answer each service's RPC gives, by `service.method`: the contract a service's interface
tests check its answers against, and the gateway's routes pass on. Documents come as HTML (`str`)."""

from __future__ import annotations

from typing import Any, Final

from common.contracts.answers import complaints, mediation, notifications, portal, reports, routing, supervision
from common.contracts.answers.clocks import HeldClock
from common.contracts.answers.platform import Pong
from common.contracts.answers.tenants import Offboarded, Settings, Tenant, TenantAuditRow, TenantDetail

_PINGS = {f"{service}.ping": Pong for service in ("intake", "routing", "mediation", "notification", "reporting")}
_MOVES = (
    "case_routing accept_handover acknowledge_handover answer_handover return_case contest decide_authority "
    "escalate reclassify take_over request_takeover decline_takeover"
)
_ORDERS = "supervise answer_supervision accept_supervision return_supervision supervision_order"

ANSWERS: Final[dict[str, Any]] = {
    **_PINGS,
    # intake
    "intake.submit": complaints.Receipt,
    "intake.complete_draft": complaints.Receipt,
    "intake.receive_email": complaints.EmailDraft,
    "intake.get_complaint": complaints.Case,
    "intake.list_complaints": complaints.CasePage,
    "intake.case_ref": complaints.CaseAccess,
    "intake.accept": complaints.Decided,
    "intake.refuse": complaints.Decided,
    "intake.document": str,
    "intake.add_evidence": list[complaints.Evidence],
    "intake.add_public_evidence": list[complaints.Evidence],
    "intake.evidence_ids": list[str],
    "intake.evidence_file": complaints.EvidenceFile,
    "intake.track": portal.Tracking,
    "intake.party_case": portal.IntakePartyCase,
    "intake.known_businesses": list[complaints.KnownBusiness],
    "intake.reference": list[complaints.CodeLabel],
    "intake.held_clocks": list[HeldClock],
    "intake.count_lights": complaints.LightCounts,
    "routing.hand_back": routing.HandedBack,
    "routing.agency_handovers": list[routing.AgencyHandoverRow],
    "intake.tracking_numbers": dict[str, str],
    "intake.personal_data_access": list[complaints.PersonalDataRead],
    "intake.record_business_contact": complaints.BusinessContact,
    "intake.settle_first_cases": list[complaints.SettleFirstCase],
    "intake.settle_first_offer": complaints.SettleFirstCase,
    "intake.settle_first_reply": complaints.SettleFirstAnswered,
    "intake.settle_first_performance": complaints.SettleFirstAnswered,
    # routing
    **{f"routing.{method}": routing.CaseRouting for method in _MOVES.split()},
    "routing.case_clocks": list[HeldClock],
    "routing.held_clocks": list[HeldClock],
    **{f"routing.{method}": supervision.SupervisionOrder for method in _ORDERS.split()},
    "routing.supervision_orders": list[supervision.SupervisionOrder],
    "routing.case_supervision_orders": list[supervision.SupervisionOrder],
    "routing.warnings": list[routing.EarlyWarning],
    "routing.served_divisions": dict[str, bool],
    "routing.served_units": list[routing.ServedUnit],
    "routing.tenant": TenantDetail,
    "routing.effective_settings": Settings,
    "routing.disclosure_policy": routing.DisclosurePolicy,
    "routing.tenants": list[Tenant],
    "routing.courts": list[routing.Court],
    "routing.tenant_audit": list[TenantAuditRow],
    "routing.rename_agency": TenantDetail,
    "routing.update_settings": TenantDetail,
    "routing.onboard": TenantDetail,
    "routing.offboard": Offboarded,
    "routing.official_calendar_years": routing.OfficialYears,
    "routing.official_calendar_year": routing.OfficialYear,
    "routing.enter_official_calendar": routing.OfficialYears,
    "routing.withdraw_official_calendar": routing.OfficialYears,
    # mediation
    "mediation.act": mediation.MediationCase,
    "mediation.get_case": mediation.MediationCase,
    "mediation.list_cases": list[mediation.MediationSummary],
    "mediation.party_may_act": mediation.PartyMayAct,
    "mediation.party_act": mediation.PartyMediation,
    "mediation.party_case": mediation.PartyMediation,
    "mediation.party_document": str,
    "mediation.document": str,
    "mediation.judicial_applications": list[mediation.CourtCase],
    "mediation.judicial_decision": mediation.CourtCase,
    "mediation.case_clocks": list[HeldClock],
    "mediation.held_clocks": list[HeldClock],
    "mediation.personal_data_access": list[complaints.PersonalDataRead],
    "mediation.mediators": list[mediation.Mediator],
    "mediation.put_mediator": mediation.Mediator,
    # notification
    "notification.record_sms_receipts": notifications.ReceiptOutcomes,
    "notification.messages_for": list[notifications.Message],
    "notification.resend_message": notifications.Message,
    "notification.told_otherwise": notifications.Message,
    "notification.inbox": notifications.Inbox,
    "notification.mark_read": notifications.InboxItem,
    "notification.set_contacts": notifications.ContactsKnown,
    "notification.templates": list[notifications.Template],
    "notification.put_template": notifications.TenantTemplate,
    "notification.preview_template": notifications.TemplateText,
    "notification.delete_template": None,
    "notification.tenant_settings": notifications.TenantNotificationSettings,
    "notification.update_tenant_settings": notifications.TenantNotificationSettings,
    "notification.send_code": notifications.CodeSent,
    "notification.invite_business": notifications.CodeSent,
    "notification.verify_code": notifications.CodeVerdict,
    # reporting
    "reporting.summary": reports.Figures | reports.AgencyFigures,
    "reporting.monthly": reports.MonthlyReports,
    "reporting.generate_monthly": reports.MonthlyGenerated,
    "reporting.monthly_export": reports.MonthlyExport,
    "reporting.trend": list[reports.TrendMonth],
    "reporting.chart": str,
    "reporting.escalations": reports.EscalationRates,
    "reporting.disclosure": reports.Disclosure,
    "reporting.rebuild": dict[str, int],
}
