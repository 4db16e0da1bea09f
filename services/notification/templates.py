"""Message templates: Chinese text in jinja2, overridable per tenant.

Each template has a subject (the e-mail subject, the inbox title) and a text. A tenant may replace
either (`notification.template_overrides`); the most specific tenant up the tree wins (a village's
text, else its township's, else its city's, else the default below). Templates are rendered in a
jinja2 sandbox with `StrictUndefined`: a tenant's text cannot reach Python objects, and a misspelt
variable is refused when the override is saved (a sample render), not when a message goes out.

Personal data is reduced before rendering: the context (`context.py`) never holds a phone number,
an e-mail address or a full name, so no template, default or override, can send one.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError, meta
from jinja2 import Template as Compiled
from jinja2.sandbox import SandboxedEnvironment

from common.errors import InvalidInput

MAX_TEXT = 2000
MAX_SUBJECT = 200

_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)

SIGNATURE = "【消费纠纷调处】"


@dataclass(frozen=True)
class Template:
    name: str
    subject: str
    text: str
    description: str = ""


_TEMPLATES: tuple[Template, ...] = (
    Template(
        "acknowledgement",
        "投诉已收到：{{ tracking_no }}",
        SIGNATURE + "{{ name }}您好，您的投诉已收到，受理编号{{ tracking_no }}。"
        "我们将在7个工作日内决定是否受理，您可凭编号和手机尾号查询进度。",
        "complainant: receipt within 24 hours",
    ),
    Template(
        "handler_assigned",
        "投诉承办单位：{{ tracking_no }}",
        SIGNATURE + "{{ name }}您好，您的投诉（编号{{ tracking_no }}）由{{ unit_name }}负责办理。",
        "complainant: who handles the case",
    ),
    Template(
        "handler_changed",
        "投诉承办单位变更：{{ tracking_no }}",
        SIGNATURE + "{{ name }}您好，您的投诉（编号{{ tracking_no }}）现由{{ unit_name }}负责办理。",
        "complainant: the case moved to another unit",
    ),
    Template(
        "accepted",
        "投诉已受理：{{ tracking_no }}",
        SIGNATURE + "{{ name }}您好，您的投诉（编号{{ tracking_no }}）已由{{ unit_name }}受理。"
        "我们将征求经营者同意后组织调解，调解员确定后另行通知您。",
        "complainant: accepted (Art 15), mediation to come",
    ),
    Template(
        "refused",
        "投诉不予受理：{{ tracking_no }}",
        SIGNATURE + "{{ name }}您好，您的投诉（编号{{ tracking_no }}）经{{ unit_name }}审查不予受理。"
        "理由：{{ ground }}。{{ reason }}。您还可以通过以下途径维护权益：{{ other_routes }}",
        "complainant: refused with the ground, the reason and the other routes (Art 16)",
    ),
    Template(
        "mediator_assigned",
        "调解员已确定：{{ tracking_no }}",
        SIGNATURE + "{{ name }}您好，您的投诉（编号{{ tracking_no }}）已安排调解员，"
        "{{ unit_name }}将与您联系确定调解时间。",
        "complainant: a mediator holds the case",
    ),
    Template(
        "session_scheduled",
        "调解安排：{{ tracking_no }}",
        SIGNATURE + "{{ addressee }}您好，编号{{ tracking_no }}的消费纠纷定于{{ scheduled_at }}"
        "以{{ session_channel }}方式进行{{ session_mode }}，由{{ unit_name }}主持，请准时参加。",
        "both parties: a session's time and form",
    ),
    Template(
        "agreement_terms",
        "调解协议条款：{{ tracking_no }}",
        SIGNATURE + "{{ addressee }}您好，编号{{ tracking_no }}的调解协议草案已拟定："
        "{% for t in terms %}{{ loop.index }}. {{ t.kind }}{% if t.amount %}{{ t.amount }}元{% endif %}"
        "，履行期限{{ t.deadline }}；{% endfor %}请核对后到{{ unit_name }}签字确认。",
        "both parties: agreement terms and deadlines",
    ),
    Template(
        "mediation_outcome",
        "调解结果：{{ tracking_no }}",
        SIGNATURE + "{{ addressee }}您好，编号{{ tracking_no }}的调解已结束，结果：{{ outcome }}。",
        "both parties: how mediation ended (Art 23)",
    ),
    Template(
        "remedy_routes",
        "后续救济途径：{{ tracking_no }}",
        SIGNATURE + "{{ name }}您好，编号{{ tracking_no }}的纠纷未能通过调解解决。您可以选择：{{ remedies }}。",
        "complainant: where to go next after a failure",
    ),
    Template(
        "mediation_passed_up",
        "调解结束及案件移交：{{ tracking_no }}",
        SIGNATURE + "{{ name }}您好，编号{{ tracking_no }}的纠纷在{{ from_unit }}的调解已结束，结果：{{ outcome }}。"
        "您可以选择：{{ remedies }}；案件已移交{{ to_unit }}继续调处，调解员确定后另行通知您。",
        "complainant: mediation ended without settling and the case went up (Art 23 notice, remedies, new unit)",
    ),
    Template(
        "callback_survey",
        "回访：{{ tracking_no }}",
        SIGNATURE + "{{ name }}您好，请对编号{{ tracking_no }}的处理情况评价：回复1-5分（5分为非常满意）。",
        "complainant: the call-back survey (Art 26)",
    ),
    Template(
        "mediation_invitation",
        "调解邀请及同意确认：{{ tracking_no }}",
        SIGNATURE + "{{ business_name }}：消费者{{ name }}就消费纠纷向{{ unit_name }}投诉（编号{{ tracking_no }}，"
        "类别：{{ category }}），已受理。现邀请贵方参加调解，调解须双方自愿，请于收到后联系{{ unit_name }}"
        "确认是否同意调解。",
        "business: the invitation and the consent request (Art 18)",
    ),
    Template(
        "settle_first_waiting",
        "先行和解：{{ tracking_no }}",
        SIGNATURE + "{{ business_name }}：有消费者就一件消费纠纷（编号{{ tracking_no }}，类别：{{ category }}）"
        "投诉贵方，请于{{ window_deadline }}前凭统一社会信用代码和短信验证码登录经营者专区查看，"
        "并提出和解方案；逾期未和解的，由{{ unit_name }}决定是否受理。",
        "business: a complaint sent to it first (settle-first lane), with the window's end",
    ),
    Template(
        "case_assigned_unit",
        "新案件：{{ tracking_no }}",
        "案件{{ tracking_no }}（{{ category }}，投诉人{{ name }}）已由本单位{{ unit_name }}负责，"
        "请在7个工作日内作出是否受理的决定。",
        "staff: a case for the unit",
    ),
    Template(
        "handover_requested",
        "移交请求：{{ tracking_no }}",
        "案件{{ tracking_no }}（{{ category }}）请求移交本单位，请接收或提出异议。",
        "staff: a handover awaits the unit",
    ),
    Template(
        "case_assigned_mediator",
        "分派给您的调解案件：{{ tracking_no }}",
        "案件{{ tracking_no }}（{{ category }}，投诉人{{ name }}）已分派给您调解，请尽快联系双方安排调解。",
        "staff: a mediator got a case",
    ),
    Template(
        "recusal_requested",
        "回避申请：{{ tracking_no }}",
        "案件{{ tracking_no }}有一项回避申请（申请方：{{ requested_by }}），请主管作出决定。",
        "staff: a party asked the mediator to step aside",
    ),
    Template(
        "re_review_requested",
        "复议申请：{{ tracking_no }}",
        "案件{{ tracking_no }}有一项复议申请（申请方：{{ requested_by }}），将由未经办本案的调解员复核。",
        "staff: a party asked for a re-review",
    ),
    Template(
        "clock_yellow",
        "时限预警（黄灯）：{{ tracking_no }}",
        "案件{{ tracking_no }}的{{ clock }}时限已用去大部分（黄灯），请抓紧办理。",
        "staff: a clock turned yellow",
    ),
    Template(
        "clock_red",
        "时限超期（红灯）：{{ tracking_no }}",
        "案件{{ tracking_no }}的{{ clock }}时限已超期（红灯），请立即处理。",
        "staff: a clock turned red",
    ),
    Template(
        "case_escalated",
        "上交案件：{{ tracking_no }}",
        "{{ from_unit }}将案件{{ tracking_no }}（{{ category }}）上交本单位，原因：{{ trigger }}。",
        "higher tier: a case passed up",
    ),
    Template(
        "case_taken_over",
        "案件已被上级提级办理：{{ tracking_no }}",
        "案件{{ tracking_no }}已由{{ to_unit }}提级办理，本单位保留只读查看。",
        "the unit a case was taken from",
    ),
    Template(
        "takeover_requested",
        "提级办理请求：{{ tracking_no }}",
        "{{ from_unit }}请求本单位提级办理案件{{ tracking_no }}（{{ category }}），请决定是否接办。",
        "higher tier: a lower unit asks it to take a case over",
    ),
    Template(
        "takeover_declined",
        "提级办理请求未获同意：{{ tracking_no }}",
        "本单位请求上级提级办理的案件{{ tracking_no }}（{{ category }}）未获同意，案件仍由本单位办理。"
        "原因：{{ reason }}",
        "the unit that asked for a take-over: the unit above declined",
    ),
    Template(
        "agency_handover_lapsed",
        "移送逾期未签收：{{ tracking_no }}",
        "{{ from_unit }}移送有关部门的案件{{ tracking_no }}（{{ category }}）逾期未获签收，移送已失效，"
        "案件由{{ from_unit }}继续办理，请督促。",
        "higher tier: an agency did not acknowledge a handover in time; the handing unit works the case",
    ),
    Template(
        "agency_answered",
        "对接部门答复：{{ tracking_no }}",
        "{{ agency_name }}已答复本单位移送的案件{{ tracking_no }}（{{ category }}）：{{ agency_outcome }}。"
        "{{ answer }}",
        "the unit that handed a case to an agency: the agency's answer",
    ),
    Template(
        "agency_handed_back",
        "对接部门退回案件：{{ tracking_no }}",
        "{{ agency_name }}退回本单位移送的案件{{ tracking_no }}（{{ category }}），案件由本单位继续办理。"
        "退回理由：{{ reason }}",
        "the unit that handed a case to an agency: the agency handed it back",
    ),
    Template(
        "early_warning",
        "排查预警：{{ warning_kind }}",
        "预警：近{{ window_days }}天内{{ warning_kind }}（{{ key }}）的投诉已达{{ count }}件"
        "（预警线{{ threshold }}件），请排查。",
        "township and city: an early warning",
    ),
    Template(
        "supervision_ordered",
        "督办：{{ tracking_no }}",
        "{{ from_unit }}对案件{{ tracking_no }}（{{ category }}）督办：{{ instruction }}。"
        "请于{{ deadline }}前办理并答复。",
        "the unit ordered: a supervision order (督办) with its deadline",
    ),
    Template(
        "supervision_moved",
        "督办随案转来：{{ tracking_no }}",
        "案件{{ tracking_no }}（{{ category }}）已由{{ previous_unit }}转至本单位，{{ from_unit }}的督办随案转来："
        "{{ instruction }}。请于{{ deadline }}前办理并答复。",
        "the unit now responsible: an open supervision order followed the case",
    ),
    Template(
        "supervision_answered",
        "督办已答复：{{ tracking_no }}",
        "{{ to_unit }}已答复本单位对案件{{ tracking_no }}（{{ category }}）的督办，请审核：认可或退回。",
        "the sender: the unit ordered answered",
    ),
    Template(
        "supervision_accepted",
        "督办答复已认可：{{ tracking_no }}",
        "{{ from_unit }}已认可本单位对案件{{ tracking_no }}（{{ category }}）督办事项的答复，督办办结。",
        "the unit ordered: its answer was accepted",
    ),
    Template(
        "supervision_returned",
        "督办答复被退回：{{ tracking_no }}",
        "{{ from_unit }}退回了本单位对案件{{ tracking_no }}（{{ category }}）督办事项的答复，原因：{{ reason }}。"
        "请于{{ deadline }}前重新办理并答复。",
        "the unit ordered: its answer was sent back",
    ),
    Template(
        "supervision_overdue",
        "督办逾期（红灯）：{{ tracking_no }}",
        "本单位对案件{{ tracking_no }}（{{ category }}）的督办，{{ to_unit }}逾期未答复（红灯），请跟进。",
        "the sender: a supervision order passed its deadline without an answer",
    ),
    Template(
        "agency_handover",
        "案件移送：{{ tracking_no }}",
        "{{ unit_name }}向贵单位移送案件{{ tracking_no }}（{{ category }}，投诉人{{ name }}），请及时签收。",
        "agency: a case handed over (对接)",
    ),
    Template(
        "judicial_confirmation_requested",
        "司法确认申请：{{ tracking_no }}",
        "{{ unit_name }}报送双方当事人共同提出的调解协议司法确认申请（编号{{ tracking_no }}，{{ category }}），"
        "请查阅司法确认申请书并在审查后答复确认或不予确认。",
        "court: the parties' joint application for judicial confirmation (诉调对接)",
    ),
    Template(
        "judicial_decision",
        "司法确认结果：{{ tracking_no }}",
        SIGNATURE + "{{ addressee }}您好，编号{{ tracking_no }}的调解协议，{{ court_name }}已{{ judicial_decision }}"
        "（{{ ruling_no }}）。",
        "the unit and the complainant: the court's answer on judicial confirmation",
    ),
    Template(
        "agency_handover_withdrawn",
        "移送已失效：{{ tracking_no }}",
        "{{ unit_name }}移送贵单位的案件{{ tracking_no }}（{{ category }}）超过签收时限未签收，移送已失效，"
        "案件由{{ unit_name }}继续办理。",
        "agency: a handover it did not acknowledge in time lapsed",
    ),
    Template(
        "agency_reminder",
        "移送案件待签收提醒：{{ tracking_no }}",
        "提醒（第{{ reminder }}次）：{{ unit_name }}移送的案件{{ tracking_no }}（{{ category }}）"
        "尚未签收，请及时签收。",
        "agency: the handover is still unacknowledged",
    ),
    Template(
        "official_calendar_missing",
        "{{ year }}年节假日安排未录入",
        "{{ year }}年的国务院节假日安排尚未录入平台，该年的工作日暂按兜底规则计算（只含法定节假日，"
        "不含调休放假和调休上班），跨入{{ year }}年的期限可能不准。通知发布后请在“官方日历”中录入。",
        "platform admins: next year's official schedule is missing on 1 December",
    ),
)

TEMPLATES: dict[str, Template] = {t.name: t for t in _TEMPLATES}
ACKNOWLEDGEMENT = TEMPLATES["acknowledgement"]

# what every template may use, with sample values for checking a tenant's override
SAMPLE_CONTEXT: dict[str, Any] = {
    "tracking_no": "TS20261122ABC234",
    "name": "张*",
    "addressee": "张*",
    "business_name": "某某电器商店",
    "unit_name": "枫源村委会",
    "unit_tier": "村",
    "category": "商品质量",
    "ground": "不属于本部门职责范围",
    "reason": "经核实不属于本单位职责",
    "other_routes": "向有管辖权的部门投诉，或申请仲裁、提起诉讼",
    "scheduled_at": "2026-12-01 09:30",
    "window_deadline": "2026-12-08 17:00",
    "session_channel": "现场",
    "session_mode": "双方当面调解",
    "terms": [{"kind": "退款", "amount": "399.00", "deadline": "2026-12-10"}],
    "outcome": "达成调解协议",
    "remedies": "申请仲裁、向人民法院起诉",
    "requested_by": "投诉人",
    "court_name": "靖江市人民法院",
    "ruling_no": "（2026）苏1282民特1号",
    "judicial_decision": "裁定确认调解协议有效",
    "clock": "受理决定",
    "colour": "red",
    "from_unit": "枫源村委会",
    "to_unit": "枫桥镇",
    "trigger": "本级时限届满",
    "warning_kind": "同一经营者",
    "key": "91330681MA2B00000X",
    "count": 5,
    "threshold": 5,
    "window_days": 30,
    "reminder": 1,
    "year": 2027,
    "instruction": "三日内联系经营者核实退款情况",
    "deadline": "2026-12-10 23:59",
    "previous_unit": "枫源村委会",
    "agency_name": "枫桥派出所",
    "agency_outcome": "已调解化解",
    "answer": "已出警调解，双方当场达成和解",
    "complaint_id": "00000000-0000-0000-0000-000000000000",
}


@lru_cache(maxsize=1024)
def _compiled(text: str) -> Compiled:
    # compiling is most of a render's cost; the texts are the built-in templates and a few overrides
    return _env.from_string(text)


def render_text(text: str, context: dict[str, Any]) -> str:
    return _compiled(text).render(**context).strip()


def render(
    template: Template, context: dict[str, Any], override: tuple[str | None, str] | None = None
) -> tuple[str, str]:
    """(subject, text) of a template, or of a tenant's override (subject, text) of it."""
    subject, text = template.subject, template.text
    if override is not None:
        subject = override[0] or subject
        text = override[1]
    return render_text(subject, context), render_text(text, context)


def placeholders(template: Template) -> list[str]:
    """The variables the template's default subject and text use: what a tenant's own text may say."""
    found: set[str] = set()
    for source in (template.subject, template.text):
        found |= meta.find_undeclared_variables(_env.parse(source))
    return sorted(found)


def preview(name: str, subject: str | None, text: str) -> dict[str, str]:
    """A tenant's proposed text rendered with the sample values, after the checks of a save."""
    check_override(name, subject, text)
    rendered_subject, rendered_text = render(TEMPLATES[name], SAMPLE_CONTEXT, (subject, text))
    return {"subject": rendered_subject, "text": rendered_text}


def check_override(name: str, subject: str | None, text: str) -> None:
    """InvalidInput naming the field when a tenant's text is not a usable template."""
    if name not in TEMPLATES:
        raise InvalidInput.one("template", f"no template {name!r}; known: {', '.join(TEMPLATES)}")
    problems = []
    for field, value, limit in (("subject", subject, MAX_SUBJECT), ("text", text, MAX_TEXT)):
        if value is None:
            if field == "text":
                problems.append({"field": field, "message": "the template's text is required"})
            continue
        if not value.strip() or len(value) > limit:
            problems.append({"field": field, "message": f"1 to {limit} characters"})
            continue
        try:
            render_text(value, SAMPLE_CONTEXT)
        except TemplateError as exc:  # syntax errors, unknown variables, sandbox refusals
            problems.append({"field": field, "message": f"not a usable template: {exc}"})
    if problems:
        raise InvalidInput(problems)
