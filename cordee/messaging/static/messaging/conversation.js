// The conversation pane: a JS island over the socket (live messages, sends, catch-up) and the JSON
// API (older pages, edits, files). Every text is put in the page with textContent, never as HTML.
//
// Messages typed while offline wait in an outbox kept in sessionStorage (this tab only, gone when
// the tab closes) rather than in memory alone: a reload or a crash of the page does not lose
// them, and, unlike localStorage, they are not left on the computer nor shared with other tabs
// (which would send them twice). Each carries its idempotency key, so resending after a lost
// acknowledgement never duplicates it.
import { el, renderMessage as render } from "./render.js";
import { ChatSocket, newKey } from "./socket.js";
import { noticeArrived, removeEntry, setUnread } from "./sidebar.js";

const config = JSON.parse(document.getElementById("chat-config").textContent);
const S = config.strings;
const root = document.querySelector("[data-chat]");
const list = root.querySelector("[data-messages]");
const olderButton = root.querySelector("[data-older]");
const composer = root.querySelector("[data-composer]");
const connState = document.querySelector("[data-conn]");
const csrf = document.querySelector("[name=csrfmiddlewaretoken]")?.value || "";
const apiBase = config.api;
const me = config.user;
const conversation = config.conversation;
const outboxKey = `cordee.outbox.${me}.${conversation}`;

const shown = new Map(); // message id -> {payload, element}
let cursor = null; // last conversation number seen in order (catch-up from there)
let oldestSeq = null;
let opened = false;
let removed = false;

const view = {
  me,
  strings: S,
  canWrite: config.canWrite,
  editWindow: config.editWindow,
  onEdit: (m) => startEdit(m),
  onDelete: (m) => removeMessage(m),
};
const renderMessage = (m) => render(m, view);

function place(element, seq) {
  for (const node of list.children) {
    if (node.dataset.seq && Number(node.dataset.seq) > seq) {
      list.insertBefore(element, node);
      return;
    }
    if (node.classList.contains("pending")) {
      list.insertBefore(element, node);
      return;
    }
  }
  list.append(element);
}

function merge(m) {
  if (m.conversation !== conversation || removed) return;
  const known = shown.get(m.id);
  if (known && known.payload.rev_seq >= m.rev_seq) return; // duplicate or older state
  const element = renderMessage(m);
  if (known) known.element.replaceWith(element);
  else place(element, m.seq);
  shown.set(m.id, { payload: m, element });
  const pending = list.querySelector(`[data-key="${CSS.escape(m.key)}"]`);
  if (pending && m.sender === me) pending.remove();
  if (oldestSeq === null || m.seq < oldestSeq) oldestSeq = m.seq;
}

function scrollToEnd() {
  list.lastElementChild?.scrollIntoView({ block: "end" });
}

// --- outbox ------------------------------------------------------------------------------

function loadOutbox() {
  try {
    return JSON.parse(sessionStorage.getItem(outboxKey) || "[]");
  } catch {
    return [];
  }
}

function saveOutbox(items) {
  if (items.length) sessionStorage.setItem(outboxKey, JSON.stringify(items));
  else sessionStorage.removeItem(outboxKey);
}

function renderPending(item, status) {
  let li = list.querySelector(`[data-key="${CSS.escape(item.key)}"]`);
  if (!li) {
    li = el("li", "msg mine pending");
    li.dataset.key = item.key;
    li.append(el("p", "msg-meta"), el("p", "msg-body", item.body));
    list.append(li);
  }
  const meta = li.querySelector(".msg-meta");
  meta.replaceChildren(el("span", "msg-author", S.you), " ", el("span", "msg-state", status));
  return li;
}

function failPending(key, message, { keep }) {
  const item = loadOutbox().find((i) => i.key === key);
  if (!keep) saveOutbox(loadOutbox().filter((i) => i.key !== key));
  if (!item) return;
  const li = renderPending(item, `${S.failed} — ${message}`);
  li.classList.add("failed");
  if (keep && !li.querySelector("button")) {
    const retry = el("button", "link-button", S.retry);
    retry.type = "button";
    retry.addEventListener("click", () => flushOutbox());
    li.append(retry);
  }
}

function flushOutbox() {
  for (const item of loadOutbox()) {
    const sent = socket.send({ type: "send", conversation, ...item });
    renderPending(item, sent ? S.sending : S.offline);
  }
}

function mentionsIn(body) {
  return config.members.filter((m) => m.id !== me && body.includes(`@${m.name}`)).map((m) => m.id);
}

// --- socket ------------------------------------------------------------------------------

function openThread() {
  socket.send({ type: "open", conversation, after: cursor });
}

function markRead() {
  if (document.visibilityState !== "visible" || !config.canWrite) return;
  let last = 0;
  for (const { payload } of shown.values()) last = Math.max(last, payload.seq);
  if (last) socket.send({ type: "read", conversation, seq: last });
}

function onHistory(frame) {
  const first = !opened;
  if (first) list.replaceChildren();
  for (const m of frame.messages) merge(m);
  for (const item of loadOutbox()) renderPending(item, S.sending);
  if (first) {
    opened = true;
    olderButton.hidden = !frame.more_before;
  }
  cursor = frame.last_seq;
  advance(cursor);
  if (frame.more_after) openThread();
  else {
    flushOutbox();
    scrollToEnd();
    markRead();
  }
}

// New messages of others are announced one by one; the history shown at opening, one's own
// messages (pending, then confirmed) and edits are not (the list itself is not a live region).
function announce(m) {
  const region = document.querySelector("[data-chat-announce]");
  if (!region || m.sender === me || m.deleted || shown.has(m.id)) return;
  const text = (S.new_from || "").replace("%(name)s", m.sender_name).replace("%(text)s", (m.body || "").slice(0, 300));
  region.textContent = text;
}

// Numbers come in order per conversation, but not always per socket: one's own message is
// confirmed by a separate task, so another member's next one may arrive first. A gap waits a
// moment for the missing numbers; only a gap still open after GAP_WAIT_MS costs a catch-up.
const GAP_WAIT_MS = 600;
const ahead = new Set(); // numbers received past the cursor, waiting for the ones before
let gapTimer = null;

function advance(n) {
  if (cursor === null) return;
  if (n > cursor) ahead.add(n);
  for (const k of ahead) if (k <= cursor) ahead.delete(k);
  while (ahead.delete(cursor + 1)) cursor += 1;
  if (!ahead.size) {
    clearTimeout(gapTimer);
    gapTimer = null;
  } else if (gapTimer === null) {
    gapTimer = setTimeout(() => {
      gapTimer = null;
      if (ahead.size) openThread(); // still missing: catch up from the cursor, nothing lost
    }, GAP_WAIT_MS);
  }
}

function onLive(m) {
  if (opened) announce(m);
  merge(m);
  advance(m.rev_seq);
  scrollToEnd();
  markRead();
}

function onFrame(frame) {
  switch (frame.type) {
    case "ready":
      openThread();
      break;
    case "history":
      if (frame.conversation === conversation) onHistory(frame);
      break;
    case "message":
      if (frame.message.conversation === conversation) onLive(frame.message);
      break;
    case "ack":
      saveOutbox(loadOutbox().filter((i) => i.key !== frame.key));
      if (frame.message) onLive(frame.message);
      break;
    case "notice":
      if (frame.conversation !== conversation) noticeArrived(frame, me, S);
      break;
    case "read":
      setUnread(frame.conversation, 0, S);
      break;
    case "conversation":
      if (frame.state.id === conversation) setClosed(frame.state.replies_closed);
      break;
    case "removed":
      if (frame.conversation === conversation) lockOut();
      else removeEntry(frame.conversation);
      break;
    case "error":
      if (frame.key) failPending(frame.key, S[`error.${frame.code}`] || frame.message, { keep: frame.code === "conflict" });
      else if (frame.code === "not_found" && frame.conversation === conversation) lockOut();
      break;
    default:
      break; // frames of the modules above messaging (calls): their scripts hear "cordee:socket-frame"
  }
}

function setClosed(closed) {
  if (!composer || !config.patientView) return;
  composer.querySelector("[data-body]").disabled = closed;
  composer.querySelector("[data-send]").disabled = closed;
  status(closed ? S.closed : "");
}

function lockOut() {
  removed = true;
  list.replaceChildren(el("li", "notice warning", S.removed));
  shown.clear();
  saveOutbox([]);
  if (composer) composer.hidden = true;
  olderButton.hidden = true;
  removeEntry(conversation);
}

function status(text) {
  const line = composer?.querySelector("[data-status]");
  if (line) line.textContent = text;
}

const socket = new ChatSocket(config.socket, {
  onFrame,
  onState: (name) => {
    connState.textContent = S[name] || name;
    connState.dataset.state = name;
  },
});

// --- API calls ---------------------------------------------------------------------------

async function api(path, options = {}) {
  const headers = { "X-CSRFToken": csrf, ...(options.headers || {}) };
  const response = await fetch(apiBase + path, { credentials: "same-origin", ...options, headers });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new Error((data && data.detail) || response.statusText);
  return data;
}

async function loadOlder() {
  olderButton.disabled = true;
  try {
    const page = await api(`conversations/${conversation}/messages?before=${oldestSeq}`);
    for (const m of page.messages) merge(m);
    olderButton.hidden = !page.more_before;
  } finally {
    olderButton.disabled = false;
  }
}

function startEdit(m) {
  const known = shown.get(m.id);
  if (!known) return;
  const form = el("form", "msg-edit");
  const area = el("textarea");
  area.value = m.body;
  area.setAttribute("aria-label", S.edit);
  const save = el("button", "", S.save);
  const cancel = el("button", "secondary", S.cancel);
  cancel.type = "button";
  cancel.addEventListener("click", () => {
    const fresh = renderMessage(known.payload);
    known.element.replaceWith(fresh);
    known.element = fresh;
  });
  form.append(area, save, cancel);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      merge(await api(`messages/${m.id}`, { method: "PATCH", body: JSON.stringify({ body: area.value }), headers: { "Content-Type": "application/json" } }));
    } catch (error) {
      status(error.message);
    }
  });
  known.element.replaceChildren(form);
  area.focus();
}

async function removeMessage(m) {
  if (!window.confirm(S.confirm_delete)) return;
  try {
    await api(`messages/${m.id}`, { method: "DELETE" });
  } catch (error) {
    status(error.message);
  }
}

// --- composer ----------------------------------------------------------------------------

let pendingFiles = [];

function renderPendingFiles() {
  const holder = composer.querySelector("[data-pending-files]");
  holder.replaceChildren();
  for (const file of pendingFiles) {
    const chip = el("span", "badge", file.name);
    const drop = el("button", "link-button", "×");
    drop.type = "button";
    drop.setAttribute("aria-label", `${S.delete} ${file.name}`);
    drop.addEventListener("click", () => {
      pendingFiles = pendingFiles.filter((f) => f.id !== file.id);
      renderPendingFiles();
    });
    chip.append(drop);
    holder.append(chip);
  }
}

async function upload(file) {
  if (file.size > config.maxUpload) {
    status(S.upload_failed);
    return;
  }
  status(S.uploading);
  try {
    const attachment = await api(`conversations/${conversation}/attachments`, {
      method: "POST",
      body: file,
      headers: { "Content-Type": "application/octet-stream", "X-File-Name": encodeURIComponent(file.name) },
    });
    pendingFiles.push(attachment);
    renderPendingFiles();
    status("");
  } catch (error) {
    status(`${S.upload_failed} ${error.message}`);
  }
}

function submit(event) {
  event.preventDefault();
  const area = composer.querySelector("[data-body]");
  const urgent = composer.querySelector("[data-urgent]");
  const body = area.value.trim();
  if (!body && !pendingFiles.length) return;
  const item = {
    key: newKey(),
    body,
    urgent: urgent.checked,
    mentions: mentionsIn(body),
    attachments: pendingFiles.map((f) => f.id),
  };
  saveOutbox([...loadOutbox(), item]);
  area.value = "";
  urgent.checked = false;
  pendingFiles = [];
  renderPendingFiles();
  const sent = socket.send({ type: "send", conversation, ...item });
  renderPending(item, sent ? S.sending : S.offline);
  scrollToEnd();
  area.focus();
}

if (composer) {
  composer.addEventListener("submit", submit);
  composer.querySelector("[data-body]").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) submit(event);
  });
  composer.querySelector("[data-file]").addEventListener("change", async (event) => {
    for (const file of event.target.files) await upload(file);
    event.target.value = "";
  });
  setClosed(config.repliesClosed);
}
olderButton.addEventListener("click", loadOlder);
document.addEventListener("visibilitychange", markRead);
for (const item of loadOutbox()) renderPending(item, S.offline);
socket.connect();
