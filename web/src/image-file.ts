/**
 * A picture the person attaches, made fit for UploadImage in the browser: only PNG, JPEG or
 * WebP; larger than 2048 px on its long side or over 3 MiB → scaled down and sent as JPEG.
 */

/** The server's limit on UploadImageRequest.data. */
export const MAX_UPLOAD_BYTES = 3 * 1024 * 1024;
/** Pictures are scaled down to this on their long side: plenty for the image models. */
export const MAX_SIDE = 2048;
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
  const name = file.name !== "" ? `“${file.name}”` : "That file";
  return `${name} is not a picture the studio can use. Attach a PNG, JPEG or WebP image.`;
}

/** Checks `file` and returns the bytes to upload, scaled down when it is too large. */
export async function prepareImage(file: File): Promise<PreparedImage> {
  if (acceptedType(file) === undefined) throw new ImageRefused(refusalText(file));
  const original = new Uint8Array(await file.arrayBuffer());
  if (sniff(original) === undefined) {
    throw new ImageRefused(
      `${quoted(file)} is not really a PNG, JPEG or WebP image (its content says otherwise).`,
    );
  }
  const bitmap = await decode(file);
  try {
    const long = Math.max(bitmap.width, bitmap.height);
    if (long <= MAX_SIDE && original.byteLength <= MAX_UPLOAD_BYTES) {
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
  return new ImageRefused(`${quoted(file)} could not be read as a picture; it may be damaged.`);
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
    if (ctx === null) throw new ImageRefused("This browser cannot resize pictures.");
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
  throw new ImageRefused("The picture could not be made small enough to upload.");
}

function toBlob(canvas: HTMLCanvasElement, quality: number): Promise<Blob> {
  return new Promise((resolve, reject) => {
    canvas.toBlob(
      (blob) =>
        blob !== null
          ? resolve(blob)
          : reject(new ImageRefused("The picture could not be resized.", true)),
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

function quoted(file: File): string {
  return file.name !== "" ? `“${file.name}”` : "The file";
}
