// The call page: a mesh of RTCPeerConnections (one per other participant, 4 people at most),
// signalled over messaging's socket (call.join / call.offer / call.answer / call.ice …). Media go
// from browser to browser, or through the TURN relay; Cordée's servers never see them.
//
// Who offers: the one who arrives (joins, or is admitted) offers to everyone already there; the
// others answer. The offerer of a pair also restarts ICE when the connection fails (the network
// changed), with fresh TURN credentials. Camera, microphone and screen changes replace the
// tracks of the senders: no renegotiation.
//
// A conversation larger than the mesh calls through the SFU (Janus's VideoRoom) when Cordée has one:
// the page then publishes its camera once to Janus and subscribes to each other participant's
// feed there, with the room access and the signed token Cordée gave it on joining.
import { ChatSocket } from "../messaging/socket.js";
import { JanusSession } from "./janus.js";

const config = JSON.parse(document.getElementById("call-config").textContent);
const S = config.strings;
const root = document.querySelector("[data-call]");
const tiles = root.querySelector("[data-tiles]");
const statusLine = root.querySelector("[data-call-status]");
const durationLine = root.querySelector("[data-call-duration]");
const waitingBox = root.querySelector("[data-waiting-list]");
const waitingList = root.querySelector("[data-waiting]");
const backUrl = root.querySelector(".call-back a")?.getAttribute("href") || "/";

const peers = new Map(); // user id -> {pc, offerer, name, tile, pending: [candidates], quality}
let ice = config.ice;
let local = null; // the camera + microphone stream
let screen = null; // the screen being shared, if any
let joined = false;
let over = false;

function say(text) {
  statusLine.textContent = text;
}

function format(text, values) {
  return text.replace(/%\((\w+)\)s/g, (_, key) => values[key] ?? "");
}

// --- tiles ---------------------------------------------------------------------------------

function tile(id, name, { self = false } = {}) {
  const figure = document.createElement("figure");
  figure.className = "call-tile" + (self ? " self" : "");
  figure.dataset.user = String(id);
  const video = document.createElement("video");
  video.autoplay = true;
  video.playsInline = true;
  video.muted = self; // never hear oneself
  const caption = document.createElement("figcaption");
  const who = document.createElement("span");
  who.textContent = self ? `${name} (${S.you})` : name;
  const state = document.createElement("span");
  state.className = "state";
  state.dataset.state = self ? "connected" : "new";
  state.textContent = self ? "" : S["state.new"];
  if (self) state.hidden = true;
  const quality = document.createElement("span");
  quality.className = "quality";
  quality.hidden = true;
  const flags = document.createElement("span");
  flags.className = "flags";
  flags.hidden = true;
  caption.append(who, state, quality, flags);
  figure.append(video, caption);
  figure.addEventListener("click", () => setSpeaker(figure));
  tiles.append(figure);
  return figure;
}

function setSpeaker(figure) {
  for (const other of tiles.children) other.classList.toggle("speaker", other === figure);
}

function setTileState(peer, state) {
  const label = peer.tile.querySelector(".state");
  label.dataset.state = state;
  label.textContent = S[`state.${state}`] || state;
}

// --- media ---------------------------------------------------------------------------------

async function startMedia() {
  try {
    local = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 360 } });
  } catch {
    say(S.mediaError);
    local = new MediaStream(); // join anyway: receive the others
  }
  const mine = tile(config.user, config.name, { self: true });
  mine.querySelector("video").srcObject = local;
  await fillDevices();
}

async function fillDevices() {
  const cameras = root.querySelector("[data-camera-select]");
  const mics = root.querySelector("[data-mic-select]");
  let devices = [];
  try {
    devices = await navigator.mediaDevices.enumerateDevices();
  } catch {
    return;
  }
  for (const [select, kind, track] of [
    [cameras, "videoinput", local.getVideoTracks()[0]],
    [mics, "audioinput", local.getAudioTracks()[0]],
  ]) {
    select.replaceChildren();
    const current = track?.getSettings().deviceId;
    devices
      .filter((d) => d.kind === kind)
      .forEach((d, i) => {
        const option = new Option(d.label || `${kind} ${i + 1}`, d.deviceId);
        option.selected = d.deviceId === current;
        select.append(option);
      });
  }
}

async function switchDevice(kind, deviceId) {
  const constraints = kind === "video" ? { video: { deviceId: { exact: deviceId }, width: 640, height: 360 } } : { audio: { deviceId: { exact: deviceId } } };
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia(constraints);
  } catch {
    say(S.mediaError);
    return;
  }
  const track = kind === "video" ? stream.getVideoTracks()[0] : stream.getAudioTracks()[0];
  const old = kind === "video" ? local.getVideoTracks()[0] : local.getAudioTracks()[0];
  if (old) {
    track.enabled = old.enabled;
    local.removeTrack(old);
    old.stop();
  }
  local.addTrack(track);
  if (!(kind === "video" && screen)) replaceOutgoing(kind, track);
}

function replaceOutgoing(kind, track) {
  const connections = [...peers.values()];
  if (sfu.publisher) connections.push({ pc: sfu.publisher, kinds: new Map() });
  for (const peer of connections) {
    for (const sender of peer.pc.getSenders()) {
      if (sender.track?.kind === kind || (!sender.track && peer.kinds?.get(sender) === kind)) sender.replaceTrack(track);
    }
  }
}

async function toggleShare(button) {
  const mine = tiles.querySelector(".call-tile.self");
  if (screen) {
    screen.getTracks().forEach((t) => t.stop());
    screen = null;
    replaceOutgoing("video", local.getVideoTracks()[0] || null);
    mine.querySelector("video").srcObject = local;
    mine.classList.remove("screen");
    button.setAttribute("aria-pressed", "false");
    return;
  }
  try {
    screen = await navigator.mediaDevices.getDisplayMedia({ video: true });
  } catch {
    return;
  }
  const track = screen.getVideoTracks()[0];
  track.addEventListener("ended", () => screen && toggleShare(button));
  replaceOutgoing("video", track);
  mine.querySelector("video").srcObject = screen;
  mine.classList.add("screen");
  button.setAttribute("aria-pressed", "true");
  say(S.screenShared);
}

// --- peers ---------------------------------------------------------------------------------

function peerFor(id, name, offerer) {
  let peer = peers.get(id);
  if (peer) return peer;
  const pc = new RTCPeerConnection(rtcConfig());
  peer = { id, name, pc, offerer, pending: [], kinds: new Map(), tile: tile(id, name), restarting: false };
  peers.set(id, peer);
  // addTrack (not addTransceiver): an answerer's senders are then matched to the offer's lines.
  for (const kind of ["audio", "video"]) {
    const track = kind === "video" && screen ? screen.getVideoTracks()[0] : local.getTracks().find((t) => t.kind === kind);
    if (track) peer.kinds.set(pc.addTrack(track, local), kind);
    else if (offerer) pc.addTransceiver(kind, { direction: "recvonly" }); // no device: receive all the same
  }
  const remote = new MediaStream();
  peer.tile.querySelector("video").srcObject = remote;
  pc.addEventListener("track", (event) => {
    remote.addTrack(event.track);
  });
  pc.addEventListener("icecandidate", (event) => {
    if (event.candidate) send({ type: "call.ice", to: id, candidate: event.candidate.toJSON() });
  });
  pc.addEventListener("connectionstatechange", () => {
    setTileState(peer, pc.connectionState);
    summarise();
    if (pc.connectionState === "failed") restartIce(peer);
    if (pc.connectionState === "disconnected") {
      clearTimeout(peer.disconnectTimer);
      peer.disconnectTimer = setTimeout(() => pc.connectionState === "disconnected" && restartIce(peer), 4000);
    }
  });
  return peer;
}

// The page's status line: connected once every peer connection is.
function summarise() {
  if (over || !peers.size) return;
  const states = [...peers.values()].map((p) => p.pc?.connectionState || "new");
  if (sfu.publisher) states.push(sfu.publisher.connectionState);
  say(S[`state.${states.every((s) => s === "connected") ? "connected" : states.includes("failed") ? "failed" : "connecting"}`]);
}

function dropPeer(id) {
  const peer = peers.get(id);
  if (!peer) return;
  peer.handle?.detach();
  peer.pc?.close();
  peer.tile.remove();
  peers.delete(id);
}

const counts = { offers: 0, restarts: 0, joins: 0 }; // for diagnostics (bench/video reports them)

async function offerTo(peer, { restart = false } = {}) {
  counts.offers += 1;
  if (restart) counts.restarts += 1;
  const offer = await peer.pc.createOffer({ iceRestart: restart });
  await peer.pc.setLocalDescription(offer);
  send({ type: "call.offer", to: peer.id, sdp: peer.pc.localDescription.sdp });
}

// Fresh ICE servers (TURN credentials) and, through the SFU, a fresh Janus token: members of a
// call in progress only. False if the server said no (the ones in hand stay).
async function refreshIce() {
  const response = await fetch(config.iceUrl, { credentials: "same-origin" });
  if (!response.ok) return false;
  ice = await response.json();
  if (ice.sfuToken && sfu.session) sfu.session.token = ice.sfuToken;
  return true;
}

async function restartIce(peer) {
  if (!peer.offerer || peer.restarting || over) return;
  peer.restarting = true;
  try {
    await refreshIce(); // fresh TURN credentials
    peer.pc.setConfiguration(rtcConfig());
    await offerTo(peer, { restart: true });
  } catch {
    // the socket's reconnection rejoins the call if this fails
  } finally {
    peer.restarting = false;
  }
}

async function onOffer(frame) {
  const known = peers.get(frame.from);
  const peer = known || peerFor(frame.from, nameOf(frame.from), false);
  await peer.pc.setRemoteDescription({ type: "offer", sdp: frame.sdp });
  await flushCandidates(peer);
  const answer = await peer.pc.createAnswer();
  await peer.pc.setLocalDescription(answer);
  send({ type: "call.answer", to: frame.from, sdp: peer.pc.localDescription.sdp });
}

async function onAnswer(frame) {
  const peer = peers.get(frame.from);
  if (!peer || peer.pc.signalingState !== "have-local-offer") return;
  await peer.pc.setRemoteDescription({ type: "answer", sdp: frame.sdp });
  await flushCandidates(peer);
}

async function onCandidate(frame) {
  const peer = peers.get(frame.from);
  if (!peer) return;
  if (!peer.pc.remoteDescription) {
    peer.pending.push(frame.candidate);
    return;
  }
  try {
    await peer.pc.addIceCandidate(frame.candidate);
  } catch {
    // a candidate of an older negotiation: harmless
  }
}

async function flushCandidates(peer) {
  for (const candidate of peer.pending.splice(0)) {
    try {
      await peer.pc.addIceCandidate(candidate);
    } catch {
      // see onCandidate
    }
  }
}

const names = new Map();
function nameOf(id) {
  return names.get(id) || "…";
}

// --- through the SFU (Janus VideoRoom) -------------------------------------------------------

const sfu = { session: null, publisher: null, config: null, feeds: new Map() }; // feed id -> name

function rtcConfig() {
  return { iceServers: ice.iceServers, iceTransportPolicy: ice.iceTransportPolicy || "all" };
}

// Drops every peer connection (a mesh's too), then the SFU's publisher and session.
function leaveSfu() {
  for (const id of [...peers.keys()]) dropPeer(id);
  sfu.publisher?.close();
  sfu.publisher = null;
  sfu.session?.close();
  sfu.session = null;
}

function trickleFrom(pc, handle) {
  pc.addEventListener("icecandidate", (event) => handle.trickle(event.candidate ? event.candidate.toJSON() : null));
}

async function enterSfu(given, list) {
  joined = true;
  leaveSfu(); // a rejoin after a lost socket starts afresh (Cordée kicked the old feed)
  sfu.config = given;
  for (const other of list) sfu.feeds.set(other.feed, other.name);
  say(list.length ? S["state.connecting"] : S.waitingHost);
  const session = new JanusSession(given.url, given.token, {
    onClose: () => {
      if (over || sfu.session !== session) return;
      say(S.connecting);
      setTimeout(() => !over && socket.send({ type: "call.join", call: config.call }), 2000);
    },
  });
  sfu.session = session;
  try {
    await session.open();
    const handle = await session.attach((message) => onPublisherEvent(message));
    const joinedRoom = await handle.message({ request: "join", ptype: "publisher", room: given.room, id: given.feed, token: given.access });
    sfu.privateId = joinedRoom.plugindata.data.private_id;
    const pc = new RTCPeerConnection(rtcConfig());
    sfu.publisher = pc;
    sfu.publisherHandle = handle;
    trickleFrom(pc, handle);
    for (const kind of ["audio", "video"]) {
      const track = kind === "video" && screen ? screen.getVideoTracks()[0] : local.getTracks().find((t) => t.kind === kind);
      if (track) pc.addTrack(track, local);
    }
    pc.addEventListener("connectionstatechange", () => {
      if (pc.connectionState === "failed") republish(true);
      summarise();
    });
    if (pc.getSenders().length) await republish(false);
    else {
      // No camera nor microphone: receive the others all the same.
      pc.close();
      sfu.publisher = null;
    }
    for (const publisher of joinedRoom.plugindata.data.publishers || []) subscribe(publisher.id);
  } catch {
    if (!over && sfu.session === session) {
      say(S.sfuUnavailable);
      session.close();
    }
  }
}

async function republish(restart) {
  const pc = sfu.publisher;
  if (!pc || over) return;
  counts.offers += 1;
  if (restart) counts.restarts += 1;
  const offer = await pc.createOffer({ iceRestart: restart });
  await pc.setLocalDescription(offer);
  const answer = await sfu.publisherHandle.message({ request: "configure", audio: true, video: true }, { type: "offer", sdp: pc.localDescription.sdp });
  if (answer.jsep) await pc.setRemoteDescription(answer.jsep);
}

function onPublisherEvent(message) {
  const data = message.plugindata?.data || {};
  for (const publisher of data.publishers || []) subscribe(publisher.id);
  const gone = data.unpublished ?? data.leaving;
  if (gone !== undefined && gone !== "ok") dropPeer(gone);
}

async function subscribe(feed) {
  if (peers.has(feed) || feed === sfu.config.feed || !sfu.session) return;
  const name = sfu.feeds.get(feed) || "…";
  const peer = { id: feed, name, pending: [], kinds: new Map(), tile: tile(feed, name), offerer: false };
  peers.set(feed, peer);
  const remote = new MediaStream();
  peer.tile.querySelector("video").srcObject = remote;
  peer.pc = new RTCPeerConnection(rtcConfig());
  peer.pc.addEventListener("track", (event) => remote.addTrack(event.track));
  peer.pc.addEventListener("connectionstatechange", () => {
    setTileState(peer, peer.pc.connectionState);
    summarise();
    if (peer.pc.connectionState === "failed" && peer.handle) peer.handle.message({ request: "configure", restart: true }).then(answerSfu(peer)).catch(() => {});
  });
  try {
    peer.handle = await sfu.session.attach((message) => message.jsep && answerSfu(peer)(message));
    trickleFrom(peer.pc, peer.handle);
    const attached = await peer.handle.message({
      request: "join", ptype: "subscriber", room: sfu.config.room, streams: [{ feed }], private_id: sfu.privateId, token: sfu.config.access,
    });
    await answerSfu(peer)(attached);
  } catch {
    dropPeer(feed); // the feed went away meanwhile
  }
}

// Janus offers a subscriber its streams: answer, and start receiving.
function answerSfu(peer) {
  return async (message) => {
    if (!message.jsep || message.jsep.type !== "offer" || !peers.has(peer.id)) return;
    await peer.pc.setRemoteDescription(message.jsep);
    const answer = await peer.pc.createAnswer();
    await peer.pc.setLocalDescription(answer);
    await peer.handle.message({ request: "start" }, { type: "answer", sdp: peer.pc.localDescription.sdp });
  };
}

function nameFeed(feed, name) {
  sfu.feeds.set(feed, name);
  const peer = peers.get(feed);
  if (peer) {
    peer.name = name;
    peer.tile.querySelector("figcaption span").textContent = name;
  }
}

function enter(list) {
  joined = true;
  say(list.length ? S["state.connecting"] : S.waitingHost);
  for (const other of list) {
    names.set(other.user, other.name);
    dropPeer(other.user); // a rejoin after a lost socket starts afresh
    offerTo(peerFor(other.user, other.name, true));
  }
}

// --- waiting room (teleconsultation host) --------------------------------------------------

function showWaiting(person) {
  if (!waitingBox || waitingList.querySelector(`[data-user="${person.user}"]`)) return;
  const item = document.createElement("li");
  item.dataset.user = String(person.user);
  const text = document.createElement("span");
  text.textContent = format(S.inWaitingRoom, { name: person.name }) + " ";
  const admit = document.createElement("button");
  admit.type = "button";
  admit.className = "small";
  admit.dataset.admit = String(person.user);
  admit.textContent = S.admit;
  admit.addEventListener("click", () => {
    send({ type: "call.admit", user: person.user });
    item.remove();
    waitingBox.hidden = !waitingList.children.length;
  });
  item.append(text, admit);
  waitingList.append(item);
  waitingBox.hidden = false;
  say(format(S.inWaitingRoom, { name: person.name }));
}

// --- socket --------------------------------------------------------------------------------

function send(frame) {
  return socket.send({ ...frame, call: config.call });
}

function finish(text) {
  over = true;
  leaveSfu(); // every peer connection, and the SFU's session if any
  local?.getTracks().forEach((t) => t.stop());
  screen?.getTracks().forEach((t) => t.stop());
  socket.stopped = true;
  socket.ws?.close();
  say(text);
  root.querySelector(".call-controls")?.setAttribute("hidden", "");
  root.dataset.over = "true";
}

function onFrame(frame) {
  if (frame.call !== undefined && frame.call !== config.call && frame.type !== "ready") return;
  switch (frame.type) {
    case "ready":
      if (!over) socket.send({ type: "call.join", call: config.call });
      break;
    case "call.joined":
      counts.joins += 1;
      root.dataset.state = frame.state;
      if (frame.state === "waiting") {
        say(S.waiting);
        break;
      }
      if (frame.sfu) enterSfu(frame.sfu, frame.peers);
      else enter(frame.peers);
      (frame.waiting || []).forEach(showWaiting);
      break;
    case "call.admitted":
      root.dataset.state = "joined";
      if (frame.sfu) enterSfu(frame.sfu, frame.peers);
      else enter(frame.peers);
      break;
    case "call.waiting":
      showWaiting(frame);
      break;
    case "call.participant":
      names.set(frame.user, frame.name);
      if (sfu.config) {
        // Through the SFU: Janus tells the page of feeds; Cordée says whose they are.
        if (frame.state === "left") {
          dropPeer(frame.feed);
          say(format(S.leftPeer, { name: frame.name }));
        } else {
          nameFeed(frame.feed, frame.name);
          say(format(S.joinedPeer, { name: frame.name }));
        }
        break;
      }
      if (frame.state === "left") {
        dropPeer(frame.user);
        say(format(S.leftPeer, { name: frame.name }));
      } else {
        dropPeer(frame.user); // they (re)joined: they offer afresh
        peerFor(frame.user, frame.name, false);
        say(format(S.joinedPeer, { name: frame.name }));
      }
      break;
    case "call.offer":
      onOffer(frame);
      break;
    case "call.answer":
      onAnswer(frame);
      break;
    case "call.ice":
      onCandidate(frame);
      break;
    case "call.ended":
      finish(S.ended);
      break;
    case "call.moved":
      finish(S.moved);
      break;
    case "error":
      if (frame.code === "full") finish(S.full);
      else if (frame.code === "sfu_unavailable") say(S.sfuUnavailable);
      else if (frame.code === "ended") finish(S.ended);
      else if (frame.code === "not_found" && !joined) finish(S.notFound);
      break;
    default:
      break;
  }
}

const socket = new ChatSocket(config.socket, {
  onFrame,
  onState: (name) => {
    if (name !== "online" && !over) say(S.connecting);
  },
});

// --- controls, duration, quality -----------------------------------------------------------

function toggleTrack(kind, button, flag) {
  const track = kind === "audio" ? local.getAudioTracks()[0] : local.getVideoTracks()[0];
  if (!track) return;
  track.enabled = !track.enabled;
  button.setAttribute("aria-pressed", String(!track.enabled));
  const flags = tiles.querySelector(".call-tile.self .flags");
  const set = new Set((flags.dataset.flags || "").split(" ").filter(Boolean));
  if (track.enabled) set.delete(flag);
  else set.add(flag);
  flags.dataset.flags = [...set].join(" ");
  flags.textContent = [...set].map((f) => S[f]).join(" · ");
  flags.hidden = !set.size;
}

function wireControls() {
  const mute = root.querySelector("[data-mute]");
  const camera = root.querySelector("[data-camera]");
  const share = root.querySelector("[data-share]");
  const view = root.querySelector("[data-view-toggle]");
  mute.addEventListener("click", () => toggleTrack("audio", mute, "muted"));
  camera.addEventListener("click", () => toggleTrack("video", camera, "cameraOff"));
  if (!navigator.mediaDevices?.getDisplayMedia) share.hidden = true;
  share.addEventListener("click", () => toggleShare(share));
  view.addEventListener("click", () => {
    const speaker = tiles.dataset.view !== "speaker";
    tiles.dataset.view = speaker ? "speaker" : "grid";
    view.setAttribute("aria-pressed", String(speaker));
    if (speaker && !tiles.querySelector(".speaker")) setSpeaker(tiles.querySelector(".call-tile:not(.self)") || tiles.firstElementChild);
  });
  root.querySelector("[data-leave]").addEventListener("click", () => {
    send({ type: "call.leave" });
    finish(S.left);
    setTimeout(() => location.assign(backUrl), 300);
  });
  root.querySelector("[data-end]")?.addEventListener("click", () => send({ type: "call.end" }));
  root.querySelector("[data-camera-select]").addEventListener("change", (e) => switchDevice("video", e.target.value));
  root.querySelector("[data-mic-select]").addEventListener("change", (e) => switchDevice("audio", e.target.value));
}

function tickDuration() {
  const seconds = Math.max(0, Math.floor((Date.now() - Date.parse(config.startedAt)) / 1000));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = String(seconds % 60).padStart(2, "0");
  durationLine.textContent = h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

// Quality from getStats: round-trip time of the selected candidate pair and the share of packets
// lost since the last sample.
async function sampleQuality() {
  for (const peer of peers.values()) {
    if (peer.pc?.connectionState !== "connected") continue;
    const stats = await peer.pc.getStats();
    let rtt = null;
    let lost = 0;
    let received = 0;
    stats.forEach((report) => {
      if (report.type === "candidate-pair" && report.nominated && report.state === "succeeded") rtt = report.currentRoundTripTime ?? rtt;
      if (report.type === "inbound-rtp") {
        lost += report.packetsLost || 0;
        received += report.packetsReceived || 0;
      }
    });
    const previous = peer.lastCounts || { lost: 0, received: 0 };
    peer.lastCounts = { lost, received };
    const dLost = lost - previous.lost;
    const dAll = dLost + received - previous.received;
    const lossRate = dAll > 0 ? dLost / dAll : 0;
    let rating = "unknown";
    if (rtt !== null) rating = rtt < 0.3 && lossRate < 0.02 ? "good" : rtt < 0.6 && lossRate < 0.08 ? "fair" : "poor";
    const label = peer.tile.querySelector(".quality");
    label.dataset.quality = rating;
    label.textContent = S[`quality.${rating}`];
    label.hidden = false;
  }
}

// Janus's signed token expires: a member renews it (with the ICE servers) well before.
async function renewSfuToken() {
  if (!sfu.session || over) return;
  const ttl = sfu.config?.ttl || 600;
  if (sfu.renewedAt && Date.now() - sfu.renewedAt < (ttl * 1000) / 3) return;
  try {
    if (await refreshIce()) sfu.renewedAt = Date.now();
  } catch {
    // next minute
  }
}

// For tests and diagnostics: the peer connections (no secret in them).
window.cordeeCall = {
  peers,
  counts,
  sfu,
  get over() {
    return over;
  },
  restartIce: (id) => restartIce(peers.get(id)), // what a failed connection does (tests)
  dropSocket: () => socket.ws && socket.ws.close(), // what a lost network does to the socket (tests)
  // A page that loses Cordée for good but keeps its media connections open (tests: what Janus
  // itself cuts when Cordée takes a participant out).
  stopSocket: () => {
    socket.stopped = true;
    socket.ws && socket.ws.close();
  },
};

if (config.active) {
  wireControls();
  setInterval(tickDuration, 1000);
  tickDuration();
  setInterval(sampleQuality, 2000);
  setInterval(renewSfuToken, 60_000);
  await startMedia();
  socket.connect();
  window.addEventListener("pagehide", () => !over && send({ type: "call.leave" }));
}
