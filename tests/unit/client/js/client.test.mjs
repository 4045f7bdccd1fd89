// Unit tests of gateway/static/client.js under node's test runner, with a fake WebSocket
// class standing in for the browser's (run by tests/unit/client/test_client_js.py).
import assert from "node:assert/strict";
import { test } from "node:test";
import { Backoff, Client, CatchUpTracker, GAP_TOKEN_REJECTED, PositionDeduper, completeEvent,
         decideClose, decideHandshake, jwtClaims, recoveryStart, startsInTime } from "../../../../gateway/static/client.js";

test("backoff: capped exponential, full jitter, reset only after a stable connection", () => {
  const b = new Backoff({ baseMs: 500, capMs: 4000, random: () => 1 });
  assert.deepEqual([1, 2, 3, 4, 5].map(() => b.nextDelay()), [500, 1000, 2000, 4000, 4000]);
  b.connectionLasted(9999);
  assert.equal(b.attempt, 5);
  b.connectionLasted(10000);
  assert.equal(b.attempt, 0);
  assert.equal(new Backoff({ random: () => 0 }).nextDelay(), 0);
  b.penalize();
  assert.equal(b.attempt, 5);
});

test("close codes: the range decides", () => {
  for (const code of [4000, 4001, 4003, 4499, 1006, 1001, undefined]) assert.ok(decideClose(code).reconnect, code);
  for (const code of [4500, 4510, 4520, 4999]) assert.ok(!decideClose(code).reconnect, code);
  assert.ok(decideClose(4002).refreshCredentials);
  assert.ok(decideClose(4004).longerBackoff);
  assert.ok(decideClose(4511).tokenRejected);
  assert.ok(!decideClose(4500).tokenRejected);
});

test("dedupe: one high-water mark per partition", () => {
  const d = new PositionDeduper();
  const p = (partition, offset, index = 0) => ({ topic: "T", partition, offset, index });
  assert.deepEqual([p(0, 1), p(0, 1, 1), p(1, 0), p(0, 1), p(0, 0), p(0, 2)].map((x) => d.accept("s", x)),
                   [true, true, true, false, false, true]);
  assert.equal(d.size, 2);
  d.forget("s", 0);
  assert.ok(d.accept("s", p(0, 0)));
});

test("catch-up tracker and helpers", () => {
  const t = new CatchUpTracker();
  t.replaying();
  t.onEvent(0, 60000);
  t.onCheckpoint(60050);
  assert.ok(t.catchingUp);
  t.onCheckpoint(60300);
  assert.ok(!t.catchingUp);
  const body = Buffer.from(JSON.stringify({ sub: "ana", exp: 5 })).toString("base64url");
  assert.deepEqual(jwtClaims(`h.${body}.s`), { sub: "ana", exp: 5 });
  assert.deepEqual(jwtClaims("garbage"), {});
  const e = completeEvent("CollaborationEvent", { content: "x" }, "dash", 7);
  assert.equal(completeEvent("CollaborationEvent", e, "other").metadata.event_id, e.metadata.event_id);
});

// -- the client against a scripted fake socket ------------------------------------------------

class FakeSocket {
  static all = [];
  constructor(url, protocols) {
    Object.assign(this, { url, protocols, readyState: 1, sent: [] });
    FakeSocket.all.push(this);
    queueMicrotask(() => this.serve({ op: "hello", version: "regstream.v1" }));
  }
  send(text) { this.sent.push(JSON.parse(text)); }
  serve(frame) { this.onmessage?.({ data: JSON.stringify(frame) }); }
  drop(code = 1006, reason = "") { this.readyState = 3; this.onclose?.({ code, reason }); }
  close() { this.readyState = 3; }
}

const until = async (check) => {
  for (let i = 0; i < 1000 && !check(); i++) await new Promise((r) => setTimeout(r, 2));
  assert.ok(check(), "condition not reached");
};
const confirm = (id, positions = { 0: 0 }) => ({ op: "subscribed", id, topic: "T", epoch: "e1", positions });
const batch = (id, offsets) => ({ op: "batch", id, events: offsets.map((offset) => ({
  position: { topic: "T", partition: 0, offset, index: 0 }, event_id: `e${offset}`, type: "T", time: 1 })) });

function newClient(extra = {}) {
  FakeSocket.all = [];
  const storage = new Map();
  const store = { getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => storage.set(k, v), removeItem: (k) => storage.delete(k) };
  return new Client({ url: "ws://x/ws", token: "jwt", WebSocket: FakeSocket, storage: store,
                      backoff: { baseMs: 1, capMs: 2 }, ...extra });
}

test("reconnect resumes from the stored token and drops repeats", async () => {
  const client = newClient();
  const seen = [];
  const sub = client.subscribe("T", { id: "feed" });
  sub.onevent = (e) => seen.push(e.position.offset);
  await until(() => FakeSocket.all[0]?.sent.length === 1);
  const first = FakeSocket.all[0];
  assert.deepEqual(first.protocols, ["regstream.v1", "bearer.jwt"]);
  assert.equal(first.sent[0].from, "latest");
  first.serve(batch("feed", [99]));  // before `subscribed`: cannot be this subscription's
  first.serve(confirm("feed"));
  first.serve(batch("feed", [0, 1, 2]));
  first.serve({ op: "checkpoint", seq: 1, token: "T2" });
  first.serve(batch("feed", [3]));
  first.drop();
  assert.equal(client.state, "reconnecting");
  await until(() => FakeSocket.all[1]?.sent.length >= 1);
  const second = FakeSocket.all[1];
  assert.deepEqual(second.sent[0].from, { token: "T2" });
  assert.equal(client.options.storage.getItem("regstream.resume"), "T2");
  second.serve(confirm("feed", { 0: 3 }));
  second.serve(batch("feed", [3, 4]));
  assert.deepEqual(seen, [0, 1, 2, 3, 4]);
  client.close();
});

test("a rejected token is dropped, told as a gap, and the subscription starts over", async () => {
  const client = newClient({ restartOnTokenRejection: true });
  client._storeToken("stale");
  const items = [];
  const sub = client.subscribe("T", { id: "feed" });
  sub.onevent = (e) => items.push(e.position.offset);
  sub.ongap = (g) => items.push(g.reason);
  await until(() => FakeSocket.all[0]?.sent.length === 1);
  assert.deepEqual(FakeSocket.all[0].sent[0].from, { token: "stale" });
  FakeSocket.all[0].drop(4513, "token_unknown_key");
  await until(() => FakeSocket.all[1]?.sent.length >= 1);
  assert.equal(FakeSocket.all[1].sent[0].from, "latest");
  FakeSocket.all[1].serve(confirm("feed", { 0: 9 }));
  FakeSocket.all[1].serve(batch("feed", [9]));
  assert.deepEqual(items, [GAP_TOKEN_REJECTED, 9]);
  client.close();
});

test("terminal close stops and raises from the iterator", async () => {
  const client = newClient();
  const sub = client.subscribe("T", { id: "feed" });
  const iterator = sub[Symbol.asyncIterator]();
  await until(() => FakeSocket.all[0]?.sent.length === 1);
  FakeSocket.all[0].serve(confirm("feed"));
  FakeSocket.all[0].serve(batch("feed", [5]));
  FakeSocket.all[0].serve({ op: "error", code: "frame_too_large", message: "big" });
  FakeSocket.all[0].drop(4500, "frame_too_large");
  assert.equal((await iterator.next()).value.position.offset, 5);
  await assert.rejects(iterator.next(), (err) => err.closeCode === 4500 && err.code === "frame_too_large");
  assert.equal(client.state, "closed");
  assert.equal(FakeSocket.all.length, 1);
});

test("publish keeps its event_id across a lost connection", async () => {
  const client = newClient();
  const done = client.publish("CollaborationEvent", { session_id: "s", sender_id: "u", content: "ok" });
  await until(() => FakeSocket.all[0]?.sent.length === 1);
  const firstId = FakeSocket.all[0].sent[0].event.metadata.event_id;
  FakeSocket.all[0].drop();
  await until(() => FakeSocket.all[1]?.sent.length === 1);
  const frame = FakeSocket.all[1].sent[0];
  assert.equal(frame.event.metadata.event_id, firstId);
  FakeSocket.all[1].serve({ op: "published", id: frame.id, position: { topic: "CollaborationEvent", partition: 1, offset: 3 } });
  assert.deepEqual(await done, { event_id: firstId, topic: "CollaborationEvent", partition: 1, offset: 3 });
  client.close();
});

test("an expired JWT is refreshed before connecting", async () => {
  const expired = `h.${Buffer.from(JSON.stringify({ exp: 1 })).toString("base64url")}.s`;
  const client = newClient({ token: expired, refreshToken: async () => "fresh" });
  client.subscribe("T");
  await until(() => FakeSocket.all.length === 1);
  assert.deepEqual(FakeSocket.all[0].protocols, ["regstream.v1", "bearer.fresh"]);
  client.close();
});

test("recovery: no checkpoint yet, restart from before the first confirmation", async () => {
  assert.deepEqual(recoveryStart("latest", 160000), { timestamp: 100000 });
  assert.equal(recoveryStart("earliest", 5), "earliest");
  assert.ok(startsInTime({ 0: 15, 1: 20 }, { 0: 10, 1: 20 }, { 0: 15 }));
  assert.ok(!startsInTime({ 0: 16 }, { 0: 10 }, { 0: 15 }));
  const client = newClient();
  const seen = [];
  client.subscribe("T", { id: "feed" }).onevent = (e) => seen.push(e.position.offset);
  await until(() => FakeSocket.all[0]?.sent.length === 1);
  FakeSocket.all[0].serve(confirm("feed", { 0: 10 }));
  FakeSocket.all[0].serve(batch("feed", [10]));
  FakeSocket.all[0].drop();
  await until(() => FakeSocket.all[1]?.sent.length === 1);
  const second = FakeSocket.all[1];
  assert.ok("timestamp" in second.sent[0].from);
  second.serve(confirm("feed", { 0: 12 }));  // starts past 11: the producer clock lags
  second.serve(batch("feed", [12]));          // stale, never delivered
  assert.deepEqual(second.sent.slice(1).map((f) => [f.op, f.from]), [["unsubscribe", undefined], ["subscribe", "earliest"]]);
  second.serve(confirm("feed", { 0: 0 }));
  second.serve(batch("feed", [0, 10, 11, 12]));
  assert.deepEqual(seen, [10, 11, 12]);
  client.close();
});

// -- a refused JWT is told from an outage -----------------------------------------------------

class RefusedSocket extends FakeSocket {
  constructor(url, protocols) {
    super(url, protocols);
    this.serve = () => {};  // the handshake fails: no hello, the browser reports 1006
    queueMicrotask(() => this.drop(1006));
  }
}

test("handshake refusals: the status decides, like the Python SDK", () => {
  assert.deepEqual(decideHandshake(401, "invalid_credentials"), { reconnect: false });
  assert.deepEqual(decideHandshake(401, "credentials_expired"), { reconnect: true, refreshCredentials: true });
  assert.deepEqual(decideHandshake(503, "auth_unavailable"), { reconnect: true, longerBackoff: false });
  assert.deepEqual(decideHandshake(429, "too_many_connections"), { reconnect: true, longerBackoff: true });
});

test("a refused JWT stops the client with the gateway's reason, after one question", async () => {
  const asked = [];
  const fetch = async (url, init) => {
    asked.push([url, init.headers.Authorization]);
    return { status: 401, json: async () => ({ error: "invalid_credentials", message: "signature does not verify" }) };
  };
  const states = [];
  const client = newClient({ WebSocket: RefusedSocket, fetch, onstate: (s, d) => states.push([s, d.error?.kind, d.error?.code]) });
  FakeSocket.all = [];
  client.subscribe("T");
  await until(() => client.state === "closed");
  assert.deepEqual(asked, [["http://x/ws", "Bearer jwt"]]);
  assert.deepEqual(states.at(-1), ["closed", "auth", "invalid_credentials"]);
  assert.equal(FakeSocket.all.length, 1, "no reconnect with a token the gateway refuses");
});

test("an outage is retried and every attempt is counted", async () => {
  const fetch = async () => { throw new TypeError("Failed to fetch"); };  // nobody answers
  const attempts = [];
  const client = newClient({ WebSocket: RefusedSocket, fetch, onstate: (s, d) => { if (s === "reconnecting") attempts.push(d.attempt); } });
  FakeSocket.all = [];
  client.subscribe("T");
  await until(() => attempts.length >= 3);
  client.close();
  assert.deepEqual(attempts.slice(0, 3), [1, 2, 3]);
});
