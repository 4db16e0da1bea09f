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
  body_too_large: "内容过大：文件或请求超过上限",
} as const;

// The API's English field messages (pydantic's and the services') and their Chinese, most specific
// first; the numbers they carry are kept. A message not known here is shown as the API wrote it.
const PATTERNS: [RegExp, (...groups: string[]) => string][] = [
  [/too short: at least (\d+) characters?/i, (n) => `太短：至少 ${n} 个字符`],
  [/too long: at most (\d+) characters?/i, (n) => `太长：至多 ${n} 个字符`],
  [/String should have at least (\d+) characters?/i, (n) => `太短：至少 ${n} 个字符`],
  [/String should have at most (\d+) characters?/i, (n) => `太长：至多 ${n} 个字符`],
  [/^(Field required|required: must not be empty|required$)/i, () => "必填"],
  [/^required: the 18-character unified social credit code/i, () => "必填：18 位统一社会信用代码"],
  [/unified social credit code has 18 characters/i, () => "统一社会信用代码应为 18 位"],
  [/^required: the 18-character resident ID/i, () => "必填：18 位居民身份证号"],
  [/ID number has 18 characters|15-digit first-generation/i, () => "身份证号应为 18 位"],
  [/check (digit|character) mismatch|check (digit|character)/i, () => "校验位不符，可能有字符输错"],
  [/not a real birth date|birth date .* is not plausible/i, () => "出生日期不正确"],
  [/service and hotline numbers are not accepted/i, () => "不接受 400、800、95 等服务热线号码，请填写本人手机号或带区号的固定电话"],
  [/only mainland China numbers/i, () => "只接受中国大陆的手机号或固定电话"],
  [/(not a valid number \(wrong length or prefix\)|not a phone number|may contain only digits|^required: .*phone)/i,
    () => "不是有效的电话号码：请填写 11 位手机号，或带区号的固定电话（如 0575-87012345）"],
  [/not a number: write|Input should be a valid (number|decimal)|expected a number/i, () => "应为数字（不带逗号和货币符号）"],
  [/must not be negative|greater than or equal to 0\b/i, () => "不能为负数"],
  [/must be at most ([\d.]+) yuan|less than or equal to ([\d.]+)/i, (a, b) => `不能超过 ${a || b} 元`],
  [/two decimal places|no more than 2 decimal places/i, () => "最多两位小数"],
  [/lies in the future|in the future/i, () => "不能晚于今天"],
  [/Input should be a valid date|a date YYYY-MM-DD/i, () => "应为日期（年-月-日）"],
  [/on or before 'to'/i, () => "开始日期不能晚于结束日期"],
  [/division code (\d+) is unknown or not served/i, (code) => `区划代码 ${code} 不存在或不在本平台服务范围`],
  [/a unit in your subtree/i, () => "只能选择本单位或下级单位"],
  [/unknown value '([^']*)'; allowed|Input should be '/i, () => "不是允许的取值"],
  [/unknown (code|category)/i, () => "不是已知的类别"],
  [/List should have at most (\d+) items?/i, (n) => `至多 ${n} 项`],
  [/not a usable template: '(\w+)' is undefined/i, (name) => `「{{ ${name} }}」不是本模板可用的占位符`],
  [/not a usable template/i, () => "模板写法有误：请检查 {{ }} 是否成对、占位符是否拼写正确"],
  [/^1 to (\d+) characters$/i, (n) => `应为 1 至 ${n} 个字符`],
  [/^unknown field; remove it$/i, () => "未知字段"],
  [/^the body is not valid JSON$/i, () => "请求内容不是有效的 JSON"],
  [/say why the request is declined/i, () => "请说明理由（会告知请求单位）"],
  [/larger than (\d+) bytes/i, () => "文件超过 10 MB"],
  [/file '(.*)' is empty/i, (name) => `文件「${name}」是空的`],
  [/^wrong username or password$/i, () => "用户名或密码错误"],
  [/too many failed logins .*try again in (\d+) seconds/i, (n) => `登录失败次数过多，请 ${n} 秒后再试`],
  [/the token is missing, invalid, expired or revoked/i, () => "登录已失效，请重新登录"],
];

export function errorMessage(message: string): string {
  for (const [pattern, render] of PATTERNS) {
    const match = pattern.exec(message.trim());
    if (match) return render(...match.slice(1).map((group) => group ?? ""));
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
