// The study viewer: frames decoded by Cordée (WADO-RS "values", float32 or RGB), windowed here.
// Stack scroll (wheel, arrow keys, swipe), window/level by drag and presets, zoom, pan, rotate,
// invert, reset, length measurement (mm when the pixel spacing is known), angle (three points, the
// vertex second: in the patient's space when the pixel spacing differs across rows and columns),
// cine of the stack (a multi-frame series plays at the chosen frames per second), metadata panel.
const root = document.getElementById("viewer");
const canvas = document.getElementById("viewer-canvas");
const overlay = root.querySelector("svg.overlay");
const viewport = root.querySelector(".viewport");
const ctx = canvas.getContext("2d");
const base = root.dataset.base.replace(/metadata$/, "");
const state = { stack: [], index: 0, frame: null, center: 0, width: 1, invert: false, scale: 1, rotate: 0,
  dx: 0, dy: 0, mode: "window", measure: null, angle: [], cine: null, cache: new Map() };

function show(name, text) { root.querySelector(`[data-status=${name}]`).textContent = text; }

async function loadFrame(item) {
  const key = `${item.series}/${item.sop}/${item.frame}`;
  if (state.cache.has(key)) return state.cache.get(key);
  const url = `${base}series/${item.series}/instances/${item.sop}/frames/${item.frame}/values`;
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) throw new Error(String(response.status));
  const buffer = await response.arrayBuffer();
  const h = response.headers;
  const frame = { rows: +h.get("X-Rows"), cols: +h.get("X-Columns"), kind: h.get("X-Kind"),
    photometric: h.get("X-Photometric"), window: (h.get("X-Window") || "0,1").split(",").map(Number),
    spacing: (h.get("X-Pixel-Spacing") || "").split(",").filter(Boolean).map(Number),
    data: h.get("X-Kind") === "rgb" ? new Uint8Array(buffer) : new Float32Array(buffer) };
  state.cache.set(key, frame);
  if (state.cache.size > 200) state.cache.delete(state.cache.keys().next().value);
  return frame;
}

function paint() {
  const f = state.frame;
  if (!f) return;
  canvas.width = f.cols; canvas.height = f.rows;
  const image = ctx.createImageData(f.cols, f.rows);
  const out = image.data;
  const mono1 = f.photometric === "MONOCHROME1";
  const invert = state.invert !== mono1;
  if (f.kind === "rgb") {
    for (let i = 0, j = 0; i < f.data.length; i += 3, j += 4) {
      const r = f.data[i], g = f.data[i + 1], b = f.data[i + 2];
      out[j] = invert ? 255 - r : r; out[j + 1] = invert ? 255 - g : g; out[j + 2] = invert ? 255 - b : b; out[j + 3] = 255;
    }
  } else {
    const c = state.center, w = Math.max(state.width, 1);
    const low = c - 0.5 - (w - 1) / 2, high = c - 0.5 + (w - 1) / 2;
    for (let i = 0, j = 0; i < f.data.length; i += 1, j += 4) {
      const v = f.data[i];
      let g = v <= low ? 0 : v > high ? 255 : ((v - (c - 0.5)) / Math.max(w - 1, 1) + 0.5) * 255;
      g = Math.max(0, Math.min(255, Math.trunc(g)));
      if (invert) g = 255 - g;
      out[j] = out[j + 1] = out[j + 2] = g; out[j + 3] = 255;
    }
  }
  ctx.putImageData(image, 0, 0);
  canvas.style.transform = `translate(${state.dx}px, ${state.dy}px) rotate(${state.rotate}deg) scale(${state.scale})`;
  show("position", `${state.index + 1} / ${state.stack.length}`);
  show("window", f.kind === "rgb" ? "RGB" : `C ${Math.round(state.center)} L ${Math.round(state.width)}`);
  drawMeasure();
}

async function go(index, keepWindow) {
  if (!state.stack.length) return;
  state.index = Math.max(0, Math.min(state.stack.length - 1, index));
  const wanted = state.index;
  const frame = await loadFrame(state.stack[wanted]);
  if (wanted !== state.index) return;
  const first = !state.frame;
  state.frame = frame;
  if (first || !keepWindow) { [state.center, state.width] = frame.window; }
  canvas.dataset.index = String(state.index);
  paint();
  canvas.dataset.ready = "1";
}

function pickSeries(button) {
  root.querySelectorAll(".series-thumb").forEach((b) => b.setAttribute("aria-current", String(b === button)));
  state.stack = [];
  for (const token of button.dataset.instances.trim().split(/\s+/).filter(Boolean)) {
    const [sop, frames] = token.split(":");
    for (let n = 1; n <= +frames; n += 1) state.stack.push({ series: button.dataset.series, sop, frame: n });
  }
  state.frame = null; state.measure = null; state.angle = [];
  if (state.cine) stopCine();
  canvas.dataset.ready = "";
  go(0, false);
}

// --- measurement (image pixel coordinates, through the canvas transform) ---------------------
function toImage(event) {
  const rect = canvas.getBoundingClientRect();
  const cx = rect.left + rect.width / 2, cy = rect.top + rect.height / 2;
  const angle = -state.rotate * Math.PI / 180;
  const x = event.clientX - cx, y = event.clientY - cy;
  const rx = x * Math.cos(angle) - y * Math.sin(angle), ry = x * Math.sin(angle) + y * Math.cos(angle);
  const shown = canvas.offsetWidth * state.scale;
  const factor = state.frame.cols / shown;
  return [rx * factor + state.frame.cols / 2, ry * factor + state.frame.rows / 2];
}

function spacing() {
  return state.frame.spacing.length === 2 ? [state.frame.spacing[1], state.frame.spacing[0]] : [0, 0];
}

function angleText(points) {
  const [sx, sy] = spacing();
  const kx = sx || 1, ky = sy || 1; // degrees are the same in pixels when the spacing is unknown
  const [a, b, c] = points;
  const u = [(a[0] - b[0]) * kx, (a[1] - b[1]) * ky], v = [(c[0] - b[0]) * kx, (c[1] - b[1]) * ky];
  const cos = (u[0] * v[0] + u[1] * v[1]) / (Math.hypot(...u) * Math.hypot(...v) || 1);
  return `${(Math.acos(Math.max(-1, Math.min(1, cos))) * 180 / Math.PI).toFixed(1)}°`;
}

// Image pixel coordinates → the overlay's (drawn only unrotated: the overlay does not turn).
function toOverlay() {
  const rect = canvas.getBoundingClientRect(), box = viewport.getBoundingClientRect();
  const k = rect.width / state.frame.cols, ox = rect.left - box.left, oy = rect.top - box.top;
  return ([x, y]) => [ox + x * k, oy + y * k];
}

function drawAngle() {
  const points = state.angle;
  if (points.length === 3) {
    const text = angleText(points);
    show("measure", text);
    root.dataset.angle = text;
  } else {
    show("measure", "");
  }
  if (!points.length || state.rotate % 360 !== 0) return;
  const shown = points.map(toOverlay());
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  line.setAttribute("points", shown.map((p) => p.join(",")).join(" "));
  overlay.append(line);
  for (const [x, y] of shown) {
    const dot = document.createElementNS("http://www.w3.org/2000/svg", "circle");
    dot.setAttribute("cx", x); dot.setAttribute("cy", y); dot.setAttribute("r", 3);
    overlay.append(dot);
  }
}

function drawMeasure() {
  overlay.replaceChildren();
  if (state.frame && state.angle.length) { drawAngle(); return; }
  const m = state.measure;
  if (!m || !state.frame) { show("measure", ""); return; }
  const [sx, sy] = spacing();
  const dx = m.x2 - m.x1, dy = m.y2 - m.y1;
  const text = sx ? `${Math.hypot(dx * sx, dy * sy).toFixed(1)} mm` : `${Math.hypot(dx, dy).toFixed(1)} px`;
  show("measure", text);
  root.dataset.measure = text;
  if (state.rotate % 360 === 0) {
    const place = toOverlay();
    const [[x1, y1], [x2, y2]] = [place([m.x1, m.y1]), place([m.x2, m.y2])];
    const line = document.createElementNS("http://www.w3.org/2000/svg", "line");
    line.setAttribute("x1", x1); line.setAttribute("y1", y1); line.setAttribute("x2", x2); line.setAttribute("y2", y2);
    overlay.append(line);
  }
}

let drag = null;
viewport.addEventListener("pointerdown", (event) => {
  if (!state.frame) return;
  if (state.mode === "angle") {
    if (state.angle.length === 3) state.angle = [];
    state.angle.push(toImage(event));
    state.measure = null;
    drawMeasure();
    return;
  }
  viewport.setPointerCapture(event.pointerId);
  drag = { x: event.clientX, y: event.clientY, center: state.center, width: state.width, dx: state.dx, dy: state.dy,
    start: state.mode === "measure" ? toImage(event) : null, touch: event.pointerType === "touch", index: state.index };
});
viewport.addEventListener("pointermove", (event) => {
  if (!drag) return;
  const mx = event.clientX - drag.x, my = event.clientY - drag.y;
  if (state.mode === "measure") {
    const [x2, y2] = toImage(event);
    state.measure = { x1: drag.start[0], y1: drag.start[1], x2, y2 };
    state.angle = [];
    drawMeasure();
  } else if (state.mode === "pan") {
    state.dx = drag.dx + mx; state.dy = drag.dy + my; paint();
  } else if (drag.touch && Math.abs(my) > Math.abs(mx) * 2) {
    go(drag.index + Math.trunc(my / 20), true);  // a vertical swipe scrolls the stack
  } else if (state.frame.kind === "mono") {
    const step = Math.max(state.frame.window[1] / 256, 0.5);
    state.width = Math.max(1, drag.width + mx * step); state.center = drag.center + my * step; paint();
  }
});
viewport.addEventListener("pointerup", () => { drag = null; });
viewport.addEventListener("wheel", (event) => { event.preventDefault(); go(state.index + Math.sign(event.deltaY), true); },
  { passive: false });
viewport.addEventListener("keydown", (event) => {
  const moves = { ArrowDown: 1, ArrowRight: 1, PageDown: 10, ArrowUp: -1, ArrowLeft: -1, PageUp: -10 };
  if (event.key in moves) { event.preventDefault(); go(state.index + moves[event.key], true); }
  if (event.key === "Home") go(0, true);
  if (event.key === "End") go(state.stack.length - 1, true);
});

// --- cine: the stack plays in a loop; a frame still loading makes the next tick wait ---------
const cineButton = root.querySelector("[data-tool=cine]");
const fpsSelect = root.querySelector("[data-tool=fps]");
let loading = false;

function stopCine() {
  clearInterval(state.cine);
  state.cine = null;
  cineButton.setAttribute("aria-pressed", "false");
}

function startCine() {
  stopCine();
  if (state.stack.length < 2) return;
  cineButton.setAttribute("aria-pressed", "true");
  state.cine = setInterval(async () => {
    if (loading) return;
    loading = true;
    try {
      await go((state.index + 1) % state.stack.length, true);
    } finally {
      loading = false;
    }
  }, 1000 / Number(fpsSelect.value || 10));
}

cineButton.addEventListener("click", () => (state.cine ? stopCine() : startCine()));
fpsSelect.addEventListener("change", () => { if (state.cine) startCine(); });

root.querySelector(".viewer-tools").addEventListener("click", (event) => {
  const button = event.target.closest("button");
  if (!button) return;
  const tool = button.dataset.tool;
  if (tool === "cine") return;
  if (tool === "invert") state.invert = !state.invert;
  if (tool === "rotate") state.rotate = (state.rotate + 90) % 360;
  if (tool === "zoom-in") state.scale *= 1.25;
  if (tool === "zoom-out") state.scale /= 1.25;
  if (tool === "reset") { stopCine();
    Object.assign(state, { invert: false, scale: 1, rotate: 0, dx: 0, dy: 0, measure: null, angle: [], mode: "window" });
    if (state.frame) [state.center, state.width] = state.frame.window; }
  if (tool === "mode") {
    state.mode = state.mode === button.dataset.mode ? "window" : button.dataset.mode;
  }
  if (tool === "fullscreen") { if (document.fullscreenElement) document.exitFullscreen(); else root.requestFullscreen(); }
  root.querySelectorAll("[data-tool=mode]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.mode === state.mode)));
  paint();
});
root.querySelector("[data-tool=preset]").addEventListener("change", (event) => {
  if (!state.frame) return;
  [state.center, state.width] = event.target.value ? event.target.value.split(",").map(Number) : state.frame.window;
  paint();
});
root.querySelectorAll(".series-thumb").forEach((button) => button.addEventListener("click", () => pickSeries(button)));

async function loadMetadata() {
  const response = await fetch(root.dataset.base, { credentials: "same-origin" });
  if (!response.ok) return;
  const items = await response.json();
  const first = items[0] || {};
  const names = { "00080060": "Modality", "00081030": "Study description", "0008103E": "Series description",
    "00280010": "Rows", "00280011": "Columns", "00020010": "Transfer syntax", "00080016": "SOP class",
    "00180050": "Slice thickness", "00280030": "Pixel spacing", "00080070": "Manufacturer" };
  const list = root.querySelector("[data-metadata]");
  for (const [tag, label] of Object.entries(names)) {
    if (!first[tag] || !first[tag].Value) continue;
    const dt = document.createElement("dt"); dt.textContent = label;
    const dd = document.createElement("dd"); dd.textContent = first[tag].Value.join(" \\ ");
    list.append(dt, dd);
  }
}

const firstSeries = root.querySelector(".series-thumb");
if (firstSeries) pickSeries(firstSeries);
loadMetadata();
