// The steps of a case's history. `notified:<template>` steps read as 已通知：<template's label>.
import { TEMPLATES } from "./templates";

export const HISTORY_STEPS = {
  received: "收到投诉",
  completed: "补全登记",
  routed: "分派至责任单位",
  reassigned: "移交其他单位",
  escalated: "上交上级单位",
  taken_over: "上级提级办理",
  takeover_requested: "请求上级提级办理",
  takeover_declined: "上级不同意提级办理",
  returned: "退回分派",
  contested: "提出管辖异议",
  authority_decided: "确定管辖单位",
  handed_to_agency: "移送有关部门",
  taken_back: "收回移送",
  agency_acknowledged: "有关部门已签收",
  accepted: "受理",
  refused: "不予受理",
  duplicate: "重复投诉并入原案",
  duplicate_filed: "收到重复投诉",
  evidence_added: "补充证据",
  flagged: "标记异常",
  split: "举报内容另行登记",
  new_facts: "关联此前投诉",
  new_facts_filed: "以新事实再次投诉",
  mediating: "进入调解",
  agreed: "达成调解协议",
  failed: "调解不成",
  terminated: "终止调解",
  closed: "办结",
} as const;

export function historyStep(step: string): string {
  if (step.startsWith("notified:")) {
    const template = step.slice("notified:".length);
    return `已通知：${TEMPLATES[template as keyof typeof TEMPLATES] ?? `未知（${template}）`}`;
  }
  const known = (HISTORY_STEPS as Record<string, string>)[step];
  return known ?? `未知（${step}）`;
}
