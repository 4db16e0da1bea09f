// The case actions the server may allow the caller (allowed_actions), by their button text.

export const ACTIONS = {
  accept: "受理",
  refuse: "不予受理",
  return: "退回分派",
  contest: "提出管辖异议",
  decide_authority: "确定管辖",
  escalate: "上交上级",
  request_takeover: "请求提级办理",
  take_over: "提级办理",
  decline_takeover: "不同意提级",
  decline: "拒绝接收",
  hand_to_agency: "移送有关部门",
  take_back: "收回移送",
  resend: "重新发送",
  told_otherwise: "已另行告知",
} as const;
