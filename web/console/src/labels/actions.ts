// The case actions the server may allow the caller (allowed_actions), by their button text.

export const ACTIONS = {
  accept: "受理",
  refuse: "不予受理",
  return: "退回重新分派",
  contest: "提出管辖异议",
  decide_authority: "指定管辖",
  escalate: "上交上级",
  request_takeover: "提请上级提级",
  take_over: "提级办理",
  decline_takeover: "不予提级",
  handover_accept: "接收移交",
  handover_acknowledge: "签收",
  agency_answer: "答复",
  agency_hand_back: "退回",
  reclassify: "重新定性",
  complete_draft: "补全登记",
  add_evidence: "上传证据",
  supervise: "督办",
} as const;

export const MESSAGE_ACTIONS = {
  resend: "重新发送",
  told_otherwise: "已以其他方式告知",
} as const;
