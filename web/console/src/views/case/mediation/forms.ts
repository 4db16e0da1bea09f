// What each mediation action asks for, field by field (common/contracts/mediation.py), and the path it
// is posted to. ActionDialog renders these; the field names are the API's, so a 422 naming a field
// lands on the field shown. Whether an action is offered at all is the server's (allowed_actions).
import {
  CALLBACK_CHANNELS,
  CONTACT_CHANNELS,
  NOTICE_CHANNELS,
  PARTIES,
  RECUSAL_ASKERS,
  REMEDIES,
  SCORES,
  SESSION_CHANNELS,
  SESSION_MODES,
} from "../../../labels/mediation";
import type { Labels } from "../../../labels";

export type FieldKind =
  | "select" // one of `options`
  | "choice" // one of `options`, as buttons (few options)
  | "text"
  | "textarea"
  | "money" // yuan, sent as a decimal string
  | "datetime" // a local date and time plus a time zone, sent as ISO 8601 with the offset
  | "switch"
  | "checks" // several of `options`
  | "terms" // the agreement's terms
  | "mediator" // a roster entry of the case's unit (empty: picked by skill and load)
  | "court"; // a court onboarded in the case's city (judicial confirmation)

export interface FormField {
  name: string;
  kind: FieldKind;
  label: string;
  options?: Labels;
  required?: boolean;
  placeholder?: string;
  /** shown only when this holds for the form's values */
  when?: (form: Record<string, unknown>) => boolean;
}

export interface ActionForm {
  /** the service's action, as in allowed_actions */
  action: string;
  title: string;
  /** the path under …/mediation; `n` is the session or term it concerns */
  path: (n?: number) => string;
  fields: FormField[];
  initial: () => Record<string, unknown>;
  /** asked before sending: the action cannot be undone */
  confirm?: string;
  submit?: string;
}

const reason = (label = "理由"): FormField => ({ name: "reason", kind: "textarea", label, required: true, placeholder: "至少 2 个字" });
const note: FormField = { name: "note", kind: "textarea", label: "说明" };

const FORMS: ActionForm[] = [
  {
    action: "consent",
    title: "记录经营者同意调解",
    path: () => "/consent",
    fields: [
      { name: "contacted_via", kind: "choice", label: "联系方式", options: CONTACT_CHANNELS, required: true },
      { name: "contact_person", kind: "text", label: "联系人" },
      note,
    ],
    initial: () => ({ consent: true, contacted_via: "phone", contact_person: "", note: "" }),
  },
  {
    action: "refuse_consent",
    title: "记录经营者不同意调解",
    path: () => "/consent",
    fields: [
      { name: "contacted_via", kind: "choice", label: "联系方式", options: CONTACT_CHANNELS, required: true },
      { name: "contact_person", kind: "text", label: "联系人" },
      { name: "note", kind: "textarea", label: "不同意的理由" },
      { name: "remedies", kind: "checks", label: "告知的救济途径", options: REMEDIES },
    ],
    initial: () => ({ consent: false, contacted_via: "phone", contact_person: "", note: "", remedies: Object.keys(REMEDIES) }),
    confirm: "经营者不同意调解，本案调解即告结束，并告知当事人其他救济途径。确定记录吗？",
  },
  {
    action: "assign",
    title: "指派调解员",
    path: () => "/assign",
    fields: [{ name: "mediator", kind: "mediator", label: "调解员" }],
    initial: () => ({ mediator: "" }),
  },
  {
    action: "request_recusal",
    title: "申请回避",
    path: () => "/recuse",
    fields: [{ name: "requested_by", kind: "choice", label: "申请人", options: RECUSAL_ASKERS, required: true }, reason("回避理由")],
    initial: () => ({ requested_by: "complainant", reason: "" }),
  },
  {
    action: "decide_recusal",
    title: "回避决定",
    path: () => "/recuse/decision",
    fields: [
      { name: "granted", kind: "switch", label: "准予回避" },
      { name: "replacement", kind: "mediator", label: "接替调解员", when: (f) => f.granted === true },
      note,
    ],
    initial: () => ({ granted: true, replacement: "", note: "" }),
  },
  {
    action: "schedule_session",
    title: "安排调解",
    path: () => "/sessions",
    fields: [
      { name: "mode", kind: "choice", label: "调解方式", options: SESSION_MODES, required: true },
      { name: "party", kind: "choice", label: "单方调解的当事人", options: PARTIES, required: true, when: (f) => f.mode === "single_party" },
      { name: "channel", kind: "choice", label: "形式", options: SESSION_CHANNELS, required: true },
      { name: "place", kind: "text", label: "地点", required: true, when: (f) => f.channel === "in_person" },
      { name: "scheduled_at", kind: "datetime", label: "调解时间", required: true },
    ],
    initial: () => ({ mode: "joint", party: null, channel: "in_person", place: "", scheduled_at: "" }),
  },
  {
    action: "record_minutes",
    title: "记录调解笔录",
    path: (n) => `/sessions/${n}/minutes`,
    fields: [
      { name: "held_at", kind: "datetime", label: "实际调解时间（不填为现在）" },
      { name: "minutes", kind: "textarea", label: "笔录内容", required: true, placeholder: "调解经过，至少 5 个字" },
      { name: "complainant_statement", kind: "textarea", label: "投诉人陈述" },
      { name: "business_statement", kind: "textarea", label: "经营者陈述" },
      { name: "agreed", kind: "switch", label: "双方达成一致" },
    ],
    initial: () => ({ held_at: "", minutes: "", complainant_statement: "", business_statement: "", agreed: false }),
  },
  {
    action: "draft_agreement",
    title: "拟定调解协议",
    path: () => "/agreement",
    fields: [
      { name: "summary", kind: "textarea", label: "纠纷事实及协议内容", required: true },
      { name: "terms", kind: "terms", label: "协议条款", required: true },
      { name: "judicial_confirmation", kind: "switch", label: "双方申请司法确认" },
    ],
    initial: () => ({ summary: "", terms: [{ kind: "refund", description: "", amount: "", deadline: "" }], judicial_confirmation: false }),
    submit: "保存协议（双方须重新确认）",
  },
  {
    action: "fail",
    title: "记录调解不成",
    path: () => "/fail",
    fields: [reason("调解不成的原因")],
    initial: () => ({ reason: "" }),
  },
  {
    action: "terminate",
    title: "终止调解",
    path: () => "/terminate",
    fields: [
      reason("终止理由"),
      { name: "remedies", kind: "checks", label: "告知的救济途径", options: REMEDIES, required: true },
      { name: "escalate", kind: "switch", label: "请求上交上级单位调解" },
    ],
    initial: () => ({ reason: "", remedies: ["arbitration", "court", "litigation_support"], escalate: false }),
    confirm: "终止调解后本案调解结束，不能撤销。确定终止吗？",
  },
  {
    action: "withdraw",
    title: "撤回调解申请",
    path: () => "/withdraw",
    fields: [reason("撤回理由")],
    initial: () => ({ reason: "" }),
    confirm: "投诉人撤回后本案调解结束，不能撤销。确定撤回吗？",
  },
  {
    action: "start_appraisal",
    title: "开始检测鉴定（暂停调解时限）",
    path: () => "/appraisal/start",
    fields: [{ name: "reason", kind: "textarea", label: "检测鉴定事项" }, { name: "at", kind: "datetime", label: "开始时间（不填为现在）" }],
    initial: () => ({ reason: "", at: "" }),
  },
  {
    action: "end_appraisal",
    title: "检测鉴定结束（恢复调解时限）",
    path: () => "/appraisal/end",
    fields: [{ name: "reason", kind: "textarea", label: "检测鉴定结果" }, { name: "at", kind: "datetime", label: "结束时间（不填为现在）" }],
    initial: () => ({ reason: "", at: "" }),
  },
  {
    action: "perform_term",
    title: "记录条款已履行",
    path: (n) => `/terms/${n}/performed`,
    fields: [{ name: "recovered_amount", kind: "money", label: "挽回经济损失（元，不填为条款金额）" }, note],
    initial: () => ({ recovered_amount: "", note: "" }),
  },
  {
    action: "breach_term",
    title: "记录条款未履行",
    path: (n) => `/terms/${n}/breached`,
    fields: [note],
    initial: () => ({ note: "" }),
  },
  {
    action: "reopen",
    title: "重新调解",
    path: () => "/reopen",
    fields: [reason()],
    initial: () => ({ reason: "" }),
  },
  {
    action: "escalate",
    title: "协议未履行，上交上级",
    path: () => "/escalate",
    fields: [reason()],
    initial: () => ({ reason: "" }),
    confirm: "上交后本案由上级单位重新调解，本单位不能再办理。确定上交吗？",
  },
  {
    action: "request_re_review",
    title: "申请复议",
    path: () => "/re-review",
    fields: [{ name: "requested_by", kind: "choice", label: "申请人", options: PARTIES, required: true }, reason("复议理由")],
    initial: () => ({ requested_by: "complainant", reason: "" }),
  },
  {
    action: "uphold",
    title: "复议维持原结果",
    path: () => "/re-review/uphold",
    fields: [note],
    initial: () => ({ note: "" }),
  },
  {
    action: "callback",
    title: "回访",
    path: () => "/callback",
    fields: [
      { name: "party", kind: "choice", label: "回访对象", options: PARTIES, required: true },
      { name: "score", kind: "choice", label: "满意度", options: Object.fromEntries(Object.entries(SCORES).map(([k, v]) => [k, `${k} ${v}`])), required: true },
      { name: "comments", kind: "textarea", label: "回访意见" },
      { name: "channel", kind: "choice", label: "回访方式", options: CALLBACK_CHANNELS, required: true },
    ],
    initial: () => ({ party: "complainant", score: "", comments: "", channel: "phone" }),
  },
  {
    action: "notify_end",
    title: "告知当事人调解结束",
    path: () => "/end-notice",
    fields: [{ name: "channel", kind: "choice", label: "告知方式", options: NOTICE_CHANNELS, required: true }, note],
    initial: () => ({ channel: "phone", note: "" }),
  },
  {
    action: "apply_judicial_confirmation",
    title: "申请司法确认",
    path: () => "/judicial-confirmation",
    fields: [{ name: "court", kind: "court", label: "受理法院", required: true }, note],
    initial: () => ({ court: "", note: "" }),
    confirm: "将双方当事人共同申请的司法确认申请书（含调解协议）报送所选法院。确定报送吗？",
    submit: "报送法院",
  },
];

export const ACTION_FORMS: Readonly<Record<string, ActionForm>> = Object.fromEntries(FORMS.map((f) => [f.action, f]));

/** The form's values as the API's body: empty optional text left out, times with their zone,
 *  the score a number; fields hidden by `when` are not sent. */
export function requestBody(form: ActionForm, values: Record<string, unknown>, zone: string): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    const field = form.fields.find((f) => f.name === key);
    if (field?.when && !field.when(values)) continue;
    if (value === "" || value === null || value === undefined) continue;
    if (field?.kind === "datetime") body[key] = `${value}:00${zone}`.replace(/(T\d\d:\d\d:\d\d):00/, "$1");
    else if (key === "score") body[key] = Number(value);
    else if (field?.kind === "terms") body[key] = (value as Record<string, string>[]).map(termBody);
    else body[key] = value;
  }
  return body;
}

function termBody(term: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(term).filter(([, v]) => v !== "" && v !== null && v !== undefined));
}
