// The one way the console talks to the gateway: the bearer token on every call, the access token
// renewed with the refresh token before it runs out (and once more on a 401), and every non-2xx
// answer turned into an ApiError carrying the API's code, message and the fields it names.
// The console decides nothing itself: what a caller may see and do is what these calls answer.

const BASE = "/api/v1";
const KEYS = {
  access: "console.access_token",
  refresh: "console.refresh_token",
  expires: "console.access_expires_at", // epoch ms
} as const;
const RENEW_MARGIN_MS = 60_000; // renew a minute before the access token runs out

export interface FieldError {
  field: string;
  message: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: FieldError[];

  constructor(status: number, code: string, message: string, fields: FieldError[] = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields;
  }

  /** The first field the API named, if any. */
  get field(): string | undefined {
    return this.fields[0]?.field;
  }
}

/** The session ended (refresh refused or absent): the app shows the login and comes back here. */
export class SessionExpired extends ApiError {}

export interface TokenPair {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token: string;
  refresh_expires_in: number;
  tenant: string;
  roles: string[];
}

type Listener = () => void;
const expiredListeners: Listener[] = [];

/** Called when the session cannot be renewed (the router then shows the login form). */
export function onSessionExpired(listener: Listener): void {
  expiredListeners.push(listener);
}

export function loggedIn(): boolean {
  return sessionStorage.getItem(KEYS.refresh) !== null || sessionStorage.getItem(KEYS.access) !== null;
}

function store(pair: TokenPair): void {
  sessionStorage.setItem(KEYS.access, pair.access_token);
  sessionStorage.setItem(KEYS.refresh, pair.refresh_token);
  sessionStorage.setItem(KEYS.expires, String(Date.now() + pair.expires_in * 1000));
  scheduleRenewal();
}

export function clearSession(): void {
  for (const key of Object.values(KEYS)) sessionStorage.removeItem(key);
  if (renewTimer !== undefined) clearTimeout(renewTimer);
}

// A refresh token is single use and presenting a used one revokes the whole session, so at most
// one renewal is under way at a time; every caller waits for the same one.
let renewal: Promise<boolean> | null = null;
let renewTimer: ReturnType<typeof setTimeout> | undefined;

function scheduleRenewal(): void {
  if (renewTimer !== undefined) clearTimeout(renewTimer);
  const expires = Number(sessionStorage.getItem(KEYS.expires) ?? 0);
  if (!expires) return;
  const wait = Math.max(expires - Date.now() - RENEW_MARGIN_MS, 1_000);
  renewTimer = setTimeout(() => void renew(), wait);
}

/** Exchange the refresh token for a new pair; false when the session cannot go on. */
export function renew(): Promise<boolean> {
  if (renewal) return renewal;
  const refreshToken = sessionStorage.getItem(KEYS.refresh);
  if (!refreshToken) return Promise.resolve(false);
  renewal = (async () => {
    try {
      const response = await fetch(`${BASE}/auth/refresh`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: refreshToken }),
      });
      if (!response.ok) {
        // a network failure would throw instead: the session is kept then and the call fails
        clearSession();
        return false;
      }
      store((await response.json()) as TokenPair);
      return true;
    } finally {
      renewal = null;
    }
  })();
  return renewal;
}

function expired(message: string): SessionExpired {
  clearSession();
  for (const listener of expiredListeners) listener();
  return new SessionExpired(401, "session_expired", message);
}

export interface RequestOptions {
  method?: string;
  json?: unknown;
  form?: Record<string, string> | URLSearchParams;
  body?: FormData;
  query?: Record<string, QueryValue>;
  /** Answer the raw Blob (documents, evidence files) instead of JSON. */
  blob?: boolean;
}

type QueryValue = string | number | boolean | null | undefined | (string | number)[];

export function queryString(query: Record<string, QueryValue> = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === null || value === undefined || value === "") continue;
    if (Array.isArray(value)) for (const item of value) params.append(key, String(item));
    else params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

async function send(path: string, options: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = {};
  const token = sessionStorage.getItem(KEYS.access);
  if (token) headers.Authorization = `Bearer ${token}`;
  let body: BodyInit | undefined;
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.json);
  } else if (options.form) {
    body = options.form instanceof URLSearchParams ? options.form : new URLSearchParams(options.form);
  } else if (options.body) {
    body = options.body;
  }
  return fetch(`${BASE}${path}${queryString(options.query)}`, { method: options.method ?? "GET", headers, body });
}

async function failure(response: Response): Promise<ApiError> {
  const data = (await response.json().catch(() => null)) as {
    error?: string;
    message?: string;
    fields?: FieldError[];
  } | null;
  return new ApiError(
    response.status,
    data?.error ?? `http_${response.status}`,
    data?.message ?? `HTTP ${response.status}`,
    data?.fields ?? [],
  );
}

/** Send a call with the session's token: renewed when it is about to run out, and once on a 401. */
async function call(path: string, options: RequestOptions): Promise<Response> {
  const hadSession = loggedIn();
  const expires = Number(sessionStorage.getItem(KEYS.expires) ?? 0);
  if (hadSession && expires && expires - Date.now() < RENEW_MARGIN_MS) await renew();
  let response = await send(path, options);
  if (response.status === 401 && hadSession) {
    if (!(await renew())) throw expired("登录已过期，请重新登录");
    response = await send(path, options);
    if (response.status === 401) throw expired("登录已失效，请重新登录");
  }
  if (!response.ok) throw await failure(response);
  return response;
}

/** Call the API and read its JSON answer (or the Blob with `blob`). */
export async function api<T = unknown>(path: string, options: RequestOptions = {}): Promise<T> {
  const response = await call(path, options);
  if (options.blob) return (await response.blob()) as T;
  if (response.status === 204) return null as T;
  return (await response.json()) as T;
}

/** A list endpoint's page: its rows and, from X-Total-Count, how many match on every page. */
export async function apiPage<T>(path: string, options: RequestOptions = {}): Promise<Page<T>> {
  const response = await call(path, options);
  const items = (await response.json()) as T[];
  const total = Number(response.headers.get("X-Total-Count") ?? items.length);
  return { items, total: Number.isFinite(total) ? total : items.length };
}

export async function logIn(username: string, password: string): Promise<TokenPair> {
  const response = await fetch(`${BASE}/auth/token`, {
    method: "POST",
    body: new URLSearchParams({ username, password }),
  });
  if (!response.ok) throw await failure(response);
  const pair = (await response.json()) as TokenPair;
  store(pair);
  return pair;
}

export async function logOut(): Promise<void> {
  const refreshToken = sessionStorage.getItem(KEYS.refresh);
  clearSession();
  if (refreshToken) {
    await fetch(`${BASE}/auth/logout`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: refreshToken }),
    }).catch(() => undefined);
  }
}

// a reload keeps the session (sessionStorage): renew on time again
if (loggedIn()) scheduleRenewal();

// ---- shapes the console reads (the API's own field names and codes; /work CONSOLE_API) ---------

export interface Me {
  username: string;
  tenant: string;
  roles: string[];
  kind: string;
}

export interface Unit {
  code: string;
  name: string;
  tier?: string;
}

export type Colour = "green" | "yellow" | "red";

export interface Clock {
  kind: string;
  unit?: Unit | null;
  deadline: string;
  remaining_seconds: number;
  colour: Colour;
  paused?: boolean;
  stopped_at?: string | null;
  met?: boolean | null;
  handler?: string | null;
  complaint_id?: string;
  tracking_no?: string;
  service?: string;
}

export interface HistoryEntry {
  at: string;
  code?: string;
  params?: Record<string, unknown>;
  step: string;
  detail?: Record<string, unknown> | string | null;
}

export interface Person {
  name?: string;
  phone?: string;
  id_number?: string;
  address?: string;
  email?: string;
}

export interface Business {
  name?: string;
  credit_code?: string | null;
  address?: string | null;
  division_code?: string | null;
  platform_shop?: boolean | null;
  platform?: string | null;
  shop_name?: string | null;
}

export interface Decision {
  decision: string;
  at?: string;
  by?: string;
  unit?: string;
  ground?: string;
  ground_label?: string;
  reason?: string;
  other_routes?: string;
}

export interface EvidenceFile {
  id: string;
  filename?: string;
  mime_type?: string;
  size?: number;
  sha256?: string;
  source?: string;
  uploaded_at?: string;
}

export interface Flag {
  code: string;
  label_zh?: string;
  explanation?: string;
}

export interface CaseRef {
  id: string;
  tracking_no: string;
  status?: string;
  received_at?: string;
  relation?: string;
}

export interface Responsibility {
  unit?: Unit | null;
  rule?: string;
  explanation_zh?: string;
  since?: string;
}

export interface Handover {
  from?: string;
  to?: string;
  [key: string]: unknown;
}

export interface RoutingView {
  state?: string;
  handovers?: Handover[];
  seen_as?: string;
  [key: string]: unknown;
}

export interface CaseDocument {
  code: string;
  label_zh?: string;
  path: string;
}

export interface CaseSummary {
  id: string;
  tracking_no: string;
  status: string;
  kind?: string;
  category?: string | null;
  channel?: string | null;
  responsible_unit?: Unit | null;
  received_at: string;
  complainant?: Person | null;
  business?: Business | null;
  claim_amount?: string | number | null;
  read_only?: boolean;
  escalated?: boolean;
  mediation_state?: string | null;
  flags?: Flag[];
  light?: Colour | null;
  nearest_clock?: Clock | null;
}

export interface CaseDetail extends CaseSummary {
  summary?: string;
  requests?: string[];
  details?: Record<string, unknown> | null;
  product?: string | null;
  occurred_on?: string | null;
  decision?: Decision | null;
  history: HistoryEntry[];
  clocks: Clock[];
  clocks_unavailable?: string[];
  evidence?: EvidenceFile[];
  duplicates?: CaseRef[];
  duplicate_of_case?: CaseRef | null;
  related?: CaseRef[];
  responsibility?: Responsibility | null;
  routing?: RoutingView | null;
  routing_unavailable?: boolean;
  allowed_actions?: string[];
  documents?: CaseDocument[];
}

export interface Page<T> {
  items: T[];
  total: number;
}

export interface Message {
  id: string;
  template: string;
  channel: string;
  recipient_role?: string;
  state: string;
  failed?: boolean;
  reason?: string | null;
  attempts?: number;
  created_at: string;
  sent_at?: string | null;
  delivered_at?: string | null;
  failed_at?: string | null;
  resent_as?: string | null;
  resent_from?: string | null;
  told_otherwise?: { how: string; note: string; by?: string; at?: string } | null;
  allowed_actions?: string[];
}

export interface InboxItem {
  id: string;
  template: string;
  subject?: string;
  body?: string;
  complaint_id?: string | null;
  time_critical?: boolean;
  created_at: string;
  read_at?: string | null;
}

export interface Inbox {
  unread: number;
  items: InboxItem[];
}

export interface Category {
  code: string;
  name_zh: string;
  [key: string]: unknown;
}

export interface Ground {
  code: string;
  label_zh: string;
  other_routes_zh?: string;
}

export interface RequestKind {
  code: string;
  label_zh: string;
}

export interface UnitRef {
  code: string;
  name: string;
  tier: string;
}

/** A supervision order (督办) as routing answers it, with what the caller may do on it now. */
export interface SupervisionOrder {
  id: string;
  complaint_id: string;
  from_unit: UnitRef;
  sent_by: string;
  to_unit: UnitRef;
  instruction: string;
  state: string;
  sent_at: string;
  working_days: number;
  deadline: string;
  clock: Clock;
  overdue: boolean;
  overdue_at: string | null;
  answer: string | null;
  attachments: string[];
  answered_at: string | null;
  answered_by: string | null;
  return_reason: string | null;
  closed_at: string | null;
  history: { step: string; unit: string; detail: Record<string, unknown>; actor: string; at: string }[];
  allowed_actions: string[];
}
