// Builds the imaging viewer (docs/decisions/0018-imaging-dicom-stack.md): Cordée's viewer module and
// Cornerstone3D bundled by esbuild into cordee/imaging/static/imaging/build/, with the DICOM decoding
// worker beside it (Cornerstone's loader starts it from `new URL("./decodeImageFrameWorker.js",
// import.meta.url)`) and the WebAssembly codecs in build/wasm/. Run by `make install`; the output is
// not committed.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "cordee/imaging/static/imaging/build");
const modules = join(root, "node_modules");

// The Emscripten codecs and vtk.js name Node's modules on paths a browser never
// takes: they resolve to an empty module instead of failing the build.
const nodeOnly = /^(fs|path|module|crypto|url)$/;
const emptyNodeModules = {
  name: "empty-node-modules",
  setup(b) {
    b.onResolve({ filter: nodeOnly }, (args) => ({ path: args.path, namespace: "empty" }));
    b.onLoad({ filter: /.*/, namespace: "empty" }, () => ({ contents: "export default {};", loader: "js" }));
  },
};

const common = {
  bundle: true,
  format: "esm",
  minify: true,
  target: "es2022",
  legalComments: "linked",
  logLevel: "warning",
  plugins: [emptyNodeModules],
};

rmSync(out, { recursive: true, force: true });
await build({ ...common, entryPoints: [join(root, "cordee/imaging/frontend/viewer.js")], outfile: join(out, "viewer.js") });
await build({
  ...common,
  entryPoints: [join(modules, "@cornerstonejs/dicom-image-loader/dist/esm/decodeImageFrameWorker.js")],
  outfile: join(out, "decodeImageFrameWorker.js"),
});

// The decoders' WebAssembly, under the names the loader asks for (its `wasmBasePath`).
const codecs = [
  "codec-charls/dist/charlswasm_decode.wasm", // JPEG-LS
  "codec-libjpeg-turbo-8bit/dist/libjpegturbowasm_decode.wasm", // JPEG baseline 8-bit
  "codec-openjpeg/dist/openjpegwasm_decode.wasm", // JPEG 2000
  "codec-openjph/dist/openjphjs.wasm", // HTJ2K
];
mkdirSync(join(out, "wasm"), { recursive: true });
for (const codec of codecs) {
  copyFileSync(join(modules, "@cornerstonejs", codec), join(out, "wasm", codec.split("/").pop()));
}
