/**
 * RealtimeClient: a dependency-free browser client for the tenant's `/ws/`.
 *
 *   import RealtimeClient from "/static/realtime/client.js";
 *   const rt = new RealtimeClient();            // session cookie (same origin)
 *   // or: new RealtimeClient({ getTicket })    // async () => ticket string
 *   rt.on("notification.created", (frame) => …);  // or "*" for every event
 *   rt.on("open" | "close" | "reset" | "error", (frame) => …);
 *   rt.subscribe("room:1");
 *
 * It reconnects with exponential backoff and full jitter (1 s doubling up to
 * 30 s, reset once a connection is welcomed). On each connection it
 * re-subscribes the channels asked for, then resumes after the last event id
 * it saw, so the server replays what was missed in order; the first
 * connection instead takes the welcome's `last_event_id` as its reference and
 * sends `ping` to go live. A `reset` frame means the log no longer reaches
 * back that far: it is emitted (refetch state) and the client goes on from
 * the current connection's welcome id.
 */

const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 30000;

/** Event ids ("<ms>-<seq>") ordered as two integers: <0, 0 or >0. */
export function compareIds(a, b) {
  const [am, as = 0] = a.split("-").map(Number);
  const [bm, bs = 0] = b.split("-").map(Number);
  return am - bm || as - bs;
}

export class RealtimeClient {
  /**
   * @param {object} [options]
   * @param {string} [options.url] defaults to ws(s)://<this host>/ws/
   * @param {() => Promise<string>} [options.getTicket] called before each
   *   (re)connect; the ticket goes in the URL as ?ticket=…
   * @param {string} [options.lastEventId] resume after this id on the first connect
   */
  constructor({ url, getTicket, lastEventId } = {}) {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    this.url = url || `${scheme}//${location.host}/ws/`;
    this.getTicket = getTicket || null;
    this.lastId = lastEventId || null;
    this.channels = new Set();
    this.handlers = new Map();
    this.ws = null;
    this.live = false; // the current socket has been welcomed
    this.everWelcomed = false;
    this.welcomeId = null;
    this.attempt = 0;
    this.timer = null;
    this.closed = false;
    this._connect();
  }

  on(name, fn) {
    if (!this.handlers.has(name)) this.handlers.set(name, new Set());
    this.handlers.get(name).add(fn);
    return () => this.handlers.get(name).delete(fn);
  }

  subscribe(channel) {
    this.channels.add(channel);
    if (this.live) this.send({ type: "subscribe", channel });
  }

  unsubscribe(channel) {
    this.channels.delete(channel);
    if (this.live) this.send({ type: "unsubscribe", channel });
  }

  /** Send a frame on the live socket; false when not connected. */
  send(frame) {
    if (!this.live || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** Close for good (no reconnect). */
  close() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close(1000);
  }

  // --- internals ------------------------------------------------------------

  _emit(name, payload) {
    for (const fn of this.handlers.get(name) || []) {
      try {
        fn(payload);
      } catch (err) {
        console.error(`realtime: "${name}" handler failed`, err);
      }
    }
  }

  async _connect() {
    if (this.closed) return;
    let url = this.url;
    if (this.getTicket) {
      try {
        url += `?ticket=${encodeURIComponent(await this.getTicket())}`;
      } catch (err) {
        this._emit("error", { type: "error", code: "ticket_failed", message: String(err) });
        return this._retry();
      }
      if (this.closed) return;
    }
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onmessage = (msg) => ws === this.ws && this._receive(msg.data);
    ws.onclose = (ev) => {
      if (ws !== this.ws) return;
      this.live = false;
      this._emit("close", { code: ev.code, reason: ev.reason, reconnecting: !this.closed });
      this._retry();
    };
  }

  _retry() {
    if (this.closed) return;
    const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** this.attempt);
    this.attempt += 1;
    this.timer = setTimeout(() => this._connect(), Math.random() * cap);
  }

  _receive(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    switch (frame.type) {
      case "welcome":
        return this._welcome(frame);
      case "event":
        // The server never repeats an id on one connection; keep the highest.
        if (!this.lastId || compareIds(frame.id, this.lastId) > 0) this.lastId = frame.id;
        this._emit(frame.event, frame);
        return this._emit("*", frame);
      case "reset":
        this.lastId = this.welcomeId;
        return this._emit("reset", frame);
      case "error":
        return this._emit("error", frame);
    }
  }

  _welcome(frame) {
    const first = !this.everWelcomed;
    this.everWelcomed = true;
    this.welcomeId = frame.last_event_id;
    this.attempt = 0;
    this.live = true;
    const resumeFrom = this.lastId;
    if (first && !resumeFrom) this.lastId = frame.last_event_id;
    for (const channel of this.channels) this.send({ type: "subscribe", channel });
    this.send(resumeFrom ? { type: "resume", last_event_id: resumeFrom } : { type: "ping" });
    this._emit("open", frame);
  }
}

export default RealtimeClient;
