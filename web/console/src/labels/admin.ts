// Administration: roles, agency types, the audit trail's actions and the settings' names.

export const ROLES = {
  intake_clerk: "登记受理员",
  mediator: "调解员",
  supervisor: "主管（督办）",
  tenant_admin: "单位管理员",
  agency_liaison: "部门联络员",
  ops: "运维",
  platform_admin: "平台管理员",
} as const;

/** Roles a unit account may hold; an agency account holds only these two. */
export const UNIT_ROLES = ["intake_clerk", "mediator", "supervisor", "tenant_admin"] as const;
export const AGENCY_ROLES = ["agency_liaison", "tenant_admin"] as const;

export const AGENCY_TYPES = {
  police: "公安",
  court: "人民法院",
  procuratorate: "人民检察院",
  petition: "信访",
  labour_arbitration: "劳动人事争议仲裁",
  market_regulation: "市场监管",
  consumer_association: "消费者协会",
} as const;

export const AUDIT_ACTIONS = {
  onboard: "接入",
  offboard: "撤销",
  rename: "更名",
  reassign: "案件移交上级单位",
  settings: "修改设置",
  notification_settings: "修改通知设置",
  notification_templates: "修改短信模板",
  user_created: "新建账号",
  user_changed: "修改账号",
  password_set: "重置密码",
  api_key_created: "签发接口密钥",
  api_key_rotated: "轮换接口密钥",
  api_key_revoked: "吊销接口密钥",
} as const;

export const TIME_TARGETS = {
  village: "村社级办理时限（工作日）",
  township: "镇街级办理时限（工作日）",
  city: "市级办理时限（工作日）",
} as const;

export const USER_STATE = { true: "已停用", false: "正常" } as const;
