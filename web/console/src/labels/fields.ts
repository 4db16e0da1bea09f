// The API's field names, as a person calls them (errors name the field in these words).

export const FIELDS = {
  channel: "登记渠道",
  "complainant.name": "投诉人姓名",
  "complainant.phone": "投诉人电话",
  "complainant.id_number": "身份证号",
  "complainant.address": "投诉人地址",
  "complainant.email": "电子邮箱",
  "complainant.division_code": "投诉人所在地",
  "business.name": "经营者名称",
  "business.credit_code": "统一社会信用代码",
  "business.division_code": "经营者所在地",
  "business.address": "经营者地址",
  "business.platform": "电商平台",
  "business.shop_name": "网店名称",
  incident_division_code: "事发地",
  category: "投诉类别",
  summary: "投诉内容",
  product: "商品或服务",
  occurred_on: "消费日期",
  requests: "诉求",
  request_details: "诉求说明",
  claim_amount: "涉及金额",
  ground: "不予受理依据",
  reason: "理由",
  other_routes: "其他救济途径",
  trigger: "上交原因",
  files: "证据文件",
  username: "用户名",
  password: "密码",
  refresh_token: "登录凭证",
  note: "说明",
  unit: "单位",
  agency: "有关部门",
  message: "内容",
} as const;

export function fieldLabel(field: string): string {
  const known = (FIELDS as Record<string, string>)[field];
  if (known) return known;
  // files[0], requests[2]: the list's name and the item's number
  const item = /^(.+)\[(\d+)\]$/.exec(field);
  if (item) return `${fieldLabel(item[1])}第 ${Number(item[2]) + 1} 项`;
  return field;
}
