// Tiers of the units and how a unit is named on screen.

export const TIERS = {
  city: "市级",
  township: "镇街级",
  village: "村社级",
  agency: "有关部门",
} as const;

export function unitName(unit: { code: string; name: string } | null | undefined): string {
  return unit ? `${unit.name}（${unit.code}）` : "—";
}
