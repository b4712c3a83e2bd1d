// Bundles src/ into ../vigil/api/static/app (served by the daemon as /assets/...), and the district
// hub's page, src/hub/, into ../vigil/api/static/hub (served by `vigil hub` at / and /hub/...).
// Run at install time (.ci/install, image-build); node is never needed at runtime.
// Pages are split into their own chunks (loaded when first visited); hls.js only by playback.
import * as esbuild from "esbuild";
import { rmSync, mkdirSync, cpSync } from "node:fs";

const OUT = new URL("../vigil/api/static/app/", import.meta.url).pathname;
const HUB_OUT = new URL("../vigil/api/static/hub/", import.meta.url).pathname;
const LICENSED = ["preact", "leaflet", "hls.js"];
const common = {
  bundle: true,
  splitting: true,
  format: "esm",
  target: ["chrome110", "firefox115", "safari16"],
  minify: true,
  sourcemap: false,
  legalComments: "none",
  entryNames: "[name]",
  chunkNames: "chunks/[name]-[hash]",
  assetNames: "assets/[name]-[hash]",
  loader: { ".png": "file", ".svg": "file" },
  metafile: true,
  logLevel: "warning",
};
for (const dir of [OUT, HUB_OUT]) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
}
const result = await esbuild.build({
  ...common,
  entryPoints: { main: "src/main.tsx", app: "src/styles/index.css" },
  outdir: OUT,
});
// The hub's page: hub.js + hub.css (+ chunks), and index.html naming them under /hub/ (no inline
// script or style: the hub's CSP is default-src 'self').
const hub = await esbuild.build({
  ...common,
  entryPoints: [{ in: "src/hub/main.tsx", out: "hub" }, { in: "src/hub/hub.css", out: "hub" }],
  outdir: HUB_OUT,
});
cpSync("src/hub/index.html", HUB_OUT + "index.html");
for (const dir of [OUT, HUB_OUT]) {
  cpSync("LICENSES.md", dir + "LICENSES.md");
  mkdirSync(dir + "licenses");
  for (const pkg of LICENSED) cpSync(`node_modules/${pkg}/LICENSE`, `${dir}licenses/${pkg}.txt`);
}
for (const [dir, built] of [[OUT, result], [HUB_OUT, hub]]) {
  let total = 0;
  for (const out of Object.values(built.metafile.outputs)) total += out.bytes;
  console.log(`built into ${dir} (${Object.keys(built.metafile.outputs).length} files, ${total} bytes)`);
}
