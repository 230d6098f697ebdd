// A small client of Janus's WebSocket API (one session, its plugin handles), enough for the
// VideoRoom: requests are matched to their answers by transaction; a plugin's asynchronous events
// (and an event answering a request, which comes after its "ack") go to the handle's listener.
// The token is Cordée's signed Janus token, renewed by the call page before it expires.

export class JanusSession {
  constructor(url, token, { onClose } = {}) {
    this.url = url;
    this.token = token;
    this.onClose = onClose;
    this.pending = new Map(); // transaction -> {resolve, reject, event: wait for the plugin's event}
    this.handles = new Map(); // handle id -> listener(message)
    this.closed = false;
  }

  open() {
    return new Promise((resolve, reject) => {
      this.ws = new WebSocket(this.url, "janus-protocol");
      this.ws.addEventListener("open", async () => {
        try {
          const created = await this.request({ janus: "create" });
          this.id = created.data.id;
          this.keepalive = setInterval(() => this.send({ janus: "keepalive" }), 25_000);
          resolve(this);
        } catch (error) {
          reject(error);
        }
      });
      this.ws.addEventListener("error", () => reject(new Error("janus-unreachable")));
      this.ws.addEventListener("close", () => {
        clearInterval(this.keepalive);
        for (const waiting of this.pending.values()) waiting.reject(new Error("janus-closed"));
        this.pending.clear();
        if (!this.closed) this.onClose?.();
      });
      this.ws.addEventListener("message", (event) => this.receive(JSON.parse(event.data)));
    });
  }

  receive(message) {
    const waiting = message.transaction && this.pending.get(message.transaction);
    if (waiting) {
      if (message.janus === "ack" && waiting.event) return; // the plugin's event follows
      this.pending.delete(message.transaction);
      if (message.janus === "error") waiting.reject(new Error(message.error?.reason || "janus-error"));
      else if (message.plugindata?.data?.error_code) waiting.reject(new Error(message.plugindata.data.error));
      else waiting.resolve(message);
      return;
    }
    const listener = message.sender && this.handles.get(message.sender);
    if (listener) listener(message);
  }

  send(message) {
    const transaction = Math.random().toString(36).slice(2) + Date.now().toString(36);
    const full = { ...message, transaction, token: this.token };
    if (this.id) full.session_id = this.id;
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(full));
    return transaction;
  }

  request(message, { event = false } = {}) {
    return new Promise((resolve, reject) => {
      const transaction = this.send(message);
      this.pending.set(transaction, { resolve, reject, event });
    });
  }

  async attach(listener) {
    const attached = await this.request({ janus: "attach", plugin: "janus.plugin.videoroom" });
    const handle = attached.data.id;
    this.handles.set(handle, listener);
    return {
      id: handle,
      // A plugin request answered by an event (join, configure, start…): the event's message.
      message: (body, jsep) => this.request({ janus: "message", handle_id: handle, body, ...(jsep ? { jsep } : {}) }, { event: true }),
      trickle: (candidate) => this.send({ janus: "trickle", handle_id: handle, candidate: candidate || { completed: true } }),
      detach: () => {
        this.handles.delete(handle);
        this.send({ janus: "detach", handle_id: handle });
      },
    };
  }

  close() {
    this.closed = true;
    clearInterval(this.keepalive);
    if (this.ws?.readyState === WebSocket.OPEN) this.send({ janus: "destroy" });
    this.ws?.close();
  }
}
