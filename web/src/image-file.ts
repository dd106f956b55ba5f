/**
 * A picture the person attaches, made fit for UploadImage in the browser: only PNG, JPEG or
 * WebP; larger than 2048 px on its long side or over 3 MiB → scaled down and sent as JPEG.
 * One too large to decode safely here (over 50 MB, or over 100 megapixels by its header) is
 * refused before it is decoded: a phone could run out of memory on it.
 */

import { formatNumber, t } from "./i18n";

/** The server's limit on UploadImageRequest.data. */
export const MAX_UPLOAD_BYTES = 3 * 1024 * 1024;
/** Pictures are scaled down to this on their long side: plenty for the image models. */
export const MAX_SIDE = 2048;
/**
 * Beyond these the page does not decode a picture: decoding is all at once, 4 bytes a pixel
 * (100 MP → 400 MB), which can end a phone's tab. A 50 MP phone photo, or a 16-bit PNG of it,
 * stays well within both.
 */
export const MAX_FILE_BYTES = 50 * 1024 * 1024;
export const MAX_PIXELS = 100_000_000;
/** Enough of the start of a file for its signature and, nearly always, its dimensions. */
const HEADER_BYTES = 256 * 1024;
/** What the file picker offers and the page accepts. */
export const ACCEPTED_TYPES = ["image/png", "image/jpeg", "image/webp"] as const;

const EXTENSIONS: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  jfif: "image/jpeg",
  webp: "image/webp",
};

/** The bytes to upload, with what the person will see of them. */
export interface PreparedImage {
  data: Uint8Array;
  filename: string;
  /** True when the page scaled or re-encoded the picture. */
  resized: boolean;
}

/** A file the page will not upload; `message` says why, for people. */
export class ImageRefused extends Error {
  constructor(
    message: string,
    /** False when trying again cannot help (not a picture, unreadable). */
    readonly retryable = false,
  ) {
    super(message);
    this.name = "ImageRefused";
  }
}

/**
 * The file's type when it is one the page takes, else undefined. Some sources (a few file
 * managers, pasted files) give no MIME type; the name's extension decides then.
 */
export function acceptedType(file: File): string | undefined {
  const type = file.type.toLowerCase();
  if ((ACCEPTED_TYPES as readonly string[]).includes(type)) return type;
  if (type !== "" && type !== "application/octet-stream") return undefined;
  const ext = /\.([a-z0-9]+)$/i.exec(file.name)?.[1]?.toLowerCase() ?? "";
  return EXTENSIONS[ext];
}

/** "“notes.txt” is not a picture…" for a file of another kind. */
export function refusalText(file: File): string {
  const name = file.name !== "" ? t("file.quoted", { name: file.name }) : t("file.thatFile");
  return t("file.refused", { name });
}

/** Checks `file` and returns the bytes to upload, scaled down when it is too large. */
export async function prepareImage(file: File): Promise<PreparedImage> {
  if (acceptedType(file) === undefined) throw new ImageRefused(refusalText(file));
  // Only the start is read first: a large file is never held whole, only decoded.
  const header = new Uint8Array(await file.slice(0, HEADER_BYTES).arrayBuffer());
  const format = sniff(header);
  if (format === undefined) {
    throw new ImageRefused(t("file.notReally", { name: quoted(file) }));
  }
  if (file.size > MAX_FILE_BYTES) {
    throw new ImageRefused(
      t("file.tooLarge", {
        name: quoted(file),
        size: megabytes(file.size),
        max: megabytes(MAX_FILE_BYTES),
      }),
    );
  }
  const size = dimensions(format, header);
  if (size !== undefined && size.width * size.height > MAX_PIXELS) {
    throw new ImageRefused(
      t("file.tooManyPixels", {
        name: quoted(file),
        width: size.width,
        height: size.height,
        max: MAX_PIXELS / 1_000_000,
      }),
    );
  }
  const bitmap = await decode(file);
  try {
    const long = Math.max(bitmap.width, bitmap.height);
    if (long <= MAX_SIDE && file.size <= MAX_UPLOAD_BYTES) {
      const original = new Uint8Array(await file.arrayBuffer());
      return { data: original, filename: file.name || "picture", resized: false };
    }
    const data = await shrink(bitmap, Math.min(1, MAX_SIDE / long));
    return { data, filename: jpegName(file.name), resized: true };
  } finally {
    bitmap.close();
  }
}

/** The picture's own format, read from its first bytes (what the server checks too). */
function sniff(bytes: Uint8Array): string | undefined {
  const at = (i: number, ...values: number[]): boolean =>
    values.every((v, k) => bytes[i + k] === v);
  if (at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return "image/png";
  if (at(0, 0xff, 0xd8, 0xff)) return "image/jpeg";
  if (at(0, 0x52, 0x49, 0x46, 0x46) && at(8, 0x57, 0x45, 0x42, 0x50)) return "image/webp";
  return undefined;
}

/**
 * The picture's size as its header states it (before any EXIF rotation, which changes neither
 * the pixel count nor the long side); undefined when the header is not within `bytes`.
 */
export function dimensions(
  format: string,
  bytes: Uint8Array,
): { width: number; height: number } | undefined {
  const u16be = (i: number): number => ((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0);
  const u24le = (i: number): number =>
    (bytes[i] ?? 0) | ((bytes[i + 1] ?? 0) << 8) | ((bytes[i + 2] ?? 0) << 16);
  const u32be = (i: number): number => u16be(i) * 65536 + u16be(i + 2);
  const size = (width: number, height: number): { width: number; height: number } | undefined =>
    width > 0 && height > 0 ? { width, height } : undefined;
  if (format === "image/png") {
    // The IHDR chunk comes first: width and height at bytes 16 and 20.
    return bytes.length >= 24 ? size(u32be(16), u32be(20)) : undefined;
  }
  if (format === "image/webp") {
    if (bytes.length < 30) return undefined;
    const chunk = String.fromCharCode(...bytes.subarray(12, 16));
    if (chunk === "VP8X") return size(u24le(24) + 1, u24le(27) + 1);
    if (chunk === "VP8 ") {
      return size(u24le(26) & 0x3fff, u24le(28) & 0x3fff);
    }
    if (chunk === "VP8L") {
      const bits = u24le(21) + (bytes[24] ?? 0) * 0x1000000;
      return size((bits & 0x3fff) + 1, (Math.floor(bits / 0x4000) & 0x3fff) + 1);
    }
    return undefined;
  }
  // JPEG: walk the segments up to the frame header (SOFn), which holds the size.
  let at = 2;
  while (at + 9 < bytes.length) {
    if (bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1] ?? 0;
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2; // no length
      continue;
    }
    const frame =
      marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (frame) return size(u16be(at + 7), u16be(at + 5));
    if (marker === 0xd9 || marker === 0xda) return undefined; // no frame header before the data
    at += 2 + u16be(at + 2);
  }
  return undefined;
}

/** Decodes the picture upright (a phone photo's EXIF orientation applied). */
async function decode(file: File): Promise<ImageBitmap> {
  try {
    return await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch (first) {
    // Browsers from before "from-image" was a value reject the option, not the picture.
    if (!(first instanceof TypeError)) throw unreadable(file);
    try {
      return await createImageBitmap(file);
    } catch {
      throw unreadable(file);
    }
  }
}

function unreadable(file: File): ImageRefused {
  return new ImageRefused(t("file.unreadable", { name: quoted(file) }));
}

/**
 * JPEG of `bitmap` scaled by `scale`, at quality 0.9 and lower until it is within the limit;
 * if even that is too large (very noisy pictures), smaller still.
 */
async function shrink(bitmap: ImageBitmap, scale: number): Promise<Uint8Array> {
  let factor = scale;
  for (let round = 0; round < 4; round++) {
    const width = Math.max(1, Math.round(bitmap.width * factor));
    const height = Math.max(1, Math.round(bitmap.height * factor));
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext("2d");
    if (ctx === null) throw new ImageRefused(t("file.noResize"));
    // JPEG has no transparency: transparent parts become white, not black.
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, width, height);
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(bitmap, 0, 0, width, height);
    for (const quality of [0.9, 0.82, 0.74, 0.66]) {
      const blob = await toBlob(canvas, quality);
      if (blob.size <= MAX_UPLOAD_BYTES) return new Uint8Array(await blob.arrayBuffer());
    }
    factor *= 0.75;
  }
  throw new ImageRefused(t("file.notSmallEnough"));
}

function toBlob(canvas: HTMLCanvasElement, quality: number): Promise<Blob> {
  return new Promise((resolve, reject) => {
    canvas.toBlob(
      (blob) =>
        blob !== null ? resolve(blob) : reject(new ImageRefused(t("file.notResized"), true)),
      "image/jpeg",
      quality,
    );
  });
}

/** "holiday.png" → "holiday.jpg" (what the bytes now are). */
function jpegName(name: string): string {
  const stem = name.replace(/\.[^.]*$/, "");
  return `${stem !== "" ? stem : "picture"}.jpg`;
}

/** Whole megabytes (MiB), rounded up: a file just over the limit never reads as at it. */
function megabytes(bytes: number): string {
  return formatNumber(Math.ceil(bytes / (1024 * 1024)));
}

function quoted(file: File): string {
  return file.name !== "" ? t("file.quoted", { name: file.name }) : t("file.theFile");
}
