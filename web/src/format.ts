/** Enum values, times and reasons in words for the page. */

import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";

import { Angle, type Failure, Intent } from "./gen/photofun/v1/common_pb";
import { MessageStatus } from "./gen/photofun/v1/conversation_service_pb";

const INTENTS: Record<Intent, string> = {
  [Intent.UNSPECIFIED]: "Reading your request…",
  [Intent.GENERATE_IMAGE]: "New image",
  [Intent.GENERATE_ANGLES]: "Several angles of one subject",
  [Intent.STYLE_TRANSFER]: "Restyle an image",
  [Intent.EDIT_BACKGROUND]: "Background edit",
  [Intent.ENHANCE_IMAGE]: "Enhance an image",
  [Intent.CHAT]: "Chat",
};

// Unqualified views look at the subject's left side (see Angle in common.proto).
const ANGLES: Record<Angle, string> = {
  [Angle.UNSPECIFIED]: "Image",
  [Angle.FRONT]: "Front",
  [Angle.FRONT_THREE_QUARTER]: "Front three-quarter",
  [Angle.SIDE]: "Side",
  [Angle.REAR_THREE_QUARTER]: "Rear three-quarter",
  [Angle.REAR]: "Rear",
  [Angle.TOP]: "Top",
  [Angle.REAR_THREE_QUARTER_RIGHT]: "Rear three-quarter, right",
  [Angle.SIDE_RIGHT]: "Right side",
  [Angle.FRONT_THREE_QUARTER_RIGHT]: "Front three-quarter, right",
};

const STATUSES: Record<MessageStatus, string> = {
  [MessageStatus.UNSPECIFIED]: "Unknown",
  [MessageStatus.PROCESSING]: "Processing",
  [MessageStatus.DONE]: "Done",
  [MessageStatus.FAILED]: "Failed",
  [MessageStatus.CANCELLED]: "Cancelled",
};

/** Styles the prompt and image services understand, in menu order ("" = let PhotoFun choose). */
export const STYLES: ReadonlyArray<readonly [value: string, label: string]> = [
  ["", "Auto"],
  ["photorealistic", "Photorealistic"],
  ["anime", "Anime"],
  ["cartoon", "Cartoon"],
  ["watercolor", "Watercolor"],
  ["oil painting", "Oil painting"],
  ["pencil", "Pencil sketch"],
  ["pixel art", "Pixel art"],
  ["3d", "3D render"],
  ["pastel", "Pastel"],
  ["vintage", "Vintage"],
  ["black and white", "Black and white"],
  ["neon", "Neon"],
  ["cyberpunk", "Cyberpunk"],
  ["minimalist", "Minimalist"],
];

/** Languages the prompt service reads ("" = detect). */
export const LANGUAGES: ReadonlyArray<readonly [value: string, label: string]> = [
  ["", "Auto"],
  ["en", "English"],
  ["vi", "Vietnamese"],
  ["uk", "Ukrainian"],
];

export function intentWords(intent: Intent): string {
  return INTENTS[intent] ?? "Unknown request";
}

/** The enum name without its prefix, e.g. "STYLE_TRANSFER" (the test hook `data-intent`). */
export function intentKey(intent: Intent): string {
  return Intent[intent] ?? "UNSPECIFIED";
}

export function angleWords(angle: Angle): string {
  return ANGLES[angle] ?? "View";
}

/** The enum name without its prefix, e.g. "FRONT" (the page's test hook `data-angle`). */
export function angleKey(angle: Angle): string {
  return Angle[angle] ?? "UNSPECIFIED";
}

export function statusWords(status: MessageStatus): string {
  return STATUSES[status] ?? "Unknown";
}

/** The enum name without its prefix, e.g. "PROCESSING" (the test hook `data-status`). */
export function statusKey(status: MessageStatus): string {
  return MessageStatus[status] ?? "UNSPECIFIED";
}

export function styleWords(style: string): string {
  return STYLES.find(([value]) => value === style)?.[1] ?? style;
}

export function languageWords(lang: string): string {
  return LANGUAGES.find(([value]) => value === lang)?.[1] ?? lang;
}

/** "PROVIDER_UNAVAILABLE" → "provider unavailable". */
export function reasonWords(reason: string): string {
  return reason.toLowerCase().replace(/_/g, " ");
}

/** "the message was cancelled" → "The message was cancelled". */
export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A Failure as one readable line, e.g. "No provider answered (provider unavailable)". */
export function failureText(failure: Failure | undefined): string {
  if (failure === undefined) return "";
  const message = failure.message.trim();
  const reason = failure.reason.trim();
  const sentence = capitalize(message);
  if (sentence !== "" && reason !== "") return `${sentence} (${reasonWords(reason)})`;
  return sentence !== "" ? sentence : reasonWords(reason);
}

/** True when `a` is a later time than `b` (an unset time is the earliest). */
export function isNewer(a: Timestamp | undefined, b: Timestamp | undefined): boolean {
  if (a === undefined) return false;
  if (b === undefined) return true;
  return a.seconds > b.seconds || (a.seconds === b.seconds && a.nanos > b.nanos);
}

export function toDate(ts: Timestamp | undefined): Date | undefined {
  return ts === undefined ? undefined : timestampDate(ts);
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const shortDate = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });

/** "just now", "5 min. ago", "yesterday", else a date. */
export function ago(date: Date | undefined, now: Date = new Date()): string {
  if (date === undefined) return "";
  const seconds = Math.round((date.getTime() - now.getTime()) / 1000);
  if (Math.abs(seconds) < 45) return "just now";
  const minutes = Math.round(seconds / 60);
  if (Math.abs(minutes) < 60) return relative.format(minutes, "minute");
  const hours = Math.round(minutes / 60);
  if (Math.abs(hours) < 24) return relative.format(hours, "hour");
  const days = Math.round(hours / 24);
  if (Math.abs(days) < 7) return relative.format(days, "day");
  return shortDate.format(date);
}

/** Full date and time, for tooltips. */
export function fullDate(date: Date | undefined): string {
  return date === undefined ? "" : dateTime.format(date);
}

/** A duration between two times, e.g. "4.2 s" or "1 min 12 s". */
export function took(start: Date | undefined, end: Date | undefined): string {
  if (start === undefined || end === undefined) return "";
  const seconds = Math.max(0, (end.getTime() - start.getTime()) / 1000);
  if (seconds < 0.1) return "under 0.1 s";
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

/** "2 messages", "1 message", "No messages yet". */
export function messageCount(count: number): string {
  if (count === 0) return "No messages yet";
  return count === 1 ? "1 message" : `${count} messages`;
}
