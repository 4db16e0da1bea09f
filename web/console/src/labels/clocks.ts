// Clocks (time limits) and their lights.

export const CLOCK_KINDS = {
  acknowledgement: "告知时限",
  acceptance: "受理时限",
  mediation: "调解时限",
  mediation_end_notice: "调解终止告知",
  tier_target: "层级办理时限",
  agency_handover_ack: "部门接收确认",
  authority_dispute: "管辖争议",
  lead_verification: "线索核查",
  supervision: "督办时限",
} as const;

/** Reporting's on-time figures (common/reference.py REPORTED_CLOCKS), keyed as /reports/summary's on_time. */
export const ON_TIME_FIGURES = {
  acknowledgement: "告知时限",
  acceptance: "受理时限",
  mediation: "调解时限",
  end_notice: "调解终止告知",
  tier_target: "层级办理时限",
} as const;

export const COLOURS = { green: "绿灯", yellow: "黄灯", red: "红灯" } as const;

/** Time left as 2天3小时 / 4小时5分; overdue, paused and stopped clocks say so. */
export function duration(seconds: number): string {
  const left = Math.abs(seconds);
  const days = Math.floor(left / 86400);
  const hours = Math.floor((left % 86400) / 3600);
  const minutes = Math.floor((left % 3600) / 60);
  return days ? `${days}天${hours}小时` : `${hours}小时${minutes}分`;
}

/** How long ago a deadline passed, in days and hours of the calendar: 已超期 2 天 3 小时. */
export function overdueBy(deadline: string, now: number = Date.now()): string {
  const hours = Math.max(0, Math.floor((now - new Date(deadline).getTime()) / 3_600_000));
  return `已超期 ${Math.floor(hours / 24)} 天 ${hours % 24} 小时`;
}

export function timeLeft(clock: {
  deadline?: string;
  remaining_seconds: number;
  paused?: boolean;
  stopped_at?: string | null;
  met?: boolean | null;
}): string {
  if (clock.stopped_at) return clock.met ? "已停止（按时）" : "已停止（超时）";
  // past its deadline, a clock's working time overdue stands still over a night or a weekend
  // ("已超时 0小时0分" at 8 in the evening of the day it fell due), so say since when it is late, in
  // the calendar's days and hours
  let text: string;
  if (clock.remaining_seconds >= 0) text = duration(clock.remaining_seconds);
  else text = clock.deadline ? overdueBy(clock.deadline) : `已超时 ${duration(clock.remaining_seconds)}`;
  return clock.paused ? `${text}（暂停）` : text;
}
