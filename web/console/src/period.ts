// The period a dashboard's figures cover: a named one (this month, last month, ...) computed from
// today's date in China, or a custom range; kept in the route's query (period, from, to).

export const PERIODS = {
  all: "全部时间",
  month: "本月",
  last_month: "上月",
  quarter: "本季度",
  year: "本年",
  custom: "自定义",
} as const;

export type PeriodCode = keyof typeof PERIODS;

export interface Period {
  code: PeriodCode;
  from?: string;
  to?: string;
}

const iso = (y: number, m: number, d: number) => `${y}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
const lastDay = (y: number, m: number) => new Date(y, m, 0).getDate();

/** Today's date in China (the figures count days in China time). */
function today(): { y: number; m: number } {
  const [y, m] = new Date().toLocaleDateString("sv-SE", { timeZone: "Asia/Shanghai" }).split("-").map(Number);
  return { y, m };
}

/** The period asked for by a route's query; a custom one without both dates counts as all time. */
export function periodOf(query: Record<string, unknown>): Period {
  const code = String(query.period ?? "all") as PeriodCode;
  const { y, m } = today();
  switch (code) {
    case "month":
      return { code, from: iso(y, m, 1), to: iso(y, m, lastDay(y, m)) };
    case "last_month": {
      const [py, pm] = m === 1 ? [y - 1, 12] : [y, m - 1];
      return { code, from: iso(py, pm, 1), to: iso(py, pm, lastDay(py, pm)) };
    }
    case "quarter": {
      const first = m - ((m - 1) % 3);
      return { code, from: iso(y, first, 1), to: iso(y, first + 2, lastDay(y, first + 2)) };
    }
    case "year":
      return { code, from: iso(y, 1, 1), to: iso(y, 12, 31) };
    case "custom":
      if (typeof query.from === "string" && typeof query.to === "string") return { code, from: query.from, to: query.to };
  }
  return { code: "all" };
}
