// Supervision orders (督办): their states, steps and the actions the server allows on one.

export const SUPERVISION_STATES = {
  open: "待答复",
  answered: "已答复，待审核",
  returned: "已退回，待重新答复",
  accepted: "已办结",
  withdrawn: "已撤回",
} as const;

export const SUPERVISION_STEPS = {
  ordered: "下达督办",
  answered: "答复",
  returned: "退回重办",
  accepted: "审核通过",
  overdue: "逾期",
  moved: "随案件转交",
  withdrawn: "撤回",
} as const;

export const SUPERVISION_ACTIONS = {
  answer: "答复督办",
  accept: "审核通过",
  return: "退回重办",
} as const;

export const SUPERVISION_BOXES = {
  received: "收到的督办",
  sent: "发出的督办",
  overdue: "逾期督办",
} as const;
