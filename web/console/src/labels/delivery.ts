// A message's delivery state.

export const DELIVERY = {
  queued: "待发送",
  sent: "已发送",
  delivered: "已送达",
  failed: "发送失败",
} as const;

export const DELIVERY_TYPE: Readonly<Record<string, "primary" | "success" | "warning" | "danger" | "info">> = {
  queued: "info",
  sent: "primary",
  delivered: "success",
  failed: "danger",
};
