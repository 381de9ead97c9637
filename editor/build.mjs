// Builds web/static/editor-<@codemirror/view version>.min.js from src/editor.js (and beside it
// .licenses.txt, the bundled packages' license notices): one minified
// file, no CDN at run time, with a header naming every package version it holds (from
// package-lock.json), which tests/web/test_editor_bundle.py checks against the lock file.
//   cd editor && npm ci && npm run build
import {build} from "esbuild";
import {readFileSync, readdirSync, rmSync, writeFileSync} from "node:fs";

const lock = JSON.parse(readFileSync(new URL("./package-lock.json", import.meta.url)));
const packages = Object.entries(lock.packages)
  .filter(([path]) => path.startsWith("node_modules/") && !path.includes("esbuild"))
  .sort(([a], [b]) => (a < b ? -1 : 1));
const bundled = packages.map(([path, info]) => `${path.slice("node_modules/".length)}@${info.version}`);
const view = lock.packages["node_modules/@codemirror/view"].version;
const out = new URL(`../web/static/editor-${view}.min.js`, import.meta.url);
const staticDir = new URL("../web/static/", import.meta.url);
for (const name of readdirSync(staticDir)) {
  if (/^editor-.*\.(min\.js|licenses\.txt)$/.test(name)) rmSync(new URL(name, staticDir));
}
await build({
  entryPoints: [new URL("./src/editor.js", import.meta.url).pathname],
  bundle: true, minify: true, format: "iife", target: "es2020", legalComments: "none",
  outfile: out.pathname,
  banner: {js: `/*! casework editor (editor/src/editor.js), built by editor/build.mjs from: ${bundled.join(" ")} (MIT licensed) */`},
});
// the bundled packages' licenses (all MIT), which require their notices to go with the copy
const notices = packages.map(([path], index) =>
  `${bundled[index]}\n\n${readFileSync(new URL(`./${path}/LICENSE`, import.meta.url), "utf8").trim()}\n`);
const licenses = new URL(`../web/static/editor-${view}.licenses.txt`, import.meta.url);
writeFileSync(licenses, `The packages bundled in editor-${view}.min.js, and their licenses.\n\n`
              + notices.join(`\n${"-".repeat(72)}\n\n`));
console.log(`wrote ${out.pathname} and ${licenses.pathname}`);
