// Builds the browser client into web/dist: app.js (bundled TypeScript), boot.js (the small
// script that words the loading splash before app.js runs), app.css, and index.html with the
// splash's words of every catalogue (web/src/locales/<lang>.json) written in.
// Run from anywhere: `node web/build.mjs [--outdir DIR]` (default web/dist). Type checking is
// separate: `tsc -p web/tsconfig.json`.
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
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

const escape = (text) =>
  text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

// index.html with the boot words of every language: the splash's data-en, data-vi, …
// (English first: boot.ts falls back to the first), and the no-JavaScript note in each.
async function page() {
  const folder = join(web, "src", "locales");
  const codes = (await readdir(folder))
    .filter((name) => name.endsWith(".json"))
    .map((name) => name.slice(0, -".json".length))
    .sort((a, b) => (a === "en" ? -1 : b === "en" ? 1 : a.localeCompare(b)));
  const words = {};
  for (const code of codes) {
    words[code] = JSON.parse(await readFile(join(folder, `${code}.json`), "utf8"));
  }
  const loading = codes.map((c) => `data-${c}="${escape(words[c]["boot.loading"])}"`).join(" ");
  const noscript = codes
    .map((c) => `<p lang="${c}">${escape(words[c]["boot.noscript"])}</p>`)
    .join("");
  const html = await readFile(join(web, "index.html"), "utf8");
  const filled = html
    .replace('data-words="boot.loading"', loading)
    .replace(
      '<noscript data-words="boot.noscript"></noscript>',
      `<noscript><div class="boot">${noscript}</div></noscript>`,
    );
  if (filled.includes("data-words=")) throw new Error("index.html: a data-words left unfilled");
  return filled;
}

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
      entryPoints: [join(web, "src", "boot.ts")],
      outfile: join(dist, "boot.js"),
      format: "iife",
      target: "es2020",
      platform: "browser",
    }),
    esbuild.build({
      ...common,
      entryPoints: [join(web, "src", "styles.css")],
      outfile: join(dist, "app.css"),
      target: ["chrome90", "firefox90", "safari14"],
    }),
    page().then((html) => writeFile(join(dist, "index.html"), html)),
  ]);
  console.log(`built ${dist}`);
} catch (err) {
  // esbuild has already printed its diagnostics; anything else is printed here.
  if (!(err && Array.isArray(err.errors))) console.error(err);
  process.exit(1);
}
