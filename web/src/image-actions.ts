/**
 * Keeping a picture: Download (a real file with a telling name) and Copy seed (the clipboard),
 * each confirmed in words, also to screen readers.
 */

import { h } from "./dom";
import { angleKey } from "./format";
import { Angle } from "./gen/photofun/v1/common_pb";
import type { Message, MessageImage } from "./gen/photofun/v1/conversation_service_pb";

const EXTENSIONS: Record<string, string> = {
  "image/png": "png",
  "image/jpeg": "jpg",
  "image/webp": "webp",
  "image/gif": "gif",
};

/** Words that say nothing about the picture (and the views, named separately). */
const FILLER = new Set(
  (
    "a an the of and or with in on at to for from by into is it its this that my me please " +
    "make draw show give create generate picture image photo photos pictures images view views " +
    "angle angles front side rear back top left right three quarter"
  ).split(" "),
);
const MAX_WORDS = 3;
const MAX_STEM = 48;

// Ukrainian letters in Latin (the national system, simplified), for file names.
const UKRAINIAN: Record<string, string> = {
  а: "a",
  б: "b",
  в: "v",
  г: "h",
  ґ: "g",
  д: "d",
  е: "e",
  є: "ie",
  ж: "zh",
  з: "z",
  и: "y",
  і: "i",
  ї: "i",
  й: "i",
  к: "k",
  л: "l",
  м: "m",
  н: "n",
  о: "o",
  п: "p",
  р: "r",
  с: "s",
  т: "t",
  у: "u",
  ф: "f",
  х: "kh",
  ц: "ts",
  ч: "ch",
  ш: "sh",
  щ: "shch",
  ь: "",
  ю: "iu",
  я: "ia",
  "’": "",
  "'": "",
};

/** Lower-case ASCII words of `text`: accents dropped (Vietnamese too), Cyrillic spelt out. */
function asciiWords(text: string): string[] {
  const latin = Array.from(text.toLowerCase(), (ch) => UKRAINIAN[ch] ?? ch)
    .join("")
    .replace(/đ/g, "d")
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "");
  return latin.split(/[^a-z0-9]+/).filter((word) => word !== "");
}

/**
 * A file name for a drawn picture, e.g. `renault-clio-front-seed-123456.png`: a few words of
 * what it shows (the keywords, else the prompt), its view, its seed, and the extension of its
 * type; only `a-z 0-9 -` and the dot.
 */
export function imageFileName(m: Message, image: MessageImage): string {
  const source = m.keywords.length > 0 ? m.keywords.join(" ") : m.prompt;
  const words: string[] = [];
  for (const word of asciiWords(source)) {
    if (FILLER.has(word) || words.includes(word)) continue;
    words.push(word);
    if (words.length === MAX_WORDS) break;
  }
  const parts = [words.join("-").slice(0, MAX_STEM).replace(/-+$/, "") || "photofun"];
  if (image.angle !== Angle.UNSPECIFIED) {
    parts.push(angleKey(image.angle).toLowerCase().replace(/_/g, "-"));
  }
  if (image.seed !== 0) parts.push(`seed-${image.seed}`);
  return `${parts.join("-")}.${extension(image)}`;
}

function extension(image: MessageImage): string {
  const byType = EXTENSIONS[image.mimeType.toLowerCase().split(";")[0]?.trim() ?? ""];
  if (byType !== undefined) return byType;
  const byName = /\.(png|jpe?g|webp|gif)$/i.exec(
    new URL(image.imageUrl, document.baseURI).pathname,
  );
  const found = byName?.[1]?.toLowerCase();
  return found === undefined ? "png" : found === "jpeg" ? "jpg" : found;
}

/**
 * Saves the picture at `url` as `fileName`: fetched and handed to the browser as a file (an
 * object URL with `download`), which works across origins when the Media Service allows the
 * page to read it (CORS). Otherwise the link itself is followed with `download`: a same-origin
 * picture is still saved under its name, another origin's opens in a new tab ("opened").
 */
export async function downloadImage(url: string, fileName: string): Promise<"saved" | "opened"> {
  const origin = new URL(url, document.baseURI).origin;
  let blob: Blob | undefined;
  // An origin that refused once (it would log the same refusal again) is not asked again.
  if (!unreadable.has(origin)) {
    try {
      const response = await fetch(url, { mode: "cors", credentials: "omit" });
      if (response.ok) blob = await response.blob();
    } catch {
      // Not readable from this page (no CORS, a content policy): the link below.
      unreadable.add(origin);
    }
  }
  if (blob !== undefined) {
    const objectUrl = URL.createObjectURL(blob);
    clickLink(objectUrl, fileName, false);
    // The download has started by now; the URL is not needed after it.
    window.setTimeout(() => URL.revokeObjectURL(objectUrl), 60_000);
    return "saved";
  }
  clickLink(url, fileName, true);
  return origin === window.location.origin ? "saved" : "opened";
}

/** Origins whose pictures this page may not read (see downloadImage). */
const unreadable = new Set<string>();

function clickLink(href: string, fileName: string, newTab: boolean): void {
  const a = h("a", {
    href,
    download: fileName,
    rel: "noopener",
    target: newTab ? "_blank" : undefined,
    hidden: true,
  });
  document.body.appendChild(a);
  a.click();
  a.remove();
}

/** Puts `text` on the clipboard; false when the browser would not. */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No Clipboard API (an insecure page) or no permission: the old way.
  }
  const area = h("textarea", { class: "visually-hidden", readonly: true, "aria-hidden": "true" });
  area.value = text;
  const focused = document.activeElement;
  document.body.appendChild(area);
  area.select();
  let done = false;
  try {
    done = document.execCommand("copy");
  } catch {
    done = false;
  }
  area.remove();
  if (focused instanceof HTMLElement) focused.focus({ preventScroll: true });
  return done;
}

let region: HTMLElement | undefined;

/** Says `text` to screen readers (a polite status region, always in the page). */
export function announce(text: string): void {
  if (region === undefined || !region.isConnected) {
    region = h("div", {
      class: "visually-hidden",
      role: "status",
      "aria-live": "polite",
      "data-testid": "announcer",
    });
    document.body.appendChild(region);
  }
  // The same words again are still news.
  region.textContent = "";
  const target = region;
  window.setTimeout(() => {
    target.textContent = text;
  }, 50);
}
