// The live dashboard: one subscription per event type through client.js, a filtered feed,
// per-topic rates, replay from a time, pause, and a collaboration panel that publishes.
// No build step and no dependency: served as-is by the gateway.
//
// Tests read the page through stable hooks: #conn[data-state], #feed li[data-event-id],
// body[data-subscribed] (how many types the gateway confirmed), #sent li[data-status].

import { Client, jwtClaims } from "/client.js";

const TYPES = ["AgentStatusUpdate", "DecisionMade", "RegulatoryChangeDetected",
               "CollaborationEvent", "SimulationUpdate", "AuditTrailEntry"];
const LABELS = { AgentStatusUpdate: "Agent status", DecisionMade: "Decision",
                 RegulatoryChangeDetected: "Regulatory change", CollaborationEvent: "Collaboration",
                 SimulationUpdate: "Simulation", AuditTrailEntry: "Audit" };
const SEVERITIES = ["DEBUG", "INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"];
const STATE_LABELS = { connecting: "Connecting…", live: "Live", catching_up: "Catching up",
                       reconnecting: "Reconnecting…", gap: "Gap", closed: "Disconnected",
                       rejected: "Token rejected" };
// What to do about a refused JWT, by the gateway's reason (docs/protocol.md §1).
const MINT = "Mint a new one with regstream token mint --publish CollaborationEvent and paste it here.";
const TOKEN_ADVICE = {
  credentials_expired: `This token has expired. ${MINT}`,
  invalid_credentials: `The gateway does not accept this token (wrong key, audience, issuer or claims). ${MINT}`,
  missing_credentials: `No token reached the gateway. ${MINT}`,
  auth_expired: `This token has expired. ${MINT}`,
};
const MAX_ROWS = 1000;
const RATE_WINDOW_MS = 10000;
const JWT_KEY = "regstream.jwt";

const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("data-") || k.startsWith("aria-") || k === "title" || k === "type") node.setAttribute(k, v);
    else node[k] = v;
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
};

const view = { types: new Set(TYPES), minSeverity: 0, agent: "" };
const rates = Object.fromEntries(TYPES.map((t) => [t, []]));
const agents = new Set();
const sentById = new Map();
let client = null;
let subs = new Map();
let paused = false;
let held = [];
let connState = "connecting";
let gapOpen = false;
let subscribed = new Set();

// -- token: from the URL fragment (never a query string) or the paste box ---------------------

function takeToken() {
  const params = new URLSearchParams(location.hash.slice(1));
  const fromFragment = params.get("token");
  if (fromFragment) {
    sessionStorage.setItem(JWT_KEY, fromFragment);
    history.replaceState(null, "", location.pathname);  // out of the address bar and history
  }
  return sessionStorage.getItem(JWT_KEY);
}

function showSignIn(reason = null) {
  $("app").hidden = true;
  $("sign-in").hidden = false;
  $("sign-out").hidden = true;
  if (reason) $("sign-in-reason").textContent = reason;
  $("token-input").focus();
}

function signOut() {
  client?.close();
  client = null;
  sessionStorage.removeItem(JWT_KEY);
  sessionStorage.removeItem("regstream.resume");
  setConn("closed");
  showSignIn();
}

// -- connection state -----------------------------------------------------------------------

function setConn(state, detail = "") {
  connState = state;
  const shown = gapOpen && (state === "live" || state === "catching_up") ? "gap" : state;
  $("conn").dataset.state = shown;
  $("conn-label").textContent = STATE_LABELS[shown] || shown;
  $("conn-detail").textContent = detail;
}

function describeGap(gap) {
  const where = gap.partition === null ? "" : ` partition ${gap.partition}`;
  const range = gap.range ? ` offsets ${gap.range[0]}–${gap.range[1] - 1}` : "";
  const why = { retention: "deleted by retention before they were read",
                horizon: "older than your replay horizon",
                "topic-recreated": "the topic was recreated",
                "resume-token-rejected": "the resume point was refused, so the stream restarted" }[gap.reason] || gap.reason;
  return `${LABELS[gap.topic] || gap.topic}${where}${range}: ${why}.`;
}

function onGap(gap) {
  gapOpen = true;
  $("gap-text").textContent = describeGap(gap);
  $("gap-notice").hidden = false;
  addRow(el("li", { class: "gap-row", "data-gap": gap.reason, "data-type": gap.topic },
            el("span", { class: "time" }, clock(Date.now())), el("span", { class: "gap-chip" }, "gap"),
            el("span", { class: "summary" }, describeGap(gap))));
  setConn(connState);
}

// -- the feed ---------------------------------------------------------------------------------

const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour12: false });
const fmt = (n, digits = 0) => (typeof n === "number" ? n.toFixed(digits) : "?");

function summary(e) {
  const p = e.payload;
  const en = e.enrichment || {};
  const agent = en.agent_name || p.agent_id;
  switch (e.type) {
    case "AgentStatusUpdate": return `${agent} is ${p.status === "ERROR" ? "in error" : String(p.status).toLowerCase()}`;
    case "DecisionMade":
      return `${agent} decided “${p.decision_type}” on ${p.decision_details?.case ?? p.decision_id} ` +
             `(confidence ${fmt(p.confidence_score, 2)}${en.risk_class ? `, ${en.risk_class.toLowerCase()} risk` : ""})`;
    case "RegulatoryChangeDetected":
      return `${p.source}: ${p.change_type.replace("_", " ")} ${p.change_details?.document ?? ""} — impact ${String(p.impact_level).toLowerCase()}`;
    case "CollaborationEvent":
      return `${p.sender_id} → ${p.receiver_id ?? "everyone"} (${String(p.kind).toLowerCase().replace("_", " ")}): “${p.content}”`;
    case "SimulationUpdate":
      return `${p.simulation_id} ${String(p.status).toLowerCase()} · ${fmt(p.progress_percent, 1)}%`;
    case "AuditTrailEntry": return `${p.title} — ${p.activity_type.replace("_", " ")} by ${agent}`;
    default: return e.type;
  }
}

function visible(row) {
  if (row.dataset.gap) return true;
  return view.types.has(row.dataset.type) &&
         SEVERITIES.indexOf(row.dataset.severity) >= view.minSeverity &&
         (!view.agent || (row.dataset.agent || "").includes(view.agent));
}

function addRow(row) {
  row.hidden = !visible(row);
  const feed = $("feed");
  feed.prepend(row);
  while (feed.children.length > MAX_ROWS) feed.lastElementChild.remove();
  $("feed-empty").hidden = true;
  updateCount();
}

function updateCount() {
  const rows = $("feed").querySelectorAll("li[data-event-id]");
  const shown = [...rows].filter((r) => !r.hidden).length;
  $("feed-count").textContent = `${shown} shown of ${rows.length}` + (paused ? ` · paused, ${held.length} waiting` : "");
}

function render(e) {
  const meta = e.payload.metadata || {};
  const severity = meta.severity || "INFO";
  const agent = e.payload.agent_id || e.payload.sender_id || "";
  if (agent.startsWith("agent-") && !agents.has(agent)) {
    agents.add(agent);
    $("agents").append(el("option", { value: agent }));
  }
  const mine = sentById.get(e.event_id);
  if (mine) setSent(mine, "delivered");
  const p = e.position;
  const row = el("li", { "data-event-id": e.event_id, "data-type": e.type, "data-severity": severity,
                         "data-agent": agent, "data-position": `${p.topic}/${p.partition}/${p.offset}/${p.index}`,
                         class: `sev-${severity.toLowerCase()}` },
    el("span", { class: "time", title: new Date(e.time).toISOString() }, clock(e.time)),
    el("span", { class: `type t-${e.type}` }, LABELS[e.type] || e.type),
    el("span", { class: "sev" }, severity.toLowerCase()),
    el("span", { class: "summary" }, summary(e)));
  if (e.type === "CollaborationEvent" && e.payload.sender_id?.startsWith("agent-")) {
    row.append(el("button", { type: "button", class: "reply link", onclick: () => replyTo(e.payload),
                              "aria-label": `Reply to ${e.payload.sender_id} in ${e.payload.session_id}` }, "Reply"));
  }
  addRow(row);
}

function onEvent(e) {
  rates[e.type]?.push(Date.now());
  if (paused) { held.push(e); updateCount(); return; }
  render(e);
}

function applyFilters() {
  for (const row of $("feed").children) row.hidden = !visible(row);
  updateCount();
}

// -- subscriptions, replay, pause -----------------------------------------------------------

function subscribeAll(from = "latest") {
  for (const sub of subs.values()) sub.unsubscribe();
  subs = new Map();
  subscribed = new Set();
  document.body.dataset.subscribed = "0";
  for (const type of TYPES) {
    const sub = client.subscribe(type, { id: `feed-${type}`, from });
    sub.onevent = onEvent;
    sub.ongap = onGap;
    sub.onsubscribed = () => { subscribed.add(type); document.body.dataset.subscribed = String(subscribed.size); };
    sub.onerror = (err) => addRow(el("li", { class: "gap-row", "data-error": err.code || "error" },
      el("span", { class: "time" }, clock(Date.now())), el("span", { class: "gap-chip" }, "error"),
      el("span", { class: "summary" }, `${LABELS[type]}: ${err.message}`)));
    subs.set(type, sub);
  }
}

function restart(from) {
  $("feed").replaceChildren();
  held = [];
  $("feed-empty").hidden = false;
  subscribeAll(from);
  updateCount();
}

function togglePause() {
  paused = !paused;
  const button = $("pause");
  button.setAttribute("aria-pressed", String(paused));
  button.textContent = paused ? "Resume" : "Pause";
  $("feed").setAttribute("aria-live", paused ? "off" : "polite");
  if (!paused) { const waiting = held; held = []; waiting.forEach(render); }
  updateCount();
}

// -- rates ------------------------------------------------------------------------------------

function drawRates() {
  const now = Date.now();
  const perSecond = TYPES.map((t) => {
    rates[t] = rates[t].filter((ms) => now - ms < RATE_WINDOW_MS);
    return rates[t].length / (RATE_WINDOW_MS / 1000);
  });
  const top = Math.max(1, ...perSecond);
  $("rates").replaceChildren(...TYPES.map((t, i) => el("tr", { "data-type": t },
    el("th", { scope: "row" }, el("span", { class: `type t-${t}` }, LABELS[t])),
    el("td", { class: "num" }, perSecond[i].toFixed(1)),
    el("td", { class: "bar-cell" }, el("span", { class: `bar t-${t}`, style: `width:${(100 * perSecond[i]) / top}%` })))));
}

// -- collaboration ----------------------------------------------------------------------------

function replyTo(payload) {
  $("collab-session").value = payload.session_id;
  $("collab-to").value = payload.sender_id;
  $("collab-text").focus();
}

function setSent(item, status, detail = "") {
  const order = ["sent", "acknowledged", "delivered"];
  if (order.indexOf(status) >= 0 && order.indexOf(item.dataset.status) > order.indexOf(status)) return;
  item.dataset.status = status;
  item.querySelector(".status").textContent = { sent: "sent", acknowledged: "acknowledged",
    delivered: "acknowledged · on the stream", failed: `failed: ${detail}` }[status];
}

async function sendCollab(ev) {
  ev.preventDefault();
  const claims = jwtClaims(sessionStorage.getItem(JWT_KEY) || "");
  const form = ev.target;
  const to = $("collab-to").value.trim();
  const event = { session_id: $("collab-session").value.trim(), kind: form.kind.value,
                  sender_id: claims.sub || "dashboard-user", receiver_id: to || null,
                  participant_ids: [claims.sub || "dashboard-user", ...(to ? [to] : [])],
                  message_type: "TEXT", status: "SENT", content: $("collab-text").value.trim(),
                  attributes: {}, metadata: { event_id: crypto.randomUUID(), source: "dashboard" } };
  const item = el("li", { "data-status": "sent", "data-event-id": event.metadata.event_id },
    el("span", { class: "what" }, `${event.kind === "FEEDBACK" ? "Feedback" : "Answer"} in ${event.session_id}: “${event.content}”`),
    el("span", { class: "status" }, "sent"));
  sentById.set(event.metadata.event_id, item);
  $("sent").prepend(item);
  $("collab-text").value = "";
  try {
    await client.publish("CollaborationEvent", event);
    setSent(item, "acknowledged");
  } catch (err) {
    setSent(item, "failed", err.code || err.message);
  }
}

// -- start ------------------------------------------------------------------------------------

const COLLAB_HINT = "Answer an agent or file feedback. Pick “Reply” on a collaboration event to fill in its session.";

/** Whether the token in use (it may have been refreshed or replaced) may publish. */
function showPublishRights(jwt) {
  const patterns = jwtClaims(jwt || "").publish || [];
  const glob = (p) => new RegExp(`^${p.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
  const canPublish = Array.isArray(patterns) && patterns.some((p) => typeof p === "string" && glob(p).test("CollaborationEvent"));
  $("collab-send").disabled = !canPublish;
  $("collab-hint").textContent = canPublish ? COLLAB_HINT
    : "This token may not publish. Mint one with --publish CollaborationEvent to answer agents.";
}

function start(jwt) {
  const claims = jwtClaims(jwt);
  $("sign-in").hidden = true;
  $("app").hidden = false;
  $("sign-out").hidden = false;
  $("who").textContent = claims.sub ? `Signed in as ${claims.sub}` : "";
  showPublishRights(jwt);
  client = new Client({
    url: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`,
    token: jwt,
    restartOnTokenRejection: true,
    backoff: { baseMs: 250, capMs: 10000 },
    source: "dashboard",
    onstate: (state, detail) => {
      if (state === "closed" && detail.error?.kind === "auth") {
        const advice = TOKEN_ADVICE[detail.error.code] || `The gateway refused this token (${detail.error.code}). ${MINT}`;
        setConn("rejected", detail.error.code);
        showSignIn(`Token rejected. ${advice}`);
        return;
      }
      if (state === "closed" && detail.error) {
        setConn("closed", detail.error.message);
        return;
      }
      if (state === "live" || state === "catching_up") showPublishRights(client.jwt);
      setConn(state, state === "reconnecting" ? `attempt ${detail.attempt}` : "");
    },
  });
  subscribeAll("latest");
}

function wire() {
  $("type-filters").append(...TYPES.map((t) => el("label", { class: `chip t-${t}` },
    el("input", { type: "checkbox", checked: true, value: t, onchange: (ev) => {
      ev.target.checked ? view.types.add(t) : view.types.delete(t);
      applyFilters();
    } }), ` ${LABELS[t]}`)));
  $("severity-filter").onchange = (ev) => { view.minSeverity = SEVERITIES.indexOf(ev.target.value); applyFilters(); };
  $("agent-filter").oninput = (ev) => { view.agent = ev.target.value.trim(); applyFilters(); };
  $("pause").onclick = togglePause;
  $("replay").onclick = () => {
    const at = $("replay-from").value ? new Date($("replay-from").value).getTime() : NaN;
    if (Number.isNaN(at)) { $("replay-from").focus(); return; }
    restart(at);
  };
  $("live").onclick = () => restart("latest");
  $("gap-dismiss").onclick = () => { gapOpen = false; $("gap-notice").hidden = true; setConn(connState); };
  $("sign-out").onclick = signOut;
  $("collab-form").onsubmit = sendCollab;
  $("sign-in-form").onsubmit = (ev) => {
    ev.preventDefault();
    const jwt = $("token-input").value.trim();
    if (!jwt) return;
    sessionStorage.setItem(JWT_KEY, jwt);
    $("token-input").value = "";
    start(jwt);
  };
  const ago = new Date(Date.now() - 15 * 60000);
  $("replay-from").value = new Date(ago.getTime() - ago.getTimezoneOffset() * 60000).toISOString().slice(0, 19);
  drawRates();
  setInterval(drawRates, 1000);
}

wire();
const jwt = takeToken();
if (jwt) start(jwt); else { setConn("closed"); showSignIn(); }
