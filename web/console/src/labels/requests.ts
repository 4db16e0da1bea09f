// What the complainant asks for (requests).

export const REQUESTS = {
  refund: "退款",
  exchange: "换货",
  repair: "维修",
  compensation: "赔偿",
  apology: "赔礼道歉",
} as const;
