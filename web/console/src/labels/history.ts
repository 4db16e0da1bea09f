// A case's history: each row's `code` as a step name, and its `params` as a readable line.
import { CHANNELS, HOW_TOLD, MESSAGE_CHANNELS } from "./channels";
import { DELIVERY } from "./delivery";
import { STATUS } from "./status";
import { TEMPLATES } from "./templates";
import { AGENCY_OUTCOMES, ESCALATION_TRIGGERS, FLAGS, NEW_FACTS } from "./cases";
import { REQUESTS } from "./requests";

export const HISTORY_STEPS = {
  received: "收到投诉",
  completed: "补全登记",
  split: "举报内容另行登记",
  duplicate: "与已有投诉重复，并入原投诉办理",
  duplicate_filed: "收到重复投诉",
  new_facts: "关联此前投诉（有新事实）",
  new_facts_filed: "以新事实另行投诉",
  flagged: "异常投诉提示",
  routed: "分派责任单位",
  accepted: "受理",
  refused: "不予受理",
  evidence_added: "补充证据",
  reassigned: "移交",
  escalated: "上交上级单位",
  notified: "已通知",
  status_changed: "案件状态变更",
  message_resent: "重发失败消息",
  message_told_otherwise: "已以其他方式告知",
  handover_requested: "请求移交",
  handover_accepted: "接收移交",
  returned: "退回重新分派",
  contested: "提出管辖异议",
  contest_expired: "管辖异议期满",
  authority_decided: "指定管辖",
  agency_handover_requested: "移送对接部门",
  agency_acknowledged: "对接部门已签收",
  agency_handover_lapsed: "对接部门逾期未签收",
  agency_answered: "对接部门已答复",
  agency_handed_back: "对接部门退回，由本单位继续办理",
  takeover_requested: "提请上级提级办理",
  takeover_declined: "上级不予提级",
  reclassified: "重新定性",
  ended_at_top: "办结并告知救济途径",
  // the settle-first lane (先行和解)
  settle_first_opened: "转经营者先行和解",
  settle_first_offer: "经营者提出和解方案",
  settle_first_rejected: "消费者未接受和解方案，转入受理审查",
  settle_first_expired: "先行和解期限届满，转入受理审查",
  settled: "消费者接受和解方案，已和解",
  settlement_performance: "消费者确认和解履行情况",
  // judicial confirmation (诉调对接)
  judicial_confirmation_applied: "已申请司法确认",
  judicial_confirmed: "法院已确认",
  judicial_refused: "法院不予确认",
} as const;

type Params = Record<string, unknown>;

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function named(labels: Readonly<Record<string, string>>, value: unknown): string {
  const code = text(value);
  return code ? (labels[code] ?? `未知（${code}）`) : "";
}

/** The agency of an agency step: its name as routing recorded it, else its tenant id. */
function agency(p: Params): string {
  return text(((p.inputs ?? {}) as Params).agency_name) || unit(p.agency);
}

/** A unit in a param: {code, name} or a bare division code. */
function unit(value: unknown): string {
  if (value && typeof value === "object" && "name" in value) return String((value as { name: string }).name);
  return text(value);
}

function list(labels: Readonly<Record<string, string>>, value: unknown): string {
  return Array.isArray(value) ? value.map((v) => named(labels, v)).join("、") : "";
}

/** A settle-first offer's terms: remedies, amount, the business's note. */
function offerLine(p: Params): (string | false)[] {
  return [list(REQUESTS, p.remedies), p.amount !== undefined && `${text(p.amount)} 元`, !!p.note && text(p.note)];
}

// each code's line, from its params; what a person typed (reason, note) is shown as typed
const LINES: Record<string, (p: Params) => (string | false)[]> = {
  received: (p) => [p.channel !== undefined && `渠道：${named(CHANNELS, p.channel)}`],
  completed: (p) => [p.by !== undefined && `登记人：${text(p.by)}`],
  split: (p) => [p.report !== undefined && `举报编号：${text(p.report)}`],
  duplicate: (p) => [p.of !== undefined && `原案编号：${text(p.of)}`],
  duplicate_filed: (p) => [p.tracking_no !== undefined && `重复投诉编号：${text(p.tracking_no)}`],
  new_facts: (p) => [p.related_to !== undefined && `此前投诉：${text(p.related_to)}`, !!p.new_facts && `新事实：${list(NEW_FACTS, p.new_facts)}`],
  new_facts_filed: (p) => [p.tracking_no !== undefined && `新投诉编号：${text(p.tracking_no)}`],
  flagged: (p) => [!!p.flags && list(FLAGS, p.flags)],
  routed: (p) => [!!p.unit && `责任单位：${unit(p.unit)}`],
  accepted: (p) => [!!p.by && `经办人：${text(p.by)}`],
  refused: (p) => [!!p.reason && `理由：${text(p.reason)}`, !!p.other_routes && `其他途径：${text(p.other_routes)}`],
  evidence_added: (p) => [Array.isArray(p.files) && `文件：${(p.files as string[]).join("、")}`],
  reassigned: (p) => [`${unit(p.from)} → ${unit(p.to)}`, !!p.reason && `理由：${text(p.reason)}`],
  escalated: (p) => [
    `${unit(p.from)} → ${unit(p.to)}`,
    !!p.trigger && `原因：${named(ESCALATION_TRIGGERS, p.trigger)}`,
    !!p.reason && `说明：${text(p.reason)}`,
  ],
  notified: (p) => [
    named(TEMPLATES, p.template),
    !!p.channel && named(MESSAGE_CHANNELS, p.channel),
    !!p.state && named(DELIVERY, p.state),
  ],
  status_changed: (p) => [`${named(STATUS, p.from)} → ${named(STATUS, p.to)}`],
  message_resent: (p) => [named(TEMPLATES, p.template), !!p.channel && named(MESSAGE_CHANNELS, p.channel)],
  message_told_otherwise: (p) => [named(TEMPLATES, p.template), !!p.how && named(HOW_TOLD, p.how), !!p.note && text(p.note)],
  handover_requested: (p) => [!!p.to && `移交至：${unit(p.to)}`],
  handover_accepted: (p) => [`${unit(p.from)} → ${unit(p.to)}`],
  returned: (p) => [!!p.reason && `理由：${text(p.reason)}`],
  contested: (p) => [!!p.decider && `由${unit(p.decider)}决定`, !!p.reason && `理由：${text(p.reason)}`],
  contest_expired: (p) => [!!p.decider && `决定单位：${unit(p.decider)}`],
  authority_decided: (p) => [!!p.unit && `管辖单位：${unit(p.unit)}`, !!p.reason && `理由：${text(p.reason)}`],
  agency_handover_requested: (p) => [!!p.agency && `部门：${agency(p)}`],
  agency_acknowledged: (p) => [!!p.agency && `部门：${agency(p)}`],
  agency_handover_lapsed: (p) => [!!p.agency && `部门：${agency(p)}`],
  agency_answered: (p) => {
    const said = (p.inputs ?? {}) as Params;
    return [
      `部门：${agency(p)}`,
      !!said.outcome && `结果：${named(AGENCY_OUTCOMES, said.outcome)}`,
      !!said.answer && `答复：${text(said.answer)}`,
    ];
  },
  agency_handed_back: (p) => {
    const said = (p.inputs ?? {}) as Params;
    return [`部门：${agency(p)}`, !!said.reason && `理由：${text(said.reason)}`];
  },
  takeover_requested: (p) => [!!p.to && `请求单位：${unit(p.to)}`, !!p.reason && `理由：${text(p.reason)}`],
  takeover_declined: (p) => [!!p.declined_by && `${unit(p.declined_by)}不同意`, !!p.reason && `理由：${text(p.reason)}`],
  reclassified: (p) => {
    const changed = (p.changed ?? {}) as Params;
    return [
      changed.claim_amount !== undefined && `金额：${text(String(changed.claim_amount))} 元`,
      changed.category !== undefined && "类别已调整",
    ];
  },
  ended_at_top: () => [],
  settle_first_opened: (p) => [!!p.business && `经营者：${text(p.business)}`],
  settle_first_offer: (p) => offerLine(p),
  settled: (p) => offerLine(p),
  settle_first_rejected: (p) => [!!p.comment && `说明：${text(p.comment)}`],
  settlement_performance: (p) => [p.performed === true ? "经营者已履行" : "经营者未履行"],
};

/** A history row as a step name and a line of what it said. Old rows carry only `step`. */
export function historyEntry(entry: { code?: string; step: string; params?: Params }): { title: string; line: string } {
  let code = entry.code ?? entry.step;
  let params = entry.params ?? {};
  if (!entry.code && code.startsWith("notified:")) {
    params = { template: code.slice("notified:".length) };
    code = "notified";
  }
  const title = (HISTORY_STEPS as Record<string, string>)[code] ?? `未知（${code}）`;
  const parts = (LINES[code]?.(params) ?? []).filter((part): part is string => !!part);
  return { title, line: parts.join("；") };
}
