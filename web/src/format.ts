/** Enum values, times and reasons in words for the page. */

import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";

import { Angle, type Failure, Intent } from "./gen/photofun/v1/common_pb";
import { MessageStatus } from "./gen/photofun/v1/conversation_service_pb";
import {
  dateFormat,
  formatNumber,
  type Key,
  LOCALES,
  language,
  plural,
  relativeTime,
  t,
} from "./i18n";

const INTENTS: Record<Intent, Key> = {
  [Intent.UNSPECIFIED]: "intent.unspecified",
  [Intent.GENERATE_IMAGE]: "intent.generateImage",
  [Intent.GENERATE_ANGLES]: "intent.generateAngles",
  [Intent.STYLE_TRANSFER]: "intent.styleTransfer",
  [Intent.EDIT_BACKGROUND]: "intent.editBackground",
  [Intent.ENHANCE_IMAGE]: "intent.enhanceImage",
  [Intent.CHAT]: "intent.chat",
};

// Unqualified views look at the subject's left side (see Angle in common.proto).
const ANGLES: Record<Angle, Key> = {
  [Angle.UNSPECIFIED]: "angle.unspecified",
  [Angle.FRONT]: "angle.front",
  [Angle.FRONT_THREE_QUARTER]: "angle.front_three_quarter",
  [Angle.SIDE]: "angle.side",
  [Angle.REAR_THREE_QUARTER]: "angle.rear_three_quarter",
  [Angle.REAR]: "angle.rear",
  [Angle.TOP]: "angle.top",
  [Angle.REAR_THREE_QUARTER_RIGHT]: "angle.rear_three_quarter_right",
  [Angle.SIDE_RIGHT]: "angle.side_right",
  [Angle.FRONT_THREE_QUARTER_RIGHT]: "angle.front_three_quarter_right",
};

const STATUSES: Record<MessageStatus, Key> = {
  [MessageStatus.UNSPECIFIED]: "status.unspecified",
  [MessageStatus.PROCESSING]: "status.processing",
  [MessageStatus.DONE]: "status.done",
  [MessageStatus.FAILED]: "status.failed",
  [MessageStatus.CANCELLED]: "status.cancelled",
};

/** Styles the prompt and image services understand, in menu order ("" = let PhotoFun choose). */
export const STYLES: ReadonlyArray<readonly [value: string, label: Key]> = [
  ["", "style.auto"],
  ["photorealistic", "style.photorealistic"],
  ["anime", "style.anime"],
  ["cartoon", "style.cartoon"],
  ["watercolor", "style.watercolor"],
  ["oil painting", "style.oilPainting"],
  ["pencil", "style.pencil"],
  ["pixel art", "style.pixelArt"],
  ["3d", "style.3d"],
  ["pastel", "style.pastel"],
  ["vintage", "style.vintage"],
  ["black and white", "style.blackAndWhite"],
  ["neon", "style.neon"],
  ["cyberpunk", "style.cyberpunk"],
  ["minimalist", "style.minimalist"],
];

/** Languages the prompt service reads ("" = detect): the page's own (i18n.ts `LOCALES`). */
export const LANGUAGES: readonly string[] = ["", ...Object.keys(LOCALES)];

export function intentWords(intent: Intent): string {
  return t(INTENTS[intent] ?? "intent.unknown");
}

/** The enum name without its prefix, e.g. "STYLE_TRANSFER" (the test hook `data-intent`). */
export function intentKey(intent: Intent): string {
  return Intent[intent] ?? "UNSPECIFIED";
}

export function angleWords(angle: Angle): string {
  return t(ANGLES[angle] ?? "angle.view");
}

/** The enum name without its prefix, e.g. "FRONT" (the page's test hook `data-angle`). */
export function angleKey(angle: Angle): string {
  return Angle[angle] ?? "UNSPECIFIED";
}

export function statusWords(status: MessageStatus): string {
  return t(STATUSES[status] ?? "status.unspecified");
}

/** The enum name without its prefix, e.g. "PROCESSING" (the test hook `data-status`). */
export function statusKey(status: MessageStatus): string {
  return MessageStatus[status] ?? "UNSPECIFIED";
}

export function styleWords(style: string): string {
  const label = STYLES.find(([value]) => value === style)?.[1];
  return label === undefined ? style : t(label);
}

export function languageWords(lang: string): string {
  if (lang === "") return t("lang.auto");
  // "Vietnamese" / "tiếng Việt" / "вʼєтнамська": the name in the page's language, from Intl.
  const name = new Intl.DisplayNames([language()], { type: "language" }).of(lang) ?? lang;
  return capitalize(name);
}

/**
 * "PROVIDER_UNAVAILABLE" → "provider unavailable" in English; in other languages the reason
 * stays the code it is (the server's reasons are not words of the page's catalogue).
 */
export function reasonWords(reason: string): string {
  return language() === "en" ? reason.toLowerCase().replace(/_/g, " ") : reason;
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

const dateTime = dateFormat({ dateStyle: "medium", timeStyle: "short" });
const shortDate = dateFormat({ month: "short", day: "numeric" });

/** "now", "5 minutes ago", "yesterday", else a date, in the page's language. */
export function ago(date: Date | undefined, now: Date = new Date()): string {
  if (date === undefined) return "";
  const seconds = Math.round((date.getTime() - now.getTime()) / 1000);
  if (Math.abs(seconds) < 45) return relativeTime(0, "second");
  const minutes = Math.round(seconds / 60);
  if (Math.abs(minutes) < 60) return relativeTime(minutes, "minute");
  const hours = Math.round(minutes / 60);
  if (Math.abs(hours) < 24) return relativeTime(hours, "hour");
  const days = Math.round(hours / 24);
  if (Math.abs(days) < 7) return relativeTime(days, "day");
  return shortDate.format(date);
}

/** Full date and time, for tooltips. */
export function fullDate(date: Date | undefined): string {
  return date === undefined ? "" : dateTime.format(date);
}

/** A duration between two times, e.g. "4.2 s" or "1 min 12 s", in the page's language. */
export function took(start: Date | undefined, end: Date | undefined): string {
  if (start === undefined || end === undefined) return "";
  const seconds = Math.max(0, (end.getTime() - start.getTime()) / 1000);
  const unit = (value: number, name: "second" | "minute", digits = 0) =>
    formatNumber(value, {
      style: "unit",
      unit: name,
      unitDisplay: "short",
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    });
  if (seconds < 0.1) return t("time.underATenth", { time: unit(0.1, "second", 1) });
  if (seconds < 60) return unit(seconds, "second", 1);
  return `${unit(Math.floor(seconds / 60), "minute")} ${unit(Math.round(seconds % 60), "second")}`;
}

/** "2 messages", "1 message", "No messages yet". */
export function messageCount(count: number): string {
  return count === 0 ? t("count.noMessages") : plural("count.messages", count);
}
