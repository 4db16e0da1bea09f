// Who is logged in, their unit, the reference lists and the unread count, shared by every view.
import { reactive, watch } from "vue";
import { UNIT_NAMES } from "./labels";
import { api, type Category, type Ground, type Inbox, type Me, type RequestKind, type Unit } from "./api";

export const session = reactive({
  me: null as Me | null,
  unit: null as Unit | null,
  categories: {} as Record<string, string>,
  grounds: [] as Ground[],
  requests: [] as RequestKind[],
  unread: 0,
});

export async function loadSession(): Promise<void> {
  const [me, categories, grounds, requests] = await Promise.all([
    api<Me>("/auth/me"),
    api<Category[]>("/reference/categories"),
    api<Ground[]>("/reference/refusal-grounds"),
    api<RequestKind[]>("/reference/requests"),
  ]);
  session.unit = await api<Unit>(`/tenants/${encodeURIComponent(me.tenant)}`).catch(() => null);
  session.categories = Object.fromEntries(categories.map((c) => [c.code, c.name_zh]));
  session.grounds = grounds;
  session.requests = requests;
  session.me = me;
  await refreshUnread();
}

/** Learn the Chinese names of `codes` not known yet, each from the tenants API once (a unit the
 * caller may not read keeps its code). */
export async function learnUnitNames(codes: Iterable<string | null | undefined>): Promise<void> {
  const unknown = [...new Set(codes)].filter((code): code is string => !!code && !(code in UNIT_NAMES));
  await Promise.all(
    unknown.map(async (code) => {
      const unit = await api<Unit>(`/tenants/${encodeURIComponent(code)}`).catch(() => null);
      if (unit?.name) UNIT_NAMES[code] = unit.name;
    }),
  );
}

export function resetSession(): void {
  session.me = null;
  session.unit = null;
  session.unread = 0;
}

export async function refreshUnread(): Promise<void> {
  const inbox = await api<Inbox>("/inbox", { query: { unread_only: true, limit: 1 } });
  session.unread = inbox.unread;
}

export function hasRole(...roles: string[]): boolean {
  return !!session.me && session.me.roles.some((role) => roles.includes(role));
}

// ---- drafts: what a person typed survives a re-login (and a reload) in this tab --------------

const DRAFT_PREFIX = "console.draft.";

/** A reactive form whose content is kept in sessionStorage under `key` until `clear()`. */
export function useDraft<T extends object>(key: string, initial: () => T): { form: T; clear: () => void } {
  const storageKey = DRAFT_PREFIX + key;
  const saved = sessionStorage.getItem(storageKey);
  const form = reactive({ ...initial(), ...(saved ? (JSON.parse(saved) as Partial<T>) : {}) }) as T;
  watch(form, (value) => sessionStorage.setItem(storageKey, JSON.stringify(value)), { deep: true });
  return {
    form,
    clear() {
      Object.assign(form, initial());
      sessionStorage.removeItem(storageKey);
    },
  };
}

/** A deliberate logout takes the drafts with it; an expired session keeps them. */
export function dropDrafts(): void {
  for (const key of Object.keys(sessionStorage)) if (key.startsWith(DRAFT_PREFIX)) sessionStorage.removeItem(key);
}
