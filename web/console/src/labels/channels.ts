// How a complaint came in, and how a message goes out.

export const CHANNELS = {
  web: "网上投诉",
  hotline: "热线电话",
  walk_in: "来访登记",
  email: "电子邮件",
  agency: "部门移送",
} as const;

export const MESSAGE_CHANNELS = {
  sms: "短信",
  email: "电子邮件",
  inbox: "站内消息",
  letter: "书面送达",
  phone: "电话告知",
  in_person: "当面告知",
  wechat: "微信",
  // to an agency: its web endpoint, or its docking queue on the broker (notification's rules.py)
  webhook: "接口推送",
  amqp: "消息队列推送",
} as const;

/** How a party was told when a message failed (told-otherwise). */
export const HOW_TOLD = {
  phone: "电话告知",
  in_person: "当面告知",
  sms_other: "其他号码短信告知",
  letter: "书面送达",
  other: "其他方式",
} as const;
