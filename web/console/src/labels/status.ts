// A case's status as it follows the case everywhere (intake's status, with mediation's states).

export const STATUS = {
  draft: "待补全",
  received: "已收到",
  routed: "已分派",
  settle_first: "先行和解中",
  settled: "已和解",
  accepted: "已受理",
  refused: "不予受理",
  mediating: "调解中",
  agreed: "已达成协议",
  failed: "调解不成",
  terminated: "已终止调解",
  escalated: "已上交",
  closed: "已办结",
  duplicate: "重复投诉",
  report_received: "举报已登记",
} as const;

/** Tag colour (Element Plus type) per status. */
export const STATUS_TYPE: Readonly<Record<string, "primary" | "success" | "warning" | "danger" | "info">> = {
  draft: "info",
  received: "info",
  routed: "primary",
  settle_first: "warning",
  settled: "success",
  accepted: "primary",
  refused: "danger",
  mediating: "warning",
  agreed: "success",
  failed: "danger",
  terminated: "danger",
  escalated: "warning",
  closed: "success",
  duplicate: "info",
  report_received: "info",
};
