// The API's error codes, and its field messages put into Chinese where their pattern is known.
import { ApiError, SessionExpired } from "../api";
import { fieldLabel } from "./fields";

export const ERROR_CODES = {
  invalid_input: "输入有误",
  invalid_credentials: "用户名或密码错误",
  too_many_attempts: "登录失败次数过多",
  invalid_refresh_token: "登录已过期",
  session_expired: "登录已过期",
  notfound: "未找到，或不在本单位的查看范围内",
  not_found: "未找到，或不在本单位的查看范围内",
  forbidden: "无权进行此操作",
  conflict: "案件状态已变化，不能进行此操作",
  unauthorized: "未登录或登录已失效",
  service_unavailable: "服务暂时不可用，请稍后再试",
  unsupported_media_type: "文件类型不支持",
  internal_error: "系统内部错误，已记录",
  http_error: "请求有误",
  payload_too_large: "内容过大",
} as const;

// English message patterns of the API (pydantic and the services) and their Chinese; the numbers
// and values they carry are kept. Unknown messages are shown as the API wrote them.
const PATTERNS: [RegExp, (...groups: string[]) => string][] = [
  [/^too short: at least (\d+) characters?$/i, (n) => `太短：至少 ${n} 个字符`],
  [/^too long: at most (\d+) characters?$/i, (n) => `太长：至多 ${n} 个字符`],
  [/^String should have at least (\d+) characters?$/i, (n) => `太短：至少 ${n} 个字符`],
  [/^String should have at most (\d+) characters?$/i, (n) => `太长：至多 ${n} 个字符`],
  [/^Field required$/i, () => "必填"],
  [/^required$/i, () => "必填"],
  [/^Input should be a valid number.*$/i, () => "应为数字"],
  [/^Input should be a valid date.*$/i, () => "应为日期（年-月-日）"],
  [/^Input should be (greater than or equal to|less than or equal to) (\S+)$/i, (op, n) =>
    op.toLowerCase().startsWith("greater") ? `不能小于 ${n}` : `不能大于 ${n}`],
  [/^Input should be '([^']+)'(?:, '([^']+)')*(?: or '([^']+)')?$/i, () => "不是允许的取值"],
  [/^List should have at most (\d+) items?.*$/i, (n) => `至多 ${n} 项`],
  [/^unknown field; remove it$/i, () => "未知字段"],
  [/^the body is not valid JSON$/i, () => "请求内容不是有效的 JSON"],
  [/^wrong username or password$/i, () => "用户名或密码错误"],
  [/^too many failed logins .*try again in (\d+) seconds$/i, (n) => `登录失败次数过多，请 ${n} 秒后再试`],
  [/^not a valid (mainland )?(mobile|phone).*$/i, () => "不是有效的电话号码（手机或带区号的固话）"],
  [/^.*check (digit|character).*$/i, () => "校验位不正确"],
  [/^.*in the future.*$/i, () => "不能晚于今天"],
];

export function errorMessage(message: string): string {
  for (const [pattern, render] of PATTERNS) {
    const match = pattern.exec(message.trim());
    if (match) return render(...match.slice(1));
  }
  return message;
}

/** One line per problem, naming the field in Chinese: 「退回理由」太短：至少 2 个字符. */
export function fieldProblems(error: ApiError): string[] {
  return error.fields.map((f) => `「${fieldLabel(f.field)}」${errorMessage(f.message)}`);
}

/** What a person reads for any failure: the code's meaning, then each field and what is allowed. */
export function describeError(error: unknown): string {
  if (error instanceof SessionExpired) return error.message;
  if (error instanceof ApiError) {
    const head = (ERROR_CODES as Record<string, string>)[error.code] ?? "操作失败";
    const details = error.fields.length ? fieldProblems(error) : [errorMessage(error.message)];
    return `${head}：${details.join("；")}`;
  }
  if (error instanceof TypeError) return "网络连接失败，请检查网络后重试";
  return error instanceof Error ? error.message : String(error);
}
