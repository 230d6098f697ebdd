// The incoming-call banner of every page (video's shell tool): a call starting in one of the
// user's conversations rings wherever they are in Cordée, not only on that conversation's page
// (whose own banner, ring.js, says it there). Frames come from the page's messaging socket
// ("cordee:socket-frame", sent by every ChatSocket); a page without one opens it. The socket's
// first frame ("ready") lists the calls already in progress that the user may join, so the banner
// follows the user from page to page until they join or the call ends.
import { ChatSocket } from "../messaging/socket.js";

const box = document.querySelector("[data-call-ringing]");
const text = box?.dataset || {}; // the banner's words, translated like the page (data-text-*)
const strings = { call: text.textCall, teleconsultation: text.textTeleconsultation, join: text.textJoin,
  joinTeleconsultation: text.textJoinTeleconsultation, close: text.textClose };
const calls = new Map(); // call id → its ring frame
const DISMISSED = "cordee.dismissedCalls"; // this tab's closed banners: they stay closed from page to page

function dismissed() {
  try {
    return new Set(JSON.parse(sessionStorage.getItem(DISMISSED) || "[]"));
  } catch {
    return new Set();
  }
}

function dismiss(callId) {
  const ids = dismissed();
  ids.add(callId);
  sessionStorage.setItem(DISMISSED, JSON.stringify([...ids].slice(-20)));
  render();
}

function shownHereAlready(frame) {
  const tool = document.querySelector("[data-call-tool]"); // a conversation's page rings on its own
  return tool && tool.dataset.conversation === String(frame.conversation);
}

function line(frame) {
  const teleconsultation = frame.kind === "teleconsultation";
  const text = document.createElement("span");
  text.textContent = ((teleconsultation ? strings.teleconsultation : strings.call) || "").replace("%(name)s", frame.from);
  const join = document.createElement("a");
  join.className = "button";
  join.href = frame.url;
  join.dataset.callJoin = "";
  join.textContent = teleconsultation ? strings.joinTeleconsultation : strings.join;
  const close = document.createElement("button");
  close.type = "button";
  close.className = "secondary";
  close.dataset.callDismiss = "";
  close.textContent = strings.close;
  close.addEventListener("click", () => dismiss(frame.call));
  const row = document.createElement("p");
  row.append(text, join, close);
  return row;
}

function render() {
  const closed = dismissed();
  const shown = document.querySelector("[data-call]")
    ? []
    : [...calls.values()].filter((f) => !shownHereAlready(f) && !closed.has(f.call));
  box.replaceChildren(...shown.map(line));
  box.hidden = shown.length === 0;
}

function onFrame(frame) {
  if (frame.type === "ready") {
    calls.clear();
    for (const ring of frame.calls || []) calls.set(ring.call, ring);
    box.dataset.ready = "true"; // the calls in progress are known (tests wait for it)
  } else if (frame.type === "call.ring") {
    calls.set(frame.call, frame);
  } else if (frame.type === "call.ended") {
    calls.delete(frame.call);
  } else {
    return;
  }
  render();
}

if (box) {
  document.addEventListener("cordee:socket-frame", (event) => onFrame(event.detail));
  document.addEventListener("DOMContentLoaded", () => {
    if (document.documentElement.dataset.socket) return; // the page's own socket relays its frames
    new ChatSocket(box.dataset.socket, { onFrame: () => {}, onState: () => {} }).connect();
  });
}
