// Mediation's codes in Chinese (docs/mediation.md): states, actions (button texts and history steps),
// the choices of each request body, the fields errors name, and the service's refusals (409).
import { ApiError } from "../api";
import { describeError, errorMessage } from "./errors";
import { fieldLabel } from "./fields";

export const MEDIATION_STATES = {
  awaiting_consent: "待经营者同意调解",
  awaiting_assignment: "待指派调解员",
  assigned: "已指派调解员",
  session_scheduled: "已安排调解",
  session_held: "调解已进行",
  failed_once: "首次调解不成",
  second_session_scheduled: "已安排第二次调解",
  second_session_held: "第二次调解已进行",
  agreement_drafted: "协议待确认",
  re_review: "复议中",
  breached: "协议未履行",
  consent_refused: "经营者不同意调解",
  withdrawn: "已撤回",
  expired: "调解期满",
  terminated: "已终止调解",
  agreed: "已达成协议",
  performed: "协议已履行",
  escalated: "已上交上级",
} as const;

export const MEDIATION_STATE_TYPE: Readonly<Record<string, "primary" | "success" | "warning" | "danger" | "info">> = {
  agreed: "success",
  performed: "success",
  agreement_drafted: "primary",
  consent_refused: "danger",
  terminated: "danger",
  expired: "danger",
  breached: "danger",
  escalated: "warning",
  withdrawn: "info",
  re_review: "warning",
  failed_once: "warning",
};

/** Button texts of the actions the service may allow (allowed_actions). */
export const MEDIATION_ACTIONS = {
  consent: "经营者同意调解",
  refuse_consent: "经营者不同意调解",
  assign: "指派调解员",
  request_recusal: "申请回避",
  decide_recusal: "回避决定",
  schedule_session: "安排调解",
  record_minutes: "记录调解笔录",
  confirm_minutes: "笔录确认",
  draft_agreement: "拟定调解协议",
  confirm_agreement: "协议确认",
  fail: "调解不成",
  terminate: "终止调解",
  withdraw: "撤回调解申请",
  start_appraisal: "开始检测鉴定（暂停计时）",
  end_appraisal: "检测鉴定结束（恢复计时）",
  perform_term: "已履行",
  breach_term: "未履行",
  reopen: "重新调解",
  escalate: "上交上级",
  request_re_review: "申请复议",
  uphold: "复议维持原结果",
  callback: "回访",
  notify_end: "告知调解结束",
  apply_judicial_confirmation: "申请司法确认",
} as const;

/** The same actions as steps of the history (what happened). */
export const MEDIATION_STEPS = {
  open: "受理后进入调解",
  consent: "经营者同意调解",
  refuse_consent: "经营者不同意调解",
  assign: "指派调解员",
  request_recusal: "申请回避",
  decide_recusal: "作出回避决定",
  schedule_session: "安排调解",
  record_minutes: "记录调解笔录",
  confirm_minutes: "当事人确认笔录",
  draft_agreement: "拟定调解协议",
  confirm_agreement: "当事人确认协议",
  fail: "首次调解不成",
  terminate: "终止调解",
  withdraw: "撤回调解申请",
  expire: "调解期满",
  start_appraisal: "检测鉴定开始，暂停计时",
  end_appraisal: "检测鉴定结束，恢复计时",
  perform_term: "协议条款已履行",
  breach_term: "协议条款未履行",
  reopen: "重新调解",
  escalate: "协议未履行，上交上级",
  request_re_review: "申请复议",
  uphold: "复议维持原结果",
  callback: "回访",
  notify_end: "告知当事人调解结束",
  move_unit: "案件转至其他单位",
  apply_judicial_confirmation: "申请司法确认（报送法院）",
  record_judicial_decision: "法院答复司法确认",
} as const;

/** Where the application for judicial confirmation stands (诉调对接). */
export const JUDICIAL_STATUS = { applied: "已申请司法确认，等待法院答复", confirmed: "法院已确认", refused: "法院不予确认" } as const;

export const PARTIES = { complainant: "投诉人（申请人）", business: "经营者（被申请人）" } as const;
export const RECUSAL_ASKERS = { ...PARTIES, mediator: "调解员本人" } as const;
export const SESSION_MODES = { joint: "双方共同调解", single_party: "单方调解" } as const;
export const SESSION_CHANNELS = { in_person: "现场", phone: "电话", video: "视频" } as const;
export const CONTACT_CHANNELS = { phone: "电话", visit: "上门", letter: "信函", sms: "短信", other: "其他" } as const;
export const CALLBACK_CHANNELS = { phone: "电话", sms: "短信", visit: "上门", online: "网上" } as const;
export const NOTICE_CHANNELS = { phone: "电话", sms: "短信", letter: "书面", in_person: "当面", online: "网上" } as const;
export const TERM_KINDS = {
  refund: "退货退款",
  exchange: "更换",
  repair: "修理",
  compensation: "赔偿",
  apology: "赔礼道歉",
  other: "其他",
} as const;
export const TERM_STATUS = { pending: "待履行", performed: "已履行", breached: "未履行" } as const;
export const REMEDIES = {
  arbitration: "申请仲裁",
  court: "向人民法院起诉",
  litigation_support: "支持起诉",
  judicial_confirmation: "申请司法确认",
} as const;
export const RECUSAL_DECISIONS = { pending: "待决定", granted: "准予回避", refused: "驳回回避申请" } as const;
export const RE_REVIEW_DECISIONS = { pending: "复议中", upheld: "维持原结果", reopened: "重新调解" } as const;
// what the API answers as true, false or null
export const CONSENT_ANSWERS = { pending: "待确认", true: "已同意", false: "不同意" } as const;
export const SESSION_PROGRESS = { scheduled: "待进行", held: "已进行" } as const;
export const SESSION_RESULTS = { true: "双方达成一致", false: "未达成一致" } as const;
export const ASSIGNMENT_REASONS = { initial: "首次指派", reassigned: "改派", recusal: "回避后改派", re_review: "复议" } as const;
export const PICKED = { named: "指定", load_and_skill: "按专长和工作量自动选派" } as const;
export const SCORES = { 1: "很不满意", 2: "不满意", 3: "一般", 4: "满意", 5: "很满意" } as const;
export const OUTCOMES = {
  consent_refused: "经营者不同意调解",
  withdrawn: "撤回",
  expired: "调解期满未结",
  failed: "调解不成",
  agreement: "达成协议",
  agreement_breached: "协议未履行",
} as const;

/** The fields of mediation's request bodies, as errors name them. */
export const MEDIATION_FIELDS = {
  consent: "是否同意",
  contacted_via: "联系方式",
  contact_person: "联系人",
  remedies: "救济途径",
  mediator: "调解员",
  requested_by: "申请人",
  granted: "是否准予回避",
  replacement: "接替调解员",
  mode: "调解方式",
  party: "当事人",
  channel: "形式",
  place: "地点",
  scheduled_at: "调解时间",
  minutes: "笔录内容",
  held_at: "调解时间",
  complainant_statement: "投诉人陈述",
  business_statement: "经营者陈述",
  agreed: "是否达成一致",
  summary: "纠纷事实及协议内容",
  terms: "协议条款",
  kind: "事项",
  description: "内容",
  amount: "金额",
  deadline: "履行期限",
  judicial_confirmation: "申请司法确认",
  reason: "理由",
  escalate: "请求上交上级",
  at: "时间",
  recovered_amount: "挽回经济损失",
  note: "说明",
  score: "满意度",
  comments: "回访意见",
  body: "填写内容",
} as const;

/** terms.1.amount -> 协议条款第 2 条「金额」; other fields by their name. */
export function mediationField(field: string): string {
  const term = /^terms\.(\d+)(?:\.(\w+))?$/.exec(field);
  if (term) {
    const part = term[2] ? `「${(MEDIATION_FIELDS as Record<string, string>)[term[2]] ?? term[2]}」` : "";
    return `协议条款第 ${Number(term[1]) + 1} 条${part}`;
  }
  return (MEDIATION_FIELDS as Record<string, string>)[field] ?? fieldLabel(field);
}

const WHO = (party: string): string => (PARTIES as Record<string, string>)[party] ?? party;

// the service's own messages (409 refusals, 422 checks inside an action), in Chinese; numbers kept
const PATTERNS: [RegExp, (...groups: string[]) => string][] = [
  [/^Value error, a single-party session .*$/i, () => "单方调解须选择当事人"],
  [/^Value error, a joint session has both parties.*$/i, () => "双方共同调解不选当事人"],
  [/^Value error, an in-person session needs a place$/i, () => "现场调解须填写地点"],
  [/give a time zone/i, () => "须带时区，例如 2026-05-01T09:30:00+08:00"],
  [/^Input should be a valid datetime.*$/i, () => "应为日期时间"],
  [/^Decimal input should have no more than (\d+) decimal places?$/i, (n) => `至多 ${n} 位小数`],
  [/^List should have at least (\d+) items?.*$/i, (n) => `至少 ${n} 项`],
  [/^String should have at least (\d+) characters?$/i, (n) => `太短：至少 ${n} 个字`],
  [/^the minutes of session (\d+) are not yet confirmed by the (.+)$/i, (n, who) =>
    `第 ${n} 次调解笔录尚未经${who.split(" and the ").map(WHO).join("、")}确认（调解员守则第五条）`],
  [/^the minutes of session (\d+) are already recorded$/i, (n) => `第 ${n} 次调解笔录已记录`],
  [/^session (\d+) has no minutes yet$/i, (n) => `第 ${n} 次调解尚无笔录`],
  [/^session (\d+) was held with the (\w+) only$/i, (n, p) => `第 ${n} 次为单方调解，仅与${WHO(p)}进行`],
  [/^the (\w+) already confirmed the minutes of session (\d+)$/i, (p, n) => `${WHO(p)}已确认第 ${n} 次调解笔录`],
  [/^the (\w+) already confirmed this agreement$/i, (p) => `${WHO(p)}已确认本协议`],
  [/^session (\d+) belongs to round (\d+); .*$/i, (n, r) => `第 ${n} 次调解属于第 ${r} 轮，不是本轮`],
  [/^no session (\d+) in this mediation case$/i, (n) => `没有第 ${n} 次调解`],
  [/^(\S+) is not an active mediator on unit (\d+)'s roster$/i, (u, unit) => `${u} 不是单位 ${unit} 在册的调解员`],
  [/^(\S+) may not take this case .*$/i, (u) => `${u} 已回避或曾办理本案，不能承办`],
  [/^no active mediator on unit (\d+)'s roster can take this case.*$/i, (unit) =>
    `单位 ${unit} 没有可承办本案的在册调解员：请指定调解员，或先将调解员登记入册`],
  [/^a recusal request is already waiting.*$/i, () => "已有回避申请待决定"],
  [/^no recusal request is waiting for a decision$/i, () => "没有待决定的回避申请"],
  [/^no mediator holds the case.*$/i, () => "尚未指派调解员，请先指派"],
  [/^there is no agreement draft to confirm$/i, () => "尚无调解协议可确认"],
  [/^an appraisal is recorded when it started or ended, not ahead of time$/i, () => "检测鉴定的时间不能晚于现在"],
  [/^the 60-day clock cannot be paused: .*already paused.*$/i, () => "调解时限已暂停，不能重复暂停"],
  [/^the 60-day clock cannot be resumed: .*not paused.*$/i, () => "调解时限未暂停，无需恢复"],
  [/^the 60-day clock cannot be (paused|resumed): .*before.*$/i, (what) => `${what === "paused" ? "暂停" : "恢复"}时间早于计时开始或暂停时间`],
  [/^no term (\d+) in this agreement$/i, (n) => `协议没有第 ${n} 条`],
  [/^term (\d+) is already recorded as (\w+)$/i, (n, s) => `第 ${n} 条已记录为${(TERM_STATUS as Record<string, string>)[s] ?? s}`],
  [/^the parties were already told of the end on (\S+)$/i, (at) => `已于 ${new Date(at).toLocaleString("zh-CN", { hour12: false })} 告知当事人调解结束`],
  [/^(\w+) is not allowed while the case is (\w+).*$/i, (action, state) =>
    `案件处于「${(MEDIATION_STATES as Record<string, string>)[state] ?? state}」，不能「${(MEDIATION_ACTIONS as Record<string, string>)[action] ?? action}」`],
];

export function mediationMessage(message: string): string {
  for (const [pattern, render] of PATTERNS) {
    const match = pattern.exec(message.trim());
    if (match) return render(...match.slice(1));
  }
  return errorMessage(message);
}

/** Each field the API named, in Chinese: {field code: message}. */
export function fieldErrors(error: unknown): Record<string, string> {
  if (!(error instanceof ApiError)) return {};
  return Object.fromEntries(error.fields.map((f) => [f.field, mediationMessage(f.message)]));
}

/** One line a person reads for a failed mediation call, naming each field and what is allowed. */
export function describeMediationError(error: unknown): string {
  if (!(error instanceof ApiError) || error.status === 401) return describeError(error);
  const details = error.fields.length
    ? error.fields.map((f) => `「${mediationField(f.field)}」${mediationMessage(f.message)}`)
    : [mediationMessage(error.message)];
  const head = { 403: "无权进行此操作", 404: "未找到", 409: "不能进行此操作", 422: "输入有误" }[error.status] ?? "操作失败";
  return `${head}：${details.join("；")}`;
}
