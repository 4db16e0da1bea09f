"""Reference data every service and the gateway share: the case status and how mediation's states
map onto it, the codes of a case's history steps, the actions a console may offer, delivery states
of messages, channels, agency types, remedy routes, each with its Chinese label. Data and pure
functions only (docs/intake.md, "Case status"; the console maps codes to labels from these lists,
served at /api/v1/reference/...). Categories, consumer requests and refusal grounds, which carry
more than a label, are in common/categories.py; docs/architecture.md says where a new code goes."""

from __future__ import annotations

from typing import Final

# --- the case status -------------------------------------------------------------------------------

DRAFT: Final = "draft"
RECEIVED: Final = "received"
ROUTED: Final = "routed"
ESCALATED: Final = "escalated"
ACCEPTED: Final = "accepted"
REFUSED: Final = "refused"
MEDIATING: Final = "mediating"
AGREED: Final = "agreed"
FAILED: Final = "failed"
TERMINATED: Final = "terminated"
CLOSED: Final = "closed"
DUPLICATE: Final = "duplicate"
REPORT_RECEIVED: Final = "report_received"
SETTLE_FIRST: Final = "settle_first"  # with the business first (先行和解, issue 19)
SETTLED: Final = "settled"  # closed by the parties' settlement in the settle-first lane

CASE_STATUSES: Final[dict[str, str]] = {
    DRAFT: "待补全",
    RECEIVED: "已收到",
    ROUTED: "已分派",
    ESCALATED: "已上交",
    ACCEPTED: "已受理",
    REFUSED: "不予受理",
    MEDIATING: "调解中",
    AGREED: "已达成协议",
    FAILED: "调解不成",
    TERMINATED: "已终止调解",
    CLOSED: "已办结",
    DUPLICATE: "重复投诉",
    REPORT_RECEIVED: "举报已登记",
    SETTLE_FIRST: "先行和解中",
    SETTLED: "已和解",
}

# mediation's states (services/mediation/states.py runs them), as the console shows them
MEDIATION_STATES: Final[dict[str, str]] = {
    "awaiting_consent": "待经营者同意调解",
    "awaiting_assignment": "待指派调解员",
    "assigned": "已指派调解员",
    "session_scheduled": "已安排调解",
    "session_held": "调解已进行",
    "failed_once": "首次调解不成",
    "second_session_scheduled": "已安排第二次调解",
    "second_session_held": "第二次调解已进行",
    "agreement_drafted": "协议待确认",
    "re_review": "复议中",
    "breached": "协议未履行",
    "consent_refused": "经营者不同意调解",
    "withdrawn": "已撤回",
    "expired": "调解期满",
    "terminated": "已终止调解",
    "agreed": "已达成协议",
    "performed": "协议已履行",
    "escalated": "已上交上级",
}

# mediation's state -> the case status; waiting for the parties' consent is still "accepted", a
# failed first round still "mediating" (a second session is due)
MEDIATION_STATUS: Final[dict[str, str]] = {
    "awaiting_consent": ACCEPTED,
    "awaiting_assignment": MEDIATING,
    "assigned": MEDIATING,
    "session_scheduled": MEDIATING,
    "session_held": MEDIATING,
    "failed_once": MEDIATING,
    "second_session_scheduled": MEDIATING,
    "second_session_held": MEDIATING,
    "agreement_drafted": MEDIATING,
    "re_review": MEDIATING,
    "agreed": AGREED,
    "performed": CLOSED,
    "withdrawn": CLOSED,
    "consent_refused": FAILED,
    "expired": FAILED,
    "breached": FAILED,
    "terminated": TERMINATED,
    "escalated": ESCALATED,
}

# statuses of a case still being handled (在办): the dashboard's open figure and its drill-down. Not
# `escalated`: a passed-up case counts at the unit above once it accepts it, while the unit that passed
# it up still lists it (read only), so the figure and its case list would disagree
OPEN_STATUSES: Final = (RECEIVED, ROUTED, SETTLE_FIRST, ACCEPTED, MEDIATING)

# statuses with no clock left to watch: the case's light is off
SETTLED_STATUSES: Final = frozenset({REFUSED, CLOSED, DUPLICATE, REPORT_RECEIVED, SETTLED})


def status_for_mediation(state: str) -> str | None:
    """The case status a mediation state stands for; None for a state this table does not know
    (a newer mediation), which leaves the status as it was."""
    return MEDIATION_STATUS.get(state)


def status_label(status: str) -> str:
    return CASE_STATUSES.get(status, status)


# --- the case history ------------------------------------------------------------------------------

# code -> (label, shown in public tracking)
HISTORY_STEPS: Final[dict[str, tuple[str, bool]]] = {
    "received": ("收到投诉", True),
    "completed": ("补全登记", True),
    "split": ("举报内容另行登记", True),
    "duplicate": ("与已有投诉重复，并入原投诉办理", True),
    "duplicate_filed": ("收到重复投诉", False),
    "new_facts": ("关联此前投诉（有新事实）", True),
    "new_facts_filed": ("以新事实另行投诉", False),
    "flagged": ("异常投诉提示", False),
    "routed": ("分派责任单位", True),
    "accepted": ("受理", True),
    "refused": ("不予受理", True),
    "evidence_added": ("补充证据", False),
    "reassigned": ("移交", True),
    "escalated": ("上交上级单位", True),
    "notified": ("已通知", False),
    "status_changed": ("案件状态变更", True),
    "message_resent": ("重发失败消息", False),
    "message_told_otherwise": ("已以其他方式告知", False),
    "handover_requested": ("请求移交", False),
    "handover_accepted": ("接收移交", True),
    "returned": ("退回重新分派", False),
    "contested": ("提出管辖异议", False),
    "contest_expired": ("管辖异议期满", False),
    "authority_decided": ("指定管辖", True),
    "agency_handover_requested": ("移送对接部门", True),
    "agency_acknowledged": ("对接部门已签收", True),
    "agency_handover_lapsed": ("对接部门逾期未签收", False),
    "agency_answered": ("对接部门已答复", True),
    "agency_handed_back": ("对接部门退回，由本单位继续办理", False),
    "takeover_requested": ("提请上级提级办理", False),
    "takeover_declined": ("上级不予提级", False),
    "reclassified": ("重新定性", False),
    "ended_at_top": ("办结并告知救济途径", True),
    "settle_first_opened": ("转经营者先行和解", True),
    "settle_first_offer": ("经营者提出和解方案", True),
    "settle_first_rejected": ("消费者未接受和解方案，转入受理审查", True),
    "settle_first_expired": ("先行和解期限届满，转入受理审查", True),
    "settled": ("已和解", True),
    "settlement_performance": ("消费者确认和解履行情况", True),
    # 诉调对接 (issue 19): the agreement sent to the court for judicial confirmation, and its answer
    "judicial_confirmation_applied": ("已申请司法确认", True),
    "judicial_confirmed": ("法院已确认", True),
    "judicial_refused": ("法院不予确认", True),
}

ESCALATION_TRIGGERS: Final[dict[str, str]] = {
    "tier_target_expired": "本级办理时限届满",
    "mediation_failed": "调解不成",
    "party_request": "当事人请求",
    "staff_request": "工作人员提请",
    "reclassified": "重新定性后需上级办理",
    "take_over": "上级提级办理",
}

# --- what staff may do on a case (intake's and routing's moves; mediation keeps its own list) --------

CASE_ACTIONS: Final[dict[str, str]] = {
    "complete_draft": "补全登记",
    "add_evidence": "上传证据",
    "accept": "受理",
    "refuse": "不予受理",
    "return": "退回重新分派",
    "contest": "提出管辖异议",
    "decide_authority": "指定管辖",
    "escalate": "上交上级",
    "request_takeover": "提请上级提级",
    "take_over": "提级办理",
    "decline_takeover": "不予提级",
    "handover_accept": "接收移交",
    "handover_acknowledge": "签收",
    "agency_answer": "答复",
    "agency_hand_back": "退回",
    "reclassify": "重新定性",
    "supervise": "督办",
}

# --- agencies (对接): what an agency answers on a case handed to it ------------------------------------

# what the agency did; the answer's text says the rest
AGENCY_OUTCOMES: Final[dict[str, str]] = {
    "handled": "已依职责处理",
    "mediated": "已调解化解",
    "case_filed": "已立案",
    "penalized": "已依法处罚",
    "not_established": "经查不属实",
    "referred": "已转有关部门",
    "other": "其他",
}
AGENCY_ANSWER_MAX_TEXT: Final = 2000
AGENCY_REASON_MAX_TEXT: Final = 500

# routing steps after which the agency no longer has the case: its acknowledgement lapsed, or it
# handed the case back; the unit works it again and the agency no longer sees it
AGENCY_RELEASING_STEPS: Final = frozenset({"agency_handover_lapsed", "agency_handed_back"})

# --- messages ------------------------------------------------------------------------------------

MESSAGE_STATES: Final[dict[str, str]] = {
    "queued": "待发送",
    "sent": "已发送",
    "delivered": "已送达",
    "failed": "发送失败",
}

MESSAGE_ACTIONS: Final[dict[str, str]] = {"resend": "重新发送", "told_otherwise": "已以其他方式告知"}

# how staff told a party when a message failed
TOLD_OTHERWISE: Final[dict[str, str]] = {
    "phone": "电话告知",
    "in_person": "当面告知",
    "sms_other": "其他号码短信告知",
    "letter": "书面送达",
    "other": "其他方式",
}

CHANNELS: Final[dict[str, str]] = {
    "web": "网上投诉",
    "hotline": "电话投诉",
    "walk_in": "现场投诉",
    "email": "电子邮件",
    "agency": "部门移送",
}

# agency types (DOMAIN.md, "Who uses it"): an agency tenant is `<unit code>-<type>`; the label is
# the default suffix of its name (诸暨市 + 公安)
AGENCY_POLICE: Final = "police"
AGENCY_COURT: Final = "court"
AGENCY_PROCURATORATE: Final = "procuratorate"
AGENCY_PETITION: Final = "petition"
AGENCY_LABOUR_ARBITRATION: Final = "labour_arbitration"
AGENCY_MARKET_REGULATION: Final = "market_regulation"
AGENCY_CONSUMER_ASSOCIATION: Final = "consumer_association"
AGENCY_TYPES: Final[dict[str, str]] = {
    AGENCY_POLICE: "公安",
    AGENCY_COURT: "人民法院",
    AGENCY_PROCURATORATE: "人民检察院",
    AGENCY_PETITION: "信访",
    AGENCY_LABOUR_ARBITRATION: "劳动人事争议仲裁",
    AGENCY_MARKET_REGULATION: "市场监管",
    AGENCY_CONSUMER_ASSOCIATION: "消费者协会",
}

# 救济途径: where the parties can go when mediation, or the platform's top tier, did not settle it
REMEDY_ROUTES: Final[dict[str, str]] = {
    "arbitration": "申请仲裁",
    "court": "向人民法院起诉",
    "litigation_support": "申请支持起诉",
    "judicial_confirmation": "申请司法确认",
}
# the routes told when nobody chose (a termination without a choice, the end at the top tier)
DEFAULT_REMEDY_ROUTES: Final = ("arbitration", "court", "litigation_support")

TIERS: Final[dict[str, str]] = {"village": "村（社区）级", "township": "镇（街道）级", "city": "市级"}

LIGHTS: Final[dict[str, str]] = {"green": "绿灯", "yellow": "黄灯", "red": "红灯"}

# the clocks whose on-time rate reporting counts (clock.stopped.v1's `clock` -> the figure's name); the
# case list's `on_time` filter names the same figures, so a rate opens exactly the cases behind it
REPORTED_CLOCKS: Final[dict[str, str]] = {
    "acknowledgement": "acknowledgement",
    "acceptance": "acceptance",
    "mediation": "mediation",
    "mediation_end_notice": "end_notice",
    "tier_target": "tier_target",
}


def code_list(table: dict[str, str]) -> list[dict[str, str]]:
    return [{"code": code, "label_zh": label} for code, label in table.items()]


def history_step_list() -> list[dict[str, object]]:
    return [{"code": code, "label_zh": label, "public": public} for code, (label, public) in HISTORY_STEPS.items()]


REFERENCE_LISTS: Final[dict[str, dict[str, str]]] = {
    "case-statuses": CASE_STATUSES,
    "actions": CASE_ACTIONS,
    "message-states": MESSAGE_STATES,
    "message-actions": MESSAGE_ACTIONS,
    "told-otherwise": TOLD_OTHERWISE,
    "escalation-triggers": ESCALATION_TRIGGERS,
    "lights": LIGHTS,
    "channels": CHANNELS,
    "tiers": TIERS,
    "mediation-states": MEDIATION_STATES,
    "agency-types": AGENCY_TYPES,
    "remedy-routes": REMEDY_ROUTES,
    "agency-outcomes": AGENCY_OUTCOMES,
}
