// Bundles src/editor.js (yjs, y-websocket and the textarea binding) into one minified ES module,
// ../static/documents/editor.js, which is committed and served as a static file of the documents
// app. `npm ci && npm run build`; the output is the same for the same package-lock.json.
import { build } from "esbuild";
import { statSync } from "node:fs";

const outfile = new URL("../static/documents/editor.js", import.meta.url).pathname;
await build({
  entryPoints: [new URL("src/editor.js", import.meta.url).pathname],
  outfile,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["es2020"],
  minify: true,
  legalComments: "eof",
  banner: { js: "// Built by documents/frontend (npm run build) from yjs, y-websocket and src/: do not edit." },
  logLevel: "warning",
});
console.log(`${outfile}: ${statSync(outfile).size} bytes`);
