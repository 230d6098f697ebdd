// The messaging socket: reconnects with backoff, pings to notice a dead link, reports its state.
// The session cookie authenticates it (no token in the URL); the server checks the Origin.
// Every frame also goes out as a "cordee:socket-frame" DOM event, for the scripts of modules above
// messaging (calls); <html data-socket> tells them that this page has its socket open.

export class ChatSocket {
  constructor(path, { onFrame, onState }) {
    this.url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
    this.onFrame = onFrame;
    this.onState = onState;
    this.ws = null;
    this.ready = false;
    this.delay = 1000;
    this.pingTimer = null;
    this.pongTimer = null;
    this.stopped = false;
    document.documentElement.dataset.socket = "open";
    window.addEventListener("online", () => this.reconnectNow());
  }

  connect() {
    if (this.stopped) return;
    this.ready = false;
    this.onState("connecting");
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.addEventListener("message", (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame.type === "pong") {
        clearTimeout(this.pongTimer);
        return;
      }
      if (frame.type === "ready") {
        this.ready = true;
        this.delay = 1000;
        this.onState("online");
        this.startPing();
      }
      this.onFrame(frame);
      document.dispatchEvent(new CustomEvent("cordee:socket-frame", { detail: frame }));
    });
    ws.addEventListener("close", (event) => {
      if (this.ws !== ws) return;
      this.ready = false;
      this.stopPing();
      this.onState(event.code === 4401 ? "signed-out" : "offline");
      if (event.code === 4401) return; // the session ended: reconnecting would not help
      const wait = this.delay + Math.random() * 500;
      this.delay = Math.min(this.delay * 2, 15000);
      this.retryTimer = setTimeout(() => this.connect(), wait);
    });
  }

  reconnectNow() {
    if (this.ready || this.stopped) return;
    clearTimeout(this.retryTimer);
    this.delay = 1000;
    if (this.ws && this.ws.readyState === WebSocket.CONNECTING) return;
    this.connect();
  }

  startPing() {
    this.stopPing();
    this.pingTimer = setInterval(() => {
      if (!this.send({ type: "ping" })) return;
      clearTimeout(this.pongTimer);
      this.pongTimer = setTimeout(() => this.ws && this.ws.close(), 10000);
    }, 25000);
  }

  stopPing() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
  }

  send(frame) {
    if (!this.ready || !this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }
}

// Client-chosen idempotency key: a resend after a lost acknowledgement is the same message.
export function newKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
