// The staff web console: plain JavaScript over the gateway's API (docs/console.md).
// Text from the API reaches the DOM only as text (textContent, append of strings), never as HTML.
"use strict";

const API = "/api/v1";
const TOKEN_KEY = "console.access_token";
const REFRESH_KEY = "console.refresh_token";
const CASE_LIMIT = 200;
const HELD_LIMIT = 200;

const STATUS_LABELS = {
  draft: "草稿",
  received: "已接收",
  routed: "已分派",
  accepted: "已受理",
  refused: "不予受理",
  duplicate: "重复投诉",
  report_received: "举报已接收",
};
const CLOCK_LABELS = {
  acknowledgement: "告知时限",
  acceptance: "受理时限",
  mediation: "调解时限",
  mediation_end_notice: "调解终止告知",
  tier_target: "层级办理时限",
  agency_handover_ack: "部门接收确认",
  authority_dispute: "管辖争议",
  lead_verification: "线索核查",
};
const COLOUR_LABELS = { green: "绿灯", yellow: "黄灯", red: "红灯" };
const DECIDERS = ["intake_clerk", "supervisor"]; // who may accept or refuse (services/intake/decisions.py)

const state = { me: null, categories: {}, caseId: null };

const $ = (id) => document.getElementById(id);

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// The one way to call the API: adds the bearer token, sends a form or JSON, and turns a non-2xx
// answer into an ApiError carrying the API's own message.
async function api(path, { method = "GET", json, form } = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form) {
    body = new URLSearchParams(form);
  }
  const response = await fetch(API + path, { method, headers, body });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (response.ok) return data;
  const message = (data && data.message) || `HTTP ${response.status}`;
  if (response.status === 401 && token) {
    endSession();
    throw new ApiError(401, `登录已失效，请重新登录（${message}）`);
  }
  throw new ApiError(response.status, message);
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

// Runs a user action: clears the last error, disables the control meanwhile, shows any failure.
async function run(task, { prefix = "操作失败", control = null } = {}) {
  showError("");
  if (control) control.disabled = true;
  try {
    await task();
  } catch (error) {
    showError(`${prefix}：${error.message}`);
  } finally {
    if (control) control.disabled = false;
  }
}

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

function show(viewId) {
  for (const view of document.querySelectorAll("main > section")) view.hidden = view.id !== viewId;
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString("zh-CN", { hour12: false }) : "—";
}

function duration(seconds) {
  const left = Math.abs(seconds);
  const days = Math.floor(left / 86400);
  const hours = Math.floor((left % 86400) / 3600);
  const minutes = Math.floor((left % 3600) / 60);
  return days ? `${days}天${hours}小时` : `${hours}小时${minutes}分`;
}

function remaining(clock) {
  if (clock.stopped_at) return clock.met ? "已停止（按时）" : "已停止（超时）";
  const text = clock.remaining_seconds < 0 ? `已超时 ${duration(clock.remaining_seconds)}` : duration(clock.remaining_seconds);
  return clock.paused ? `${text}（暂停）` : text;
}

function badge(colour) {
  const node = el("span", { className: `badge ${colour}` }, COLOUR_LABELS[colour] || colour);
  node.dataset.colour = colour;
  return node;
}

function statusLabel(status) {
  return STATUS_LABELS[status] || status;
}

function unitName(unit) {
  return unit ? `${unit.name}（${unit.code}）` : "—";
}

// --- session -----------------------------------------------------------------------------------

async function logIn(event) {
  event.preventDefault();
  const form = event.target;
  await run(
    async () => {
      const pair = await api("/auth/token", { method: "POST", form: new FormData(form) });
      sessionStorage.setItem(TOKEN_KEY, pair.access_token);
      sessionStorage.setItem(REFRESH_KEY, pair.refresh_token);
      form.reset();
      if (location.hash === "#/cases") route();
      else location.hash = "#/cases";
    },
    { prefix: "登录失败", control: form.querySelector("button") },
  );
}

function endSession() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(REFRESH_KEY);
  state.me = null;
  $("nav").hidden = true;
  show("login-view");
}

async function logOut() {
  const refreshToken = sessionStorage.getItem(REFRESH_KEY);
  endSession();
  if (refreshToken) await run(() => api("/auth/logout", { method: "POST", json: { refresh_token: refreshToken } }));
}

async function loadMe() {
  const [me, categories, grounds] = await Promise.all([
    api("/auth/me"),
    api("/reference/categories"),
    api("/reference/refusal-grounds"),
  ]);
  const unit = await api(`/tenants/${encodeURIComponent(me.tenant)}`);
  state.categories = Object.fromEntries(categories.map((c) => [c.code, c.name_zh]));
  $("refuse-form").elements.ground.replaceChildren(
    ...grounds.map((g) => el("option", { value: g.code }, g.label_zh)),
  );
  $("who").textContent = `${me.username} · ${unit.name}`;
  $("nav").hidden = false;
  state.me = me;
}

// --- views -------------------------------------------------------------------------------------

function route() {
  if (!sessionStorage.getItem(TOKEN_KEY)) {
    endSession();
    return;
  }
  const [, view, id] = location.hash.split("/"); // "#/cases/<id>" -> ["#", "cases", "<id>"]
  run(async () => {
    if (!state.me) await loadMe();
    if (view === "inbox") {
      await showInbox();
      return;
    }
    if (view === "clocks") {
      await Promise.all([showHeldClocks(), refreshUnread()]);
      return;
    }
    await Promise.all([view === "cases" && id ? showCase(decodeURIComponent(id)) : showCases(), refreshUnread()]);
  });
}

// Fills a list view's table from the API: marks it busy meanwhile, counts the rows, shows the view.
async function showList(view, table, count, path, toRow, measure) {
  $(table).setAttribute("aria-busy", "true");
  try {
    const items = await api(path);
    $(table).tBodies[0].replaceChildren(...items.map(toRow));
    $(count).textContent = `共 ${items.length} ${measure}`;
  } finally {
    $(table).setAttribute("aria-busy", "false");
  }
  show(view);
}

// A table row that opens its case when clicked; the first cell links to it.
function caseLinkRow(id, label, ...cells) {
  const href = `#/cases/${encodeURIComponent(id)}`;
  const row = el("tr", {}, el("td", {}, el("a", { href }, label)), ...cells.map((cell) => el("td", {}, cell)));
  row.addEventListener("click", () => {
    location.hash = href;
  });
  return row;
}

async function showCases() {
  const query = new URLSearchParams({ limit: CASE_LIMIT });
  const status = $("status-filter").value;
  if (status) query.set("status", status);
  await showList("cases-view", "case-table", "case-count", `/complaints?${query}`, caseRow, "件");
}

function caseRow(c) {
  return caseLinkRow(
    c.id,
    c.tracking_no,
    state.categories[c.category] || c.category || "—",
    statusLabel(c.status),
    unitName(c.responsible_unit),
    when(c.received_at),
  );
}

// The running clocks the caller's units hold, the nearest deadline first (GET /clocks).
async function showHeldClocks() {
  const query = new URLSearchParams({ limit: HELD_LIMIT });
  for (const colour of $("colour-filter").value.split(",")) query.append("colour", colour);
  await showList("clocks-view", "held-table", "held-count", `/clocks?${query}`, heldRow, "项");
}

function heldRow(clock) {
  return caseLinkRow(
    clock.complaint_id,
    clock.tracking_no || clock.complaint_id,
    CLOCK_LABELS[clock.kind] || clock.kind,
    unitName(clock.unit),
    clock.handler || "—",
    when(clock.deadline),
    remaining(clock),
    badge(clock.colour),
  );
}

async function showCase(id) {
  const path = `/complaints/${encodeURIComponent(id)}`;
  const [c, messages] = await Promise.all([api(path), api(`${path}/messages`)]);
  state.caseId = c.id;
  $("detail-tracking").textContent = c.tracking_no;
  const complainant = c.complainant || {};
  const decision = c.decision
    ? [statusLabel(c.decision.decision), c.decision.ground_label, c.decision.reason].filter(Boolean).join("：")
    : null;
  const fields = [
    ["status", "状态", statusLabel(c.status)],
    ["category", "类别", state.categories[c.category] || c.category || "—"],
    ["unit", "责任单位", unitName(c.responsible_unit)],
    ["received_at", "登记时间", when(c.received_at)],
    ["complainant", "投诉人", [complainant.name, complainant.phone].filter(Boolean).join(" ") || "—"],
    ["business", "被投诉经营者", (c.business && c.business.name) || "—"],
    ["summary", "投诉内容", c.summary || "—"],
    ["decision", "受理决定", decision],
  ];
  $("detail-fields").replaceChildren(
    ...fields
      .filter(([, , value]) => value !== null)
      .flatMap(([key, label, value]) => {
        const dd = el("dd", {}, value);
        dd.dataset.field = key;
        return [el("dt", {}, label), dd];
      }),
  );
  $("clock-table").tBodies[0].replaceChildren(
    ...c.clocks.map((clock) =>
      el(
        "tr",
        {},
        el("td", {}, CLOCK_LABELS[clock.kind] || clock.kind),
        el("td", {}, unitName(clock.unit)),
        el("td", {}, when(clock.deadline)),
        el("td", {}, remaining(clock)),
        el("td", {}, badge(clock.colour)),
      ),
    ),
  );
  const missing = c.clocks_unavailable || [];
  $("clock-note").textContent = missing.length ? `部分时限暂时无法读取（${missing.join("、")}），请稍后刷新` : "";
  $("clock-note").hidden = !missing.length;
  $("history-table").tBodies[0].replaceChildren(
    ...c.history.map((entry) => el("tr", {}, el("td", {}, entry.step), el("td", {}, when(entry.at)))),
  );
  $("message-table").tBodies[0].replaceChildren(
    ...messages.map((m) =>
      el("tr", {}, el("td", {}, m.template), el("td", {}, m.channel), el("td", {}, m.state), el("td", {}, when(m.created_at))),
    ),
  );
  $("decision").hidden = !canDecide(c);
  show("detail-view");
}

// Mirrors the API's rule only to hide buttons that would surely fail; the API decides.
function canDecide(c) {
  return (
    c.status === "routed" &&
    !c.read_only &&
    c.responsible_unit !== null &&
    c.responsible_unit.code === state.me.tenant &&
    state.me.roles.some((role) => DECIDERS.includes(role))
  );
}

async function accept(event) {
  await run(
    async () => {
      await api(`/complaints/${encodeURIComponent(state.caseId)}/accept`, { method: "POST" });
      await showCase(state.caseId);
    },
    { control: event.target },
  );
}

async function refuse(event) {
  event.preventDefault();
  const form = event.target;
  await run(
    async () => {
      const body = { ground: form.elements.ground.value, reason: form.elements.reason.value };
      await api(`/complaints/${encodeURIComponent(state.caseId)}/refuse`, { method: "POST", json: body });
      form.reset();
      await showCase(state.caseId);
    },
    { control: form.querySelector("button") },
  );
}

function setUnread(count) {
  $("unread-count").textContent = String(count);
  $("unread-count").classList.toggle("has-unread", count > 0);
}

async function refreshUnread() {
  const inbox = await api("/inbox?unread_only=true&limit=1");
  setUnread(inbox.unread);
}

async function showInbox() {
  const inbox = await api("/inbox?limit=100");
  setUnread(inbox.unread);
  $("inbox-list").replaceChildren(...inbox.items.map(inboxItem));
  show("inbox-view");
}

function inboxItem(item) {
  const li = el(
    "li",
    { className: item.read_at ? "read" : "unread" },
    el("strong", {}, item.subject || item.template),
    " ",
    el("time", {}, when(item.created_at)),
    item.complaint_id ? el("a", { href: `#/cases/${encodeURIComponent(item.complaint_id)}` }, "查看案件") : null,
    el("p", {}, item.body || ""),
  );
  li.dataset.id = item.id;
  if (item.read_at) {
    li.append(el("span", { className: "muted" }, `已读 ${when(item.read_at)}`));
  } else {
    const button = el("button", { type: "button" }, "标为已读");
    button.addEventListener("click", () =>
      run(
        async () => {
          await api(`/inbox/${encodeURIComponent(item.id)}/read`, { method: "POST" });
          await showInbox();
        },
        { control: button },
      ),
    );
    li.append(button);
  }
  return li;
}

// --- start -------------------------------------------------------------------------------------

for (const [status, label] of Object.entries(STATUS_LABELS)) {
  $("status-filter").append(el("option", { value: status }, label));
}
$("login-form").addEventListener("submit", logIn);
$("logout").addEventListener("click", logOut);
$("status-filter").addEventListener("change", () => run(showCases));
$("colour-filter").addEventListener("change", () => run(showHeldClocks));
$("accept").addEventListener("click", accept);
$("refuse-form").addEventListener("submit", refuse);
window.addEventListener("hashchange", route);
route();
