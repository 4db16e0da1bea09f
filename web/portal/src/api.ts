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

async function call<T = Json>(method: string, path: string, body?: unknown, bearer?: string): Promise<T> {
  const headers: Record<string, string> = {};
  const token = bearer ?? partyToken.get();
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
    // people read message_zh (parties' routes) or the field's message; the code names the case
    const message = data.message_zh ?? data.message ?? "";
    throw new ApiError(response.status, data.error ?? String(response.status), message, fields);
  }
  return data as T;
}

const q = encodeURIComponent;

// reference and public look-ups (docs/parties.md, docs/portal.md)
export const categories = () => call<{ code: string; label: string }[] | Json>("GET", "/reference/categories");
export const servedUnits = (parent?: string) =>
  call<{ code: string; name: string; tier?: string; has_children?: boolean }[]>(
    "GET",
    `/portal/units${parent ? `?parent=${q(parent)}` : ""}`,
  );
export const searchBusinesses = (text: string) =>
  call<{ name: string; credit_code: string | null }[]>("GET", `/portal/businesses?q=${q(text)}`);

// filing; the receipt's upload token then carries the evidence files (images and PDF)
// without the party token: a consumer signed in at /track who files another complaint files as the
// public (the complaints route would take any bearer for a staff token, and refuse it)
export const fileComplaint = (submission: Json) => call<Json>("POST", "/complaints", submission, "");
export function uploadEvidence(uploadToken: string, files: File[]): Promise<Json[]> {
  const form = new FormData();
  for (const file of files) form.append("files", file);
  return call("POST", "/portal/evidence", form, uploadToken);
}

// SMS one-time codes: to sign in (no token) and to confirm each action (with the party token)
export type Who = { party: "complainant"; tracking_no: string } | { party: "business"; credit_code: string };
export const sendSignInCode = (who: Who) => call<{ expires_in?: number }>("POST", "/portal/codes", who);
export const sendActionCode = (complaintId: string, action: string) =>
  call<{ phone?: string }>("POST", `/portal/cases/${q(complaintId)}/codes`, { action });
export async function signIn(who: Who, code: string): Promise<{ complaint_id: string; tracking_no: string }[]> {
  const answer = await call<{ access_token: string; cases: { complaint_id: string; tracking_no: string }[] }>(
    "POST",
    "/portal/sign-in",
    { ...who, code },
  );
  partyToken.set(answer.access_token);
  return answer.cases ?? [];
}

// the party's cases and its steps on them
export const myCases = async () =>
  (await call<{ cases: string[] }>("GET", "/portal/me")).cases.map((id) => ({ complaint_id: id }));
export const caseView = (complaintId: string) => call<Json>("GET", `/portal/cases/${q(complaintId)}`);
export const act = (complaintId: string, action: string, code: string, fields: Json = {}) =>
  call<Json>("POST", `/portal/cases/${q(complaintId)}/actions/${action}`, { code, ...fields });

// the settle-first lane (docs/parties.md)
export const replyOffer = (trackingNo: string, accept: boolean, comment?: string) =>
  call<Json>("POST", `/track/${q(trackingNo)}/settle-first/reply`, { accept, ...(comment ? { comment } : {}) });
export const confirmSettlement = (trackingNo: string, performed: boolean) =>
  call<Json>("POST", `/track/${q(trackingNo)}/settle-first/performance`, { performed });
export const settleFirstCases = () => call<Json[]>("GET", "/business/settle-first");
export const makeOffer = (trackingNo: string, offer: Json) =>
  call<Json>("POST", `/business/settle-first/${q(trackingNo)}/offer`, offer);

// public disclosure
export const disclosure = (unit: string) => call<Json>("GET", `/disclosure?unit=${q(unit)}`);
