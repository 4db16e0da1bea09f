// Every Chinese word the console shows for an API code comes from this folder, one file per area.
// `label` never shows a bare English code: an unknown one reads 未知（code）so it is noticed and
// added here, without hiding what the API said.

export type Labels = Readonly<Record<string, string>>;

export function label(labels: Labels, code: string | null | undefined): string {
  if (code === null || code === undefined || code === "") return "—";
  return labels[code] ?? `未知（${code}）`;
}

/** Options for a select, in the map's order. */
export function options(labels: Labels): { value: string; label: string }[] {
  return Object.entries(labels).map(([value, text]) => ({ value, label: text }));
}

export * from "./status";
export * from "./history";
export * from "./templates";
export * from "./channels";
export * from "./delivery";
export * from "./clocks";
export * from "./errors";
export * from "./fields";
export * from "./actions";
export * from "./units";
export * from "./requests";
export * from "./cases";
export * from "./supervision";
export * from "./admin";
