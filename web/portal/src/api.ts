// The one API client of the portal. Every path the portal calls is here, so a change of the contract
// (docs/portal.md lists it) is one edit. A party's token (after an SMS code) lives in sessionStorage
// only: it ends with the tab, and nothing personal ever goes into a URL.

export interface FieldError {
  field: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields: FieldError[] = [],
  ) {
    super(message);
  }
}

export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const TOKEN_KEY = "portal.token";

export const partyToken = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (token: string) => sessionStorage.setItem(TOKEN_KEY, token),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

async function call<T = Json>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  const token = partyToken.get();
  if (token) headers.Authorization = `Bearer ${token}`;
  let payload: BodyInit | undefined;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const response = await fetch(`/api/v1${path}`, { method, headers, body: payload });
  const text = await response.text();
  const data = text ? JSON.parse(text) : {};
  if (!response.ok) {
    const fields = Array.isArray(data.fields) ? data.fields : [];
    throw new ApiError(response.status, data.error ?? String(response.status), data.message ?? "", fields);
  }
  return data as T;
}

const q = encodeURIComponent;

// reference and public look-ups
export const categories = () => call<{ code: string; label: string }[] | Json>("GET", "/reference/categories");
export const servedUnits = (parent?: string) =>
  call<{ code: string; name: string; kind?: string }[]>("GET", `/public/units${parent ? `?parent=${q(parent)}` : ""}`);
export const searchBusinesses = (text: string) =>
  call<{ name: string; credit_code: string | null }[]>("GET", `/public/businesses?q=${q(text)}`);

// filing: evidence goes up first, the complaint names the uploads
export function uploadEvidence(file: File): Promise<{ id: string }> {
  const form = new FormData();
  form.append("file", file);
  return call("POST", "/public/uploads", form);
}
export const fileComplaint = (submission: Json) => call<Json>("POST", "/complaints", submission);

// SMS one-time codes and party sign-in
export type Purpose = "track" | "business" | string;
export const sendCode = (who: { tracking_no?: string; credit_code?: string }, purpose: Purpose) =>
  call<{ sent_to?: string; expires_in?: number }>("POST", "/party/codes", { ...who, purpose });
export const signIn = (who: { tracking_no?: string; credit_code?: string }, code: string) =>
  call<{ token: string }>("POST", "/party/sessions", { ...who, code });

// the complainant's own case, signed in
export const myCase = (trackingNo: string) => call<Json>("GET", `/track/${q(trackingNo)}/detail`);
export const act = (trackingNo: string, action: string, code: string, fields: Json = {}) =>
  call<Json>("POST", `/track/${q(trackingNo)}/actions/${action}`, { code, ...fields });
export const replyOffer = (trackingNo: string, accept: boolean, comment?: string) =>
  call<Json>("POST", `/track/${q(trackingNo)}/settle-first/reply`, { accept, comment });
export const confirmSettlement = (trackingNo: string, performed: boolean) =>
  call<Json>("POST", `/track/${q(trackingNo)}/settle-first/performance`, { performed });

// the business, signed in
export const businessCases = () => call<Json[]>("GET", "/business/cases");
export const settleFirstCases = () => call<Json[]>("GET", "/business/settle-first");
export const businessAct = (trackingNo: string, action: string, code: string, fields: Json = {}) =>
  call<Json>("POST", `/business/cases/${q(trackingNo)}/actions/${action}`, { code, ...fields });
export const makeOffer = (trackingNo: string, offer: Json) =>
  call<Json>("POST", `/business/settle-first/${q(trackingNo)}/offer`, offer);

// public disclosure
export const disclosure = (unit: string) => call<Json>("GET", `/disclosure?unit=${q(unit)}`);
