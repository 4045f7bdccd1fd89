// regstream browser client: a dependency-free ES module with the semantics of the Python SDK
// (gateway/client). See docs/reference/client.md.
//
//   import { Client } from "/client.js";
//   const client = new Client({ url: "ws://127.0.0.1:8080/ws", token: jwt });
//   const sub = client.subscribe("DecisionMade", { id: "decisions" });
//   sub.onevent = (event) => render(event);   // or: for await (const item of sub) { ... }
//   sub.ongap = (gap) => warn(gap);           // lost events are told, never hidden
//
// * Reconnects with capped exponential backoff and full jitter; the attempt counter is reset
//   only after a connection stayed up `stableMs` (a crash-looping gateway gets no stampede).
// * The close-code range alone decides: 4000-4499 reconnect and resume, 4500-4999 stop.
// * A browser cannot read why a WebSocket handshake failed (it reports 1006, as for an outage),
//   so after a connection that never said hello, one plain GET of the same URL with the JWT in
//   an Authorization header asks the gateway: a 401 means the JWT is refused (stop, and say
//   why: `kind: "auth"`); anything else is treated as an outage and retried.
// * Every new connection re-sends every subscription from the latest checkpoint token; the
//   token is kept in `storage` (sessionStorage by default) so a page reload resumes too.
// * Events are deduped by position with one high-water mark per (subscription, partition).
// * publish() keeps one event_id for every retry, so the pipeline's dedupe makes it land once.

export const SUBPROTOCOL = "regstream.v1";
export const GAP_TOKEN_REJECTED = "resume-token-rejected";
// The close codes this module acts on, copied from gateway/core/errors.py (a module for browsers
// cannot import it); tests/unit/client/test_close_codes.py checks them against it.
export const CLOSE_CODES = Object.freeze({
  retry: Object.freeze([4000, 4499]), // reconnect and resume
  terminal: Object.freeze([4500, 4999]), // do not reconnect with the same state
  authExpired: 4002, // a fresh JWT first
  rateLimited: 4004, // a longer wait
  tokenRejected: Object.freeze([4510, 4511, 4512, 4513, 4520]), // start over without the token
  // error codes sent right before a terminal close: they end the connection, not a subscription
  closingErrors: Object.freeze(["frame_too_large", "token_forged", "token_expired",
    "token_foreign_subject", "token_unknown_key", "position_beyond_end"]),
});
const TOKEN_REJECTED = new Set(CLOSE_CODES.tokenRejected);

// -- pure parts (unit-tested in tests/unit/client/test_client_js.py) ---------------------------

/** Capped exponential backoff with full jitter; reset after a stable connection. */
export class Backoff {
  constructor({ baseMs = 250, capMs = 30000, factor = 2, stableMs = 10000, penaltyAttempts = 5,
                random = Math.random } = {}) {
    Object.assign(this, { baseMs, capMs, factor, stableMs, penaltyAttempts, random });
    this.attempt = 0;
  }
  ceiling(attempt = this.attempt) {
    return Math.min(this.capMs, this.baseMs * this.factor ** Math.min(attempt, 64));
  }
  nextDelay() {
    const delay = this.random() * this.ceiling();
    this.attempt += 1;
    return delay;
  }
  connectionLasted(ms) { if (ms >= this.stableMs) this.reset(); }
  penalize() { this.attempt = Math.max(this.attempt, this.penaltyAttempts); }
  reset() { this.attempt = 0; }
}

/** What to do after a close: decided by the close-code range alone (docs/protocol.md §8). */
export function decideClose(code) {
  const [first, last] = [CLOSE_CODES.retry[0], CLOSE_CODES.terminal[1]];
  if (typeof code !== "number" || code < first || code > last) return { reconnect: true };
  if (code <= CLOSE_CODES.retry[1]) {
    return {
      reconnect: true,
      refreshCredentials: code === CLOSE_CODES.authExpired,
      longerBackoff: code === CLOSE_CODES.rateLimited,
    };
  }
  return { reconnect: false, tokenRejected: TOKEN_REJECTED.has(code) };
}

/** What to do after the gateway refused the upgrade with HTTP ``status`` and JSON ``code``
 * (docs/protocol.md §1; the Python SDK's decide_handshake). */
export function decideHandshake(status, code) {
  if (status === 429 || status >= 500) return { reconnect: true, longerBackoff: status === 429 };
  if (status === 401 && code === "credentials_expired") return { reconnect: true, refreshCredentials: true };
  return { reconnect: false };
}

/** One high-water mark (offset, index) per (subscription, topic, partition). */
export class PositionDeduper {
  constructor() { this.marks = new Map(); }
  accept(subId, pos) {
    const key = `${subId}\u0000${pos.topic}\u0000${pos.partition}`;
    const mark = this.marks.get(key);
    if (mark && (pos.offset < mark[0] || (pos.offset === mark[0] && pos.index <= mark[1]))) {
      return false;
    }
    this.marks.set(key, [pos.offset, pos.index]);
    return true;
  }
  marksOf(subId, topic) {
    const out = {};
    for (const [key, mark] of this.marks) {
      const [sid, t, p] = key.split("\u0000");
      if (sid === subId && t === topic) out[p] = mark[0];
    }
    return out;
  }
  forget(subId, partition = null) {
    for (const key of [...this.marks.keys()]) {
      const [sid, , p] = key.split("\u0000");
      if (sid === subId && (partition === null || Number(p) === partition)) this.marks.delete(key);
    }
  }
  get size() { return this.marks.size; }
}

/** "catching up" until an event is fresh or a checkpoint comes after a quiet moment. */
export class CatchUpTracker {
  constructor({ liveLagMs = 5000, quietMs = 200 } = {}) {
    Object.assign(this, { liveLagMs, quietMs, catchingUp: false, lastDataMs: null });
  }
  replaying() { this.catchingUp = true; this.lastDataMs = null; }
  onEvent(eventTimeMs, nowMs) {
    this.lastDataMs = nowMs;
    if (typeof eventTimeMs === "number" && nowMs - eventTimeMs <= this.liveLagMs) this.catchingUp = false;
  }
  onCheckpoint(nowMs) {
    if (this.lastDataMs === null || nowMs - this.lastDataMs >= this.quietMs) this.catchingUp = false;
  }
}

/** The JWT's claims, unverified (for `sub` and `exp`; the gateway is what verifies). */
export function jwtClaims(jwt) {
  try {
    const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const binary = atob(part + "=".repeat((4 - (part.length % 4)) % 4));
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
  } catch {
    return {};
  }
}

/** A typed error: `code` (gateway error code), `closeCode`, `retriable`. */
export class ClientError extends Error {
  constructor(message, { code = null, closeCode = null, retriable = false, kind = "client" } = {}) {
    super(message);
    Object.assign(this, { name: "ClientError", code, closeCode, retriable, kind });
  }
}

function uuid4() {
  if (globalThis.crypto?.randomUUID) return globalThis.crypto.randomUUID();
  const b = globalThis.crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** A copy of `event` with a complete envelope; an existing event_id is kept (retries reuse it). */
export function completeEvent(type, event, source, nowMs = Date.now()) {
  const out = structuredClone(event);
  out.metadata = { event_id: uuid4(), event_type: type, source, occurred_at: nowMs,
                   severity: "INFO", headers: {}, ...(out.metadata || {}) };
  return out;
}

/** Recovering a subscription no checkpoint covers yet (see gateway/client/recovery.py). */
export const RECOVERY_MARGIN_MS = 60000;
export function recoveryStart(from, confirmedAtMs) {
  if (from === "earliest") return "earliest";
  let at = confirmedAtMs - RECOVERY_MARGIN_MS;
  if (typeof from === "number") at = Math.min(at, from);
  return { timestamp: Math.max(0, at) };
}
export function startsInTime(positions, floor, marks) {
  return Object.entries(positions).every(([p, start]) => start <= (marks[p] ?? floor[p] ?? 0));
}

// -- subscriptions ---------------------------------------------------------------------------

/** A subscription: handlers (`onevent`, `ongap`, `onend`, `onerror`) and/or async iteration. */
export class Subscription {
  constructor(client, spec) {
    Object.assign(this, { client, spec, id: spec.id, topic: spec.topic, epoch: null,
                          finished: false, onevent: null, ongap: null, onend: null, onerror: null,
                          onsubscribed: null, floor: null, confirmedAtMs: 0, awaiting: true,
                          recovering: false });
    this._queue = [];
    this._waiters = [];
    this._iterating = false;
    this._terminal = null;
  }
  frame(token, start = null) {
    const s = this.spec;
    const frame = { op: "subscribe", id: s.id, topic: s.topic };
    frame.from = start ?? (token ? { token } : typeof s.from === "number" ? { timestamp: s.from } : s.from);
    if (s.filter) frame.filter = s.filter;
    if (typeof s.to === "number") frame.to = { timestamp: s.to };
    else if (s.to) frame.to = { offsets: Object.fromEntries(Object.entries(s.to).map(([p, o]) => [String(p), o])) };
    return frame;
  }
  get replays() { return this.spec.from !== "latest"; }
  _emit(item) {
    if (this.finished) return;
    if (item.kind === "gap") this.ongap?.(item); else this.onevent?.(item);
    if (this._iterating) this._push({ value: item, done: false });
  }
  _end(error = null) {
    if (this.finished) return;
    this.finished = true;
    this._terminal = error;
    if (error) this.onerror?.(error); else this.onend?.();
    if (this._iterating) this._push(error ? { error } : { value: undefined, done: true });
  }
  _push(result) {
    const waiter = this._waiters.shift();
    if (waiter) result.error ? waiter.reject(result.error) : waiter.resolve(result);
    else this._queue.push(result);
  }
  unsubscribe() { this.client._unsubscribe(this); }
  [Symbol.asyncIterator]() {
    this._iterating = true;
    return {
      next: () => {
        const result = this._queue.shift();
        if (result) return result.error ? Promise.reject(result.error) : Promise.resolve(result);
        if (this.finished) {
          return this._terminal ? Promise.reject(this._terminal) : Promise.resolve({ value: undefined, done: true });
        }
        return new Promise((resolve, reject) => this._waiters.push({ resolve, reject }));
      },
      return: () => { this.unsubscribe(); return Promise.resolve({ value: undefined, done: true }); },
    };
  }
}

// -- the client ------------------------------------------------------------------------------

/**
 * States: "connecting", "live", "catching_up", "reconnecting", "closed".
 * Options: url, token, refreshToken (async () => jwt), storage (null: don't persist),
 * storageKey, backoff (a Backoff or its options), restartOnTokenRejection, source,
 * onstate(state, detail), publishRetries, WebSocket and fetch (for tests).
 */
export class Client {
  constructor(options) {
    const o = { storage: globalThis.sessionStorage ?? null, storageKey: "regstream.resume",
                restartOnTokenRejection: false, source: "regstream-browser", publishRetries: 8,
                WebSocket: globalThis.WebSocket, fetch: globalThis.fetch?.bind(globalThis), ...options };
    if (!o.token && !o.refreshToken) throw new Error("give a token, a refreshToken function, or both");
    this.options = o;
    this.url = o.url;
    this.backoff = o.backoff instanceof Backoff ? o.backoff : new Backoff(o.backoff);
    this.jwt = o.token || null;
    this.state = "closed";
    this.connections = 0;
    this.repeatsDropped = 0;
    this.onstate = o.onstate || null;
    this.resumeToken = o.storage?.getItem(o.storageKey) || null;
    this._subs = new Map();
    this._publishes = new Map();
    this._dedupe = new PositionDeduper();
    this._progress = new CatchUpTracker();
    this._ws = null;
    this._ready = false;
    this._timer = null;
    this._nextSub = 0;
    this._closed = false;
    this._refreshes = 0;
    this._lastError = null;
  }

  start() {
    if (this._closed) throw new ClientError("client closed", { kind: "closed" });
    if (this.state === "closed" && !this._ws && !this._timer) {
      this._setState("connecting");
      this._connect();
    }
  }

  close() {
    this._closed = true;
    clearTimeout(this._timer);
    this._timer = null;
    const ws = this._ws;
    this._ws = null;
    if (ws) { ws.onclose = null; ws.close(1000, "client closed"); }
    this._finish(null);
  }

  /** from: "latest" | "earliest" | epoch ms; to: epoch ms | {partition: end offset}. */
  subscribe(topic, { id = null, filter = null, from = "latest", to = null } = {}) {
    if (!id) id = `sub-${++this._nextSub}`;
    if (this._subs.has(id)) throw new Error(`subscription id ${id} is already in use`);
    const sub = new Subscription(this, { id, topic, filter, from, to });
    this._subs.set(id, sub);
    if (sub.replays) this._progress.replaying();
    this.start();
    this._send(sub.frame());
    return sub;
  }

  /** Resolves with {event_id, topic, partition, offset} once Kafka acknowledged the event. */
  publish(type, event) {
    this.start();
    const full = completeEvent(type, event, this.options.source);
    const reqId = `pub-${full.metadata.event_id}`.slice(0, 64);
    const existing = this._publishes.get(reqId);
    if (existing) return existing.promise;
    const pending = { reqId, type, event: full, refusals: 0 };
    pending.promise = new Promise((resolve, reject) => Object.assign(pending, { resolve, reject }));
    pending.frame = () => ({ op: "publish", id: reqId, type, event: full });
    this._publishes.set(reqId, pending);
    this._send(pending.frame());
    return pending.promise;
  }

  _unsubscribe(sub) {
    if (this._subs.get(sub.id) === sub) {
      this._subs.delete(sub.id);
      this._dedupe.forget(sub.id);
      this._send({ op: "unsubscribe", id: sub.id });
    }
    sub._end();
  }

  _send(frame) {
    if (this._ready && this._ws && this._ws.readyState === 1) this._ws.send(JSON.stringify(frame));
  }

  _setState(state, detail = {}) {
    if (state === this.state && state !== "reconnecting") return; // each attempt is news
    this.state = state;
    this.onstate?.(state, detail);
  }

  _storeToken(token) {
    this.resumeToken = token;
    const { storage, storageKey } = this.options;
    try {
      if (token) storage?.setItem(storageKey, token); else storage?.removeItem(storageKey);
    } catch { /* storage full or disabled: resume still works within this page */ }
  }

  async _connect() {
    this._timer = null;
    if (this._closed) return;
    const exp = jwtClaims(this.jwt || "").exp;
    if ((!this.jwt || (exp && exp * 1000 <= Date.now())) && !(await this._refreshJwt())) {
      this._fail(new ClientError("the JWT expired and cannot be refreshed", { code: "credentials_expired", kind: "auth" }));
      return;
    }
    if (this._closed) return;
    const ws = new this.options.WebSocket(this.url, [SUBPROTOCOL, `bearer.${this.jwt}`]);
    const opened = Date.now();
    this._ws = ws;
    this._ready = false;
    this._lastError = null;
    ws.onmessage = (msg) => this._handle(msg.data);
    ws.onclose = (ev) => this._closedWith(ws, ev.code, ev.reason, Date.now() - opened);
  }

  async _refreshJwt() {
    if (!this.options.refreshToken) return false;
    try {
      this.jwt = await this.options.refreshToken();
      return Boolean(this.jwt);
    } catch {
      return false;
    }
  }

  /** Why the gateway refused the last upgrade, if it did: {status, code, message}, or null when
   * it did not answer with a refusal (down, unreachable, or the JWT was fine). */
  async _whyRefused() {
    if (!this.options.fetch || !this.jwt) return null;
    const url = this.url.replace(/^ws(s?):/, "http$1:");
    try {
      const answer = await this.options.fetch(url, { headers: { Authorization: `Bearer ${this.jwt}` }, cache: "no-store" });
      if (answer.status !== 401) return null; // 426: the JWT passed; 5xx, 429: an outage
      const body = await answer.json().catch(() => ({}));
      return { status: answer.status, code: String(body.error || ""), message: String(body.message || "") };
    } catch {
      return null; // no answer at all: the gateway is down or unreachable
    }
  }

  async _closedWith(ws, code, reason, lastedMs) {
    if (ws !== this._ws) return;
    const greeted = this._ready;
    this._ws = null;
    this._ready = false;
    this.backoff.connectionLasted(lastedMs);
    let decision = decideClose(code);
    const ourCode = typeof code === "number" && code >= CLOSE_CODES.retry[0] && code <= CLOSE_CODES.terminal[1];
    const refusal = greeted || ourCode ? null : await this._whyRefused(); // never said hello: refused?
    if (this._closed) return;
    if (refusal) {
      decision = decideHandshake(refusal.status, refusal.code);
      if (!decision.reconnect) {
        this._fail(new ClientError(`the gateway refused the token: ${refusal.code}: ${refusal.message}`,
          { code: refusal.code, status: refusal.status, kind: "auth" }));
        return;
      }
    }
    if (decision.tokenRejected && this.options.restartOnTokenRejection) {
      this._storeToken(null);
      for (const sub of this._subs.values()) {
        sub._emit({ kind: "gap", subscription: sub.id, topic: sub.topic, partition: null,
                    range: null, earliest: null, reason: GAP_TOKEN_REJECTED });
      }
    } else if (!decision.reconnect) {
      const err = this._lastError || {};
      this._fail(new ClientError(`closed by the gateway: ${code} ${err.code || reason}`,
        { code: err.code || reason, closeCode: code, kind: decision.tokenRejected ? "token" : "terminated" }));
      return;
    }
    if (decision.refreshCredentials) {
      this._refreshes += 1;
      if (this._refreshes > 3 || !(await this._refreshJwt())) {
        this._fail(new ClientError("the JWT expired and cannot be refreshed", { code: "auth_expired", closeCode: code, kind: "auth" }));
        return;
      }
    }
    if (decision.longerBackoff) this.backoff.penalize();
    if (this._closed) return;
    const delay = this.backoff.nextDelay();
    this._setState("reconnecting", { code, attempt: this.backoff.attempt, delayMs: delay });
    this._timer = setTimeout(() => this._connect(), delay);
  }

  _fail(error) {
    this._closed = true;
    this._finish(error);
  }

  _finish(error) {
    for (const sub of this._subs.values()) sub._end(error);
    this._subs.clear();
    for (const p of this._publishes.values()) p.reject(error || new ClientError("client closed", { kind: "closed" }));
    this._publishes.clear();
    this._setState("closed", { error });
  }

  _handle(data) {
    let frame;
    try { frame = JSON.parse(data); } catch { console.warn("regstream: ignored a non-JSON frame"); return; }
    switch (frame?.op) {
      case "event": this._deliver(frame.id, [frame.event]); break;
      case "batch": this._deliver(frame.id, Array.isArray(frame.events) ? frame.events : []); break;
      case "hello": this._hello(); break;
      case "checkpoint": this._checkpoint(frame); break;
      case "subscribed": this._subscribed(frame); break;
      case "gap": this._gap(frame); break;
      case "caught_up": { const sub = this._subs.get(frame.id); if (sub) { this._subs.delete(frame.id); sub._end(); } break; }
      case "published": this._published(frame); break;
      case "error": this._error(frame); break;
      default: break; // pong, unsubscribed, and ops of newer gateways
    }
  }

  _hello() {
    this.connections += 1;
    this._refreshes = 0;
    this._ready = true;
    let replaying = false;
    for (const sub of this._subs.values()) {
      if (this.resumeToken) this._resubscribe(sub, sub.frame(this.resumeToken));
      else this._resubscribeWithoutToken(sub);
      replaying ||= Boolean(this.resumeToken) || sub.replays;
    }
    for (const p of this._publishes.values()) this._send(p.frame());
    if (replaying) this._progress.replaying();
    this._setState(this._progress.catchingUp ? "catching_up" : "live");
  }

  _resubscribe(sub, frame, recovering = false) {
    sub.awaiting = true;
    sub.recovering = recovering;
    this._send(frame);
  }

  _resubscribeWithoutToken(sub) {
    if (sub.floor === null) this._resubscribe(sub, sub.frame(null));
    else this._resubscribe(sub, sub.frame(null, recoveryStart(sub.spec.from, sub.confirmedAtMs)), true);
  }

  _deliver(subId, items) {
    const sub = this._subs.get(subId);
    const now = Date.now();
    for (const item of items) {
      const pos = item?.position;
      if (!pos || typeof pos.topic !== "string" || ![pos.partition, pos.offset, pos.index].every(Number.isInteger)) {
        console.warn("regstream: ignored an event without a well-formed position");
        continue;
      }
      this._progress.onEvent(item.time, now);
      if (!sub || sub.awaiting) continue;
      if (pos.offset < (sub.floor?.[pos.partition] ?? 0)) this.repeatsDropped += 1;
      else if (!this._dedupe.accept(subId, pos)) this.repeatsDropped += 1;
      else {
        sub._emit({ kind: "event", subscription: subId, position: pos, event_id: item.event_id,
                    type: item.type, time: item.time, payload: item.payload || {},
                    enrichment: item.enrichment || null });
      }
    }
    this._liveState();
  }

  _liveState() {
    if (this.state === "live" || this.state === "catching_up") {
      this._setState(this._progress.catchingUp ? "catching_up" : "live");
    }
  }

  _checkpoint(frame) {
    if (typeof frame.token === "string") this._storeToken(frame.token);
    if (Number.isInteger(frame.seq)) this._send({ op: "ack", seq: frame.seq });
    this._progress.onCheckpoint(Date.now());
    this._liveState();
  }

  _subscribed(frame) {
    const sub = this._subs.get(frame.id);
    if (!sub) return;
    const positions = frame.positions || {};
    if (sub.recovering && !startsInTime(positions, sub.floor || {}, this._dedupe.marksOf(sub.id, sub.topic))) {
      this._send({ op: "unsubscribe", id: sub.id });
      this._resubscribe(sub, sub.frame(null, "earliest"));
      return;
    }
    if (sub.epoch !== null && frame.epoch !== sub.epoch) {
      this._dedupe.forget(sub.id);
      sub.floor = null;
    }
    if (sub.floor === null) { sub.floor = { ...positions }; sub.confirmedAtMs = Date.now(); }
    sub.epoch = frame.epoch ?? null;
    sub.awaiting = sub.recovering = false;
    sub.onsubscribed?.(positions);
  }

  _gap(frame) {
    const sub = this._subs.get(frame.id);
    if (!sub) return;
    const range = Array.isArray(frame.range) && frame.range.length === 2 ? frame.range : null;
    if (!range && Number.isInteger(frame.partition)) this._dedupe.forget(sub.id, frame.partition);
    sub._emit({ kind: "gap", subscription: sub.id, topic: frame.topic, partition: frame.partition ?? null,
                range, earliest: frame.earliest ?? null, reason: frame.reason || "unknown" });
  }

  _published(frame) {
    const p = this._publishes.get(frame.id);
    if (!p) return;
    this._publishes.delete(frame.id);
    const pos = frame.position || {};
    p.resolve({ event_id: p.event.metadata.event_id, topic: pos.topic, partition: pos.partition, offset: pos.offset });
  }

  _error(frame) {
    const p = this._publishes.get(frame.id);
    const sub = this._subs.get(frame.id);
    const later = (fn) => setTimeout(fn, 100 + Math.random() * 500);
    if (CLOSE_CODES.closingErrors.includes(frame.code)) {
      this._lastError = frame; // explains the terminal close that follows
      console.warn(`regstream: gateway error ${frame.code}: ${frame.message}`);
    } else if (p) {
      p.refusals += 1;
      const retriable = frame.retriable === true || ["rate_limited", "too_many_pending_publishes"].includes(frame.code);
      if (retriable && p.refusals <= this.options.publishRetries) {
        later(() => { if (this._publishes.get(p.reqId) === p) this._send(p.frame()); });
        return;
      }
      this._publishes.delete(frame.id);
      p.reject(new ClientError(`publish failed: ${frame.code}: ${frame.message}`, { code: frame.code, retriable: frame.retriable === true, kind: "publish" }));
    } else if (sub) {
      if (frame.code === "not_in_token") this._resubscribeWithoutToken(sub);
      else if (frame.code === "rate_limited") later(() => { if (this._subs.get(sub.id) === sub) this._send(sub.frame(this.resumeToken)); });
      else {
        this._subs.delete(sub.id);
        sub._end(new ClientError(`subscription ${sub.id} refused: ${frame.code}: ${frame.message}`, { code: frame.code, kind: "subscription" }));
      }
    } else {
      this._lastError = frame;
      console.warn(`regstream: gateway error ${frame.code}: ${frame.message}`);
    }
  }
}
