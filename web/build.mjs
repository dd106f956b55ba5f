// Builds the browser client into web/dist: app.js (bundled TypeScript), app.css, index.html.
// Run from anywhere: `node web/build.mjs [--outdir DIR]` (default web/dist). Type checking is
// separate: `tsc -p web/tsconfig.json`.
import { copyFile, mkdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const web = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { outdir: { type: "string" } } });
const dist = values.outdir ? resolve(values.outdir) : join(web, "dist");

const common = {
  bundle: true,
  minify: true,
  sourcemap: true,
  logLevel: "warning",
  absWorkingDir: web,
};

try {
  await mkdir(dist, { recursive: true });
  await Promise.all([
    esbuild.build({
      ...common,
      entryPoints: [join(web, "src", "main.ts")],
      outfile: join(dist, "app.js"),
      format: "esm",
      // es2020: the generated code uses bigint.
      target: "es2020",
      platform: "browser",
    }),
    esbuild.build({
      ...common,
      entryPoints: [join(web, "src", "styles.css")],
      outfile: join(dist, "app.css"),
      target: ["chrome90", "firefox90", "safari14"],
    }),
    copyFile(join(web, "index.html"), join(dist, "index.html")),
  ]);
  console.log(`built ${dist}`);
} catch (err) {
  // esbuild has already printed its diagnostics; anything else is printed here.
  if (!(err && Array.isArray(err.errors))) console.error(err);
  process.exit(1);
}
