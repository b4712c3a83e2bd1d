// Bundles src/ into ../vigil/api/static/app (served by the daemon as /assets/...).
// Run at install time (.ci/install, image-build); node is never needed at runtime.
// Pages are split into their own chunks (loaded when first visited); hls.js only by playback.
import * as esbuild from "esbuild";
import { rmSync, mkdirSync, cpSync } from "node:fs";

const OUT = new URL("../vigil/api/static/app/", import.meta.url).pathname;
rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
const result = await esbuild.build({
  entryPoints: { main: "src/main.tsx", app: "src/styles/index.css" },
  bundle: true,
  splitting: true,
  format: "esm",
  target: ["chrome110", "firefox115", "safari16"],
  minify: true,
  sourcemap: false,
  legalComments: "none",
  outdir: OUT,
  entryNames: "[name]",
  chunkNames: "chunks/[name]-[hash]",
  assetNames: "assets/[name]-[hash]",
  loader: { ".png": "file", ".svg": "file" },
  metafile: true,
  logLevel: "warning",
});
cpSync("LICENSES.md", OUT + "LICENSES.md");
mkdirSync(OUT + "licenses");
for (const pkg of ["preact", "leaflet", "hls.js"]) {
  cpSync(`node_modules/${pkg}/LICENSE`, `${OUT}licenses/${pkg}.txt`);
}
let total = 0;
for (const [name, out] of Object.entries(result.metafile.outputs)) total += out.bytes;
console.log(`web app built into ${OUT} (${Object.keys(result.metafile.outputs).length} files, ${total} bytes)`);
