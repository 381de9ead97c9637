// Builds web/static/editor-<@codemirror/view version>.min.js from src/editor.js: one minified
// file, no CDN at run time, with a header naming every package version it holds (from
// package-lock.json), which tests/web/test_editor_bundle.py checks against the lock file.
//   cd editor && npm ci && npm run build
import {build} from "esbuild";
import {readFileSync, readdirSync, rmSync} from "node:fs";

const lock = JSON.parse(readFileSync(new URL("./package-lock.json", import.meta.url)));
const bundled = Object.entries(lock.packages)
  .filter(([path]) => path.startsWith("node_modules/") && !path.includes("esbuild"))
  .map(([path, info]) => `${path.slice("node_modules/".length)}@${info.version}`)
  .sort();
const view = lock.packages["node_modules/@codemirror/view"].version;
const out = new URL(`../web/static/editor-${view}.min.js`, import.meta.url);
const staticDir = new URL("../web/static/", import.meta.url);
for (const name of readdirSync(staticDir)) {
  if (/^editor-.*\.min\.js$/.test(name)) rmSync(new URL(name, staticDir));
}
await build({
  entryPoints: [new URL("./src/editor.js", import.meta.url).pathname],
  bundle: true, minify: true, format: "iife", target: "es2020", legalComments: "none",
  outfile: out.pathname,
  banner: {js: `/*! casework editor (editor/src/editor.js), built by editor/build.mjs from: ${bundled.join(" ")} (MIT licensed) */`},
});
console.log(`wrote ${out.pathname}`);
