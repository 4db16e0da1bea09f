// Tiers of the units and how a unit is named on screen: by its Chinese name, never its division code.
import { reactive } from "vue";

export const TIERS = {
  city: "市级",
  township: "镇街级",
  village: "村社级",
  agency: "有关部门",
} as const;

/** Names of units by code, from a summary's `names` or looked up through the tenants API
 * (session.learnUnitNames): a report or an order may carry a unit's code with no name. */
export const UNIT_NAMES = reactive<Record<string, string>>({});

/** A unit's Chinese name: the one it came with, else the looked-up one, else (unknown unit) its code. */
export function unitName(unit: { code: string; name?: string | null } | string | null | undefined): string {
  if (!unit) return "—";
  const { code, name } = typeof unit === "string" ? { code: unit, name: null } : unit;
  return name && name !== code ? name : (UNIT_NAMES[code] ?? code);
}
