// Chinese for what the portal shows: the console's labels for the API's codes (shared, not copied)
// and the portal's own words for its fields, errors and the party actions.
import { duration } from "@labels/clocks";
import { ApiError, type FieldError } from "./api";

export { STATUS } from "@labels/status";
export { REQUESTS } from "@labels/requests";
export { CLOCK_KINDS } from "@labels/clocks";
export { HISTORY_STEPS } from "@labels/history";

export function label(map: Readonly<Record<string, string>>, code: string | null | undefined): string {
  if (!code) return "—";
  return map[code] ?? `未知（${code}）`;
}

/** The fields of the filing form, in the words the form shows. */
export const FIELDS: Record<string, string> = {
  place: "发生地点",
  "complainant.name": "您的姓名",
  "complainant.phone": "手机号码",
  "business.name": "经营者名称",
  "business.credit_code": "统一社会信用代码",
  incident_division_code: "发生地点",
  category: "投诉类别",
  requests: "诉求",
  request_details: "具体诉求",
  claim_amount: "涉及金额",
  summary: "投诉内容",
  evidence: "证据材料",
  consent: "隐私告知",
  code: "短信验证码",
  tracking_no: "投诉编号",
  credit_code: "统一社会信用代码",
  amount: "金额",
  remedies: "和解方案",
};

const ERRORS: Record<string, string> = {
  validation_failed: "填写有误，请按提示修改",
  invalid_code: "验证码不正确",
  code_expired: "验证码已过期，请重新获取",
  code_exhausted: "验证码错误次数过多，请重新获取",
  code_used: "验证码已使用，请重新获取",
  too_many_codes: "获取验证码过于频繁，请稍后再试",
  not_allowed: "当前阶段不能进行此操作",
  too_many_attempts: "尝试次数过多，请稍后再试",
  throttled: "操作过于频繁，请稍后再试",
  not_found: "未找到该投诉，请核对编号",
  forbidden: "无权进行此操作",
  conflict: "案件状态已变化，请刷新后再试",
  unsupported_file: "只能上传图片或 PDF 文件",
  not_published: "该地尚未公示消费投诉信息",
  not_listed: "该经营者未列入公示",
};

/** The API's error in Chinese: its code's meaning; an unknown code shows what the API said. */
export function errorText(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 401) return "请先获取短信验证码并登录";
    if (/[\u4e00-\u9fff]/.test(error.message)) return error.message; // the API's own Chinese (message_zh)
    if (error.status === 429) return ERRORS[error.code] ?? ERRORS.too_many_attempts;
    return ERRORS[error.code] ?? `请求失败（${error.status}）`;
  }
  return "网络异常，请稍后再试";
}

/** Per-field messages for a form: 「手机号码」填写有误 when the API's message is not Chinese. */
export function fieldErrors(error: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!(error instanceof ApiError)) return out;
  for (const item of error.fields as FieldError[]) {
    const key = item.field
      .replace(/^body\./, "")
      .replace(/^files(\[\d+\])?$/, "evidence")
      .replace(/^privacy_consent(\..*)?$/, "consent");
    const name = FIELDS[key] ?? FIELDS[key.split(".")[0]] ?? "该项";
    out[key] = /[\u4e00-\u9fff]/.test(item.message) ? item.message : `「${name}」填写有误`;
  }
  return out;
}

/** The privacy notice the filing form shows; the API records the version agreed to (tests/conftest.py
 * files with the same). */
export const PRIVACY_NOTICE_VERSION = "2026-12";

/** Party actions, confirmed each by an SMS code. */
export const PARTY_ACTIONS: Record<string, string> = {
  consent: "同意调解",
  decline: "不同意调解",
  confirm_minutes: "确认调解笔录",
  confirm_agreement: "确认（签署）调解协议",
  withdraw: "撤回投诉",
  callback: "回访评价",
  re_review: "申请复核",
  report_performance: "报告履行情况",
};

export const REMEDIES: Record<string, string> = {
  refund: "退款",
  exchange: "换货",
  repair: "维修",
  compensation: "赔偿",
  apology: "赔礼道歉",
};

/** A deadline as a countdown: 还剩2天3小时 / 已超过… */
export function countdown(deadline: string, now: number = Date.now()): string {
  const seconds = Math.round((new Date(deadline).getTime() - now) / 1000);
  return seconds >= 0 ? `还剩 ${duration(seconds)}` : `已超过 ${duration(seconds)}`;
}

export function when(at: string | null | undefined): string {
  if (!at) return "—";
  return new Date(at).toLocaleString("zh-CN", { hour12: false });
}

type Mediation = Record<string, any> | null | undefined; // eslint-disable-line @typescript-eslint/no-explicit-any
const PARTY_NAMES: Record<string, string> = { complainant: "投诉人", business: "经营者" };

/** "投诉人已电子确认 <time>；经营者…" from a view's confirmations (party -> {at, label} or null). */
export function confirmationsText(found: Mediation): string {
  return Object.entries(found ?? {})
    .filter(([, c]) => c)
    .map(([party, c]) => `${PARTY_NAMES[party] ?? party}${c.label ?? ""} ${when(c.at)}`)
    .join("；");
}

/** The held session whose minutes `party` has yet to confirm (the latest such). */
export function minutesToConfirm(mediation: Mediation, party: string): number | undefined {
  const open = (mediation?.sessions ?? []).filter(
    (s: Record<string, any>) => s.held_at && party in (s.confirmations ?? {}) && !s.confirmations[party], // eslint-disable-line @typescript-eslint/no-explicit-any
  );
  return open[open.length - 1]?.n;
}

/** The first term of the agreement not yet recorded as performed: the one a party reports on. */
export function termToReport(mediation: Mediation): number | undefined {
  return (mediation?.agreement?.terms ?? []).find((t: Record<string, any>) => t.status !== "performed")?.n; // eslint-disable-line @typescript-eslint/no-explicit-any
}
