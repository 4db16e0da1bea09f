// Facts of a case: abuse signs, relations to other cases, new facts, escalation triggers, the
// documents intake issues.

export const FLAGS = {
  shared_phone: "多人共用同一电话",
  shared_address: "多人共用同一地址",
  frequent_against_business: "短期内针对同一经营者的投诉较多",
  frequent_complainant: "同一投诉人短期内投诉较多",
  mass_near_identical: "大量内容雷同的投诉",
} as const;

export const RELATIONS = {
  earlier_case: "此前的投诉（本案以新事实再次投诉）",
  later_case: "之后以新事实再次投诉",
  report: "举报部分",
  complaint: "投诉部分",
  duplicate: "重复投诉",
  duplicate_of: "原案",
} as const;

export const NEW_FACTS = {
  new_evidence: "新证据",
  new_damage: "新的损失",
  new_claim: "新的诉求",
  new_incident: "新的事件",
} as const;

export const ESCALATION_TRIGGERS = {
  tier_target_expired: "本级办理时限届满",
  mediation_failed: "调解不成",
  party_request: "当事人请求",
  staff_request: "工作人员提请",
  reclassified: "重新定性后需上级办理",
  take_over: "上级提级办理",
} as const;

export const DOCUMENTS = {
  acceptance_notice: "受理告知书",
  refusal_notice: "不予受理告知书",
  minutes: "调解笔录",
  agreement: "调解协议书",
  termination: "终止调解告知书",
  judicial_application: "司法确认申请书",
} as const;

export const LIGHT_FILTER = {
  red: "红灯",
  yellow: "黄灯",
  green: "绿灯",
} as const;

// what an agency answers on a case handed to it (common/reference.py AGENCY_OUTCOMES)
export const AGENCY_OUTCOMES = {
  handled: "已依职责处理",
  mediated: "已调解化解",
  case_filed: "已立案",
  penalized: "已依法处罚",
  not_established: "经查不属实",
  referred: "已转有关部门",
  other: "其他",
} as const;

// where a case handed to an agency stands (routing's handover state)
export const AGENCY_HANDOVER_STATES = {
  pending: "待签收",
  acknowledged: "已签收",
  answered: "已答复",
  handed_back: "已退回",
  lapsed: "逾期未签收",
} as const;
