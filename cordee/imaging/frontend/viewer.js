// The study viewer, on Cornerstone3D (docs/decisions/0018-imaging-dicom-stack.md). Frames come from
// Cordée's WADO-RS (`frames/{n}`, undecoded, in their transfer syntax) and are decoded in a worker
// by Cornerstone's codecs (WebAssembly for JPEG, JPEG-LS, JPEG 2000). Stack scroll (wheel, arrow
// keys, the « Défiler » mode by drag or swipe), window/level by drag and presets, zoom, pan, rotate,
// invert, reset, length and angle (Cornerstone's tools, in the patient's space), cine, metadata,
// full screen. Bundled by scripts/build-viewer.mjs into static/imaging/build/viewer.js.
import {
  cache,
  Enums,
  eventTarget,
  init as coreInit,
  RenderingEngine,
  utilities as coreUtilities,
} from "@cornerstonejs/core";
import { init as loaderInit, wadors } from "@cornerstonejs/dicom-image-loader";
import {
  addTool,
  AngleTool,
  annotation,
  Enums as ToolEnums,
  init as toolsInit,
  LengthTool,
  PanTool,
  StackScrollTool,
  ToolGroupManager,
  utilities as toolUtilities,
  WindowLevelTool,
  ZoomTool,
} from "@cornerstonejs/tools";

const root = document.getElementById("viewer");
const element = root.querySelector(".viewport-canvas");
const viewportBox = root.querySelector(".viewport");
const metadataUrl = root.dataset.base;
const base = metadataUrl.replace(/metadata$/, "");
const { MouseBindings } = ToolEnums;
const state = { mode: "window", stack: [], defaultVoi: null, color: false, cine: false };
let viewport = null;

function show(name, text) {
  root.querySelector(`[data-status=${name}]`).textContent = text;
}

function message(text) {
  root.querySelector("[data-viewer-message]").textContent = text;
}

// --- tools: one group; the mode decides what the primary button (or a finger) does ----------
const TOOLS = [WindowLevelTool, PanTool, ZoomTool, StackScrollTool, LengthTool, AngleTool];
const PRIMARY_TOOL = {
  window: WindowLevelTool.toolName,
  pan: PanTool.toolName,
  scroll: StackScrollTool.toolName,
  measure: LengthTool.toolName,
  angle: AngleTool.toolName,
};

function applyMode(tools, mode) {
  const primary = PRIMARY_TOOL[mode];
  // Cornerstone adds bindings to those a tool has: each tool starts again from none.
  for (const tool of Object.values(PRIMARY_TOOL)) tools.setToolPassive(tool, { removeAllBindings: true });
  const bindings = { [PanTool.toolName]: [MouseBindings.Auxiliary], [StackScrollTool.toolName]: [MouseBindings.Wheel] };
  for (const tool of Object.values(PRIMARY_TOOL)) {
    const buttons = [...(primary === tool ? [MouseBindings.Primary] : []), ...(bindings[tool] || [])];
    // Length and angle stay passive when not chosen: their drawings stay on the image, movable.
    if (buttons.length) tools.setToolActive(tool, { bindings: buttons.map((mouseButton) => ({ mouseButton })) });
  }
  // Two fingers pinch to zoom (and move the image), in every mode.
  tools.setToolActive(ZoomTool.toolName, { bindings: [{ mouseButton: MouseBindings.Secondary }, { numTouchPoints: 2 }] });
  for (const button of root.querySelectorAll("[data-tool=mode]")) {
    button.setAttribute("aria-pressed", String(button.dataset.mode === mode));
  }
  state.mode = mode;
}

// --- what is shown under the image ---------------------------------------------------------
function showPosition() {
  const index = viewport.getCurrentImageIdIndex();
  show("position", `${index + 1} / ${state.stack.length}`);
  element.dataset.index = String(index);
}

function showWindow() {
  if (state.color) {
    show("window", "RGB");
    return;
  }
  const { voiRange } = viewport.getProperties();
  if (!voiRange) return;
  const { windowWidth, windowCenter } = coreUtilities.windowLevel.toWindowLevel(voiRange.lower, voiRange.upper);
  show("window", `C ${Math.round(windowCenter)} L ${Math.round(windowWidth)}`);
}

function measurementText(item) {
  const stats = Object.values(item.data.cachedStats || {})[0] || {};
  if (typeof stats.angle === "number" && !Number.isNaN(stats.angle)) return `${stats.angle.toFixed(1)}°`;
  if (typeof stats.length === "number" && !Number.isNaN(stats.length)) {
    return `${stats.length.toFixed(1)} ${stats.unit === "mm" ? "mm" : "px"}`;
  }
  return "";
}

function onMeasurement(event) {
  if (event.detail.annotation) show("measure", measurementText(event.detail.annotation));
}

function clearMeasurements() {
  annotation.state.removeAllAnnotations();
  show("measure", "");
}

// --- the stack ------------------------------------------------------------------------------
function frameImageId(series, sop, frame) {
  return `wadors:${location.origin}${base}series/${series}/instances/${sop}/frames/${frame}`;
}

async function pickSeries(button, metadata) {
  for (const other of root.querySelectorAll(".series-thumb")) {
    other.setAttribute("aria-current", String(other === button));
  }
  stopCine();
  element.dataset.ready = "";
  state.stack = [];
  for (const token of button.dataset.instances.trim().split(/\s+/).filter(Boolean)) {
    const [sop, frames] = token.split(":");
    const item = metadata.get(sop);
    if (!item) continue;
    wadors.metaDataManager.add(frameImageId(button.dataset.series, sop, 1), item);
    for (let n = 1; n <= Number(frames); n += 1) state.stack.push(frameImageId(button.dataset.series, sop, n));
  }
  if (!state.stack.length) {
    message(root.dataset.noPreview);
    return;
  }
  message("");
  clearMeasurements();
  state.defaultVoi = null;
  const asked = performance.now();
  try {
    await viewport.setStack(state.stack, 0);
  } catch (error) {
    message(root.dataset.loadFailed);
    return;
  }
  // The rest of the series is fetched and decoded in the background: scrolling and cine then
  // show frames already decoded.
  toolUtilities.stackPrefetch.enable(element);
  const image = cache.getImage(viewport.getCurrentImageId());
  state.color = Boolean(image && image.color);
  state.defaultVoi = viewport.getProperties().voiRange || null;
  viewport.render();
  showPosition();
  showWindow();
  // From asking for the series to its first frame decoded and drawn (read by bench/imaging).
  element.dataset.firstFrameMs = (performance.now() - asked).toFixed(1);
  element.dataset.readyAtMs = performance.now().toFixed(1); // since the page's navigation
  element.dataset.ready = "1";
}

// --- cine: the stack plays in a loop at the chosen speed ------------------------------------
const cineButton = root.querySelector("[data-tool=cine]");
const fpsSelect = root.querySelector("[data-tool=fps]");

function stopCine() {
  if (state.cine) toolUtilities.cine.stopClip(element);
  state.cine = false;
  cineButton.setAttribute("aria-pressed", "false");
}

function startCine() {
  if (state.stack.length < 2) return;
  if (state.cine) toolUtilities.cine.stopClip(element);
  toolUtilities.cine.playClip(element, { framesPerSecond: Number(fpsSelect.value || 10), loop: true });
  state.cine = true;
  cineButton.setAttribute("aria-pressed", "true");
}

// --- the toolbar and the keyboard -----------------------------------------------------------
function onTool(event, tools) {
  const button = event.target.closest("button");
  if (!button || !viewport) return;
  const tool = button.dataset.tool;
  if (tool === "cine") {
    if (state.cine) stopCine();
    else startCine();
    return;
  }
  if (tool === "invert") viewport.setProperties({ invert: !viewport.getProperties().invert });
  if (tool === "rotate") {
    const { rotation = 0 } = viewport.getViewPresentation();
    viewport.setViewPresentation({ rotation: (rotation + 90) % 360 });
  }
  if (tool === "zoom-in") viewport.setZoom(viewport.getZoom() * 1.25);
  if (tool === "zoom-out") viewport.setZoom(viewport.getZoom() / 1.25);
  if (tool === "reset") {
    stopCine();
    viewport.resetCamera();
    viewport.resetProperties();
    if (state.defaultVoi) viewport.setProperties({ voiRange: state.defaultVoi });
    clearMeasurements();
    root.querySelector("[data-tool=preset]").value = "";
    applyMode(tools, "window");
  }
  if (tool === "mode") applyMode(tools, state.mode === button.dataset.mode ? "window" : button.dataset.mode);
  if (tool === "fullscreen") {
    if (document.fullscreenElement) document.exitFullscreen();
    else root.requestFullscreen();
  }
  viewport.render();
}

function onPreset(event) {
  if (!viewport || state.color) return;
  const [center, width] = event.target.value.split(",").map(Number);
  const voiRange = event.target.value ? coreUtilities.windowLevel.toLowHighRange(width, center) : state.defaultVoi;
  if (voiRange) viewport.setProperties({ voiRange });
  viewport.render();
}

function onKey(event) {
  if (!viewport || !state.stack.length) return;
  const moves = { ArrowDown: 1, ArrowRight: 1, PageDown: 10, ArrowUp: -1, ArrowLeft: -1, PageUp: -10 };
  const last = state.stack.length - 1;
  const index = viewport.getCurrentImageIdIndex();
  let target = null;
  if (event.key in moves) target = Math.max(0, Math.min(last, index + moves[event.key]));
  if (event.key === "Home") target = 0;
  if (event.key === "End") target = last;
  if (target === null) return;
  event.preventDefault();
  viewport.setImageIdIndex(target);
}

// DICOM JSON carries the palette colour LUTs as InlineBinary (OW, little endian); Cornerstone's
// WADO-RS metadata reads them from "Value": the words are unpacked there once, as OHIF does.
const PALETTE_DATA = ["00281201", "00281202", "00281203"];

function unpackPalettes(item) {
  for (const tag of PALETTE_DATA) {
    const element = item[tag];
    if (!element || !element.InlineBinary || element.Value) continue;
    const bytes = Uint8Array.from(atob(element.InlineBinary), (c) => c.charCodeAt(0));
    const view = new DataView(bytes.buffer);
    element.Value = Array.from({ length: bytes.length >> 1 }, (_, i) => view.getUint16(i * 2, true));
  }
  return item;
}

async function loadMetadata() {
  const response = await fetch(metadataUrl, { credentials: "same-origin" });
  if (!response.ok) throw new Error(String(response.status));
  const items = (await response.json()).map(unpackPalettes);
  const bySop = new Map(items.map((item) => [item["00080018"]?.Value?.[0], item]));
  const first = items[0] || {};
  const names = {
    "00080060": "Modality", "00081030": "Study description", "0008103E": "Series description",
    "00280010": "Rows", "00280011": "Columns", "00020010": "Transfer syntax", "00080016": "SOP class",
    "00180050": "Slice thickness", "00280030": "Pixel spacing", "00080070": "Manufacturer",
  };
  const list = root.querySelector("[data-metadata]");
  for (const [tag, label] of Object.entries(names)) {
    if (!first[tag] || !first[tag].Value) continue;
    const dt = document.createElement("dt");
    dt.textContent = label;
    const dd = document.createElement("dd");
    dd.textContent = first[tag].Value.join(" \\ ");
    list.append(dt, dd);
  }
  return bySop;
}

// For the tests (tests/browser/test_imaging.py): the decoded pixels of the frame shown, to compare
// with pydicom's decode of the same frame on the server; the zoom, rotation, inversion and window,
// to see the tools work.
function shownPixels() {
  const image = cache.getImage(viewport.getCurrentImageId());
  if (!image) return null;
  const data = image.getPixelData();
  return {
    rows: image.rows, columns: image.columns, color: Boolean(image.color),
    components: data.length / (image.rows * image.columns),
    scaled: Boolean(image.preScale && image.preScale.scaled),
    data: Array.from(data),
  };
}

function viewerState() {
  const { invert = false, voiRange } = viewport.getProperties();
  const { rotation = 0 } = viewport.getViewPresentation();
  return { invert: Boolean(invert), rotation, zoom: viewport.getZoom(), window: voiRange ? [voiRange.lower, voiRange.upper] : null };
}

async function start() {
  await coreInit();
  const wasm = new URL("./wasm/", import.meta.url).href;
  loaderInit({ maxWebWorkers: 1, wasmBasePath: wasm, decodeConfig: { wasmBasePath: wasm } });
  toolsInit();
  const engine = new RenderingEngine("cordee-imaging");
  engine.enableElement({ viewportId: "study", type: Enums.ViewportType.STACK, element });
  viewport = engine.getViewport("study");
  const tools = ToolGroupManager.createToolGroup("cordee-imaging-tools");
  for (const tool of TOOLS) {
    addTool(tool);
    tools.addTool(tool.toolName);
  }
  tools.addViewport("study", "cordee-imaging");
  // A phone: one finger scrolls the stack until another mode is chosen.
  applyMode(tools, window.matchMedia("(pointer: coarse)").matches ? "scroll" : "window");

  element.addEventListener(Enums.Events.STACK_NEW_IMAGE, showPosition);
  element.addEventListener(Enums.Events.VOI_MODIFIED, showWindow);
  for (const name of [ToolEnums.Events.ANNOTATION_COMPLETED, ToolEnums.Events.ANNOTATION_MODIFIED]) {
    eventTarget.addEventListener(name, onMeasurement);
  }
  eventTarget.addEventListener(ToolEnums.Events.ANNOTATION_ADDED, () => show("measure", ""));
  root.querySelector(".viewer-tools").addEventListener("click", (event) => onTool(event, tools));
  root.querySelector("[data-tool=preset]").addEventListener("change", onPreset);
  fpsSelect.addEventListener("change", () => { if (state.cine) startCine(); });
  viewportBox.addEventListener("keydown", onKey);
  new ResizeObserver(() => engine.resize(true, false)).observe(element);
  root.cordeeViewer = { pixels: shownPixels, zoom: () => viewport.getZoom(), state: viewerState };

  const metadata = await loadMetadata();
  for (const button of root.querySelectorAll(".series-thumb")) {
    button.addEventListener("click", () => pickSeries(button, metadata));
  }
  const first = root.querySelector(".series-thumb");
  if (first) await pickSeries(first, metadata);
}

start().catch(() => message(root.dataset.loadFailed));
