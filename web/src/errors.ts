/** Turns any failed call into words a person can read: what went wrong, and the status in words. */

import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { Code, ConnectError } from "@connectrpc/connect";
import { formatNumber, type Key, language, t } from "./i18n";

/** A failed call, described for people. */
export interface Problem {
  /** A sentence, e.g. "The prompt must be at most 2000 characters". */
  message: string;
  /** The gRPC status in words, e.g. "invalid argument". */
  status: string;
  code: Code;
  /** The server's machine-readable reason (google.rpc.ErrorInfo), e.g. "TOKEN_EXPIRED", or "". */
  reason: string;
  /** What the user can do about it, when there is something useful to say. */
  hint: string;
}

// Field names the server puts in front of INVALID_ARGUMENT messages ("prompt: must not ...").
const FIELD_WORDS: Record<string, Key> = {
  prompt: "field.prompt",
  style: "field.style",
  lang: "field.lang",
  topic: "field.topic",
  title: "field.title",
  image_url: "field.image_url",
  idempotency_key: "field.idempotency_key",
  conversation_id: "field.conversation_id",
  message_id: "field.message_id",
  page_token: "field.page_token",
  page_size: "field.page_size",
  resume_token: "field.resume_token",
  format: "field.format",
  data: "field.data",
  filename: "field.filename",
};

// Refusals worded by their reason (google.rpc.ErrorInfo) in a page not in English: the server's
// details are English. An English page keeps them (they carry the numbers: "9000×9000 pixels").
// The wait a google.rpc.RetryInfo asks for is added to the words ("; try again in 42 s").
export const REASON_WORDS: Record<string, Key> = {
  NOT_AN_IMAGE: "reason.notAnImage",
  IMAGE_TOO_LARGE: "reason.imageTooLarge",
  ANIMATED_IMAGE: "reason.animatedImage",
  UPLOAD_QUOTA_EXCEEDED: "reason.uploadQuotaExceeded",
  TOO_MANY_PROCESSING: "reason.tooManyProcessing",
  RATE_LIMITED: "reason.rateLimited",
  MISSING_CREDENTIALS: "reason.missingCredentials",
  TOKEN_EXPIRED: "reason.tokenExpired",
  INVALID_TOKEN: "reason.invalidToken",
  JWKS_UNAVAILABLE: "reason.jwksUnavailable",
  CONVERSATION_NOT_EMPTY: "reason.conversationNotEmpty",
  MESSAGE_FINISHED: "reason.messageFinished",
  RESUME_TOKEN_EXPIRED: "reason.resumeTokenExpired",
  WATCH_INTERRUPTED: "reason.watchInterrupted",
  DATABASE_UNAVAILABLE: "reason.databaseUnavailable",
  QUEUE_UNAVAILABLE: "reason.queueUnavailable",
  URL_NOT_ALLOWED: "reason.urlNotAllowed",
  MEDIA_UNAVAILABLE: "reason.mediaUnavailable",
  MEDIA_REFUSED: "reason.mediaRefused",
};

const HINTS: Partial<Record<Code, Key>> = {
  [Code.Unavailable]: "hint.unavailable",
  [Code.Unimplemented]: "hint.unimplemented",
  [Code.ResourceExhausted]: "hint.resourceExhausted",
  [Code.DeadlineExceeded]: "hint.deadlineExceeded",
};

function hintFor(code: Code): string {
  const key = HINTS[code];
  return key === undefined ? "" : t(key);
}

/**
 * What @connectrpc/connect-web throws, in its own words, when the bytes it read were not a
 * gRPC-web answer: an HTML page, a body cut short, no trailer. Its codes for these are the
 * library's guesses (INVALID_ARGUMENT, UNKNOWN) and say nothing about the user's input.
 */
const PROTOCOL_ERROR = new RegExp(
  "^(protocol error|missing (trailer|message|response body)|extra (trailer|message|data)|" +
    "unexpected end flag|invalid envelope|invalid grpc-status|unsupported content type|" +
    "received compressed envelope|parse binary)",
  "i",
);

/** True when the answer could not be read as gRPC-web (not a status the server sent). */
export function isProtocolError(err: unknown): boolean {
  return PROTOCOL_ERROR.test(ConnectError.from(err).rawMessage);
}

/** True when fetch() failed: nothing answered, or the connection broke while reading. */
export function isNetworkError(err: unknown): boolean {
  const error = ConnectError.from(err);
  return error.code === Code.Unknown && /fetch|network|load failed/i.test(error.rawMessage);
}

/** Describes an error thrown by a call (or anything else that was thrown). */
export function describe(err: unknown): Problem {
  const error = ConnectError.from(err);
  const reason = errorReason(error);
  const worded = language() === "en" ? undefined : REASON_WORDS[reason];
  let message = worded === undefined ? sentence(error.rawMessage) : t(worded);
  const wait = retryDelay(error);
  if (worded !== undefined && wait !== undefined) {
    message += t("reason.retryIn", { seconds: formatNumber(Math.ceil(wait)) });
  }
  let code = error.code;
  // A refusal that says how long to wait needs no other advice (the server's English says it too).
  let hint = wait === undefined ? hintFor(code) : "";
  const http = /^HTTP (\d{3})/.exec(error.rawMessage);
  if (isNetworkError(error)) {
    // fetch() rejected: nothing answered at all.
    message = t("error.unreachable");
    code = Code.Unavailable;
    hint = hintFor(code);
  } else if (isProtocolError(error)) {
    // Something answered, but not in gRPC-web. gRPC calls an unreadable answer INTERNAL.
    message = t("error.notUnderstood");
    code = Code.Internal;
    hint = t("hint.config");
  } else if (http !== null) {
    // Something answered, but not with gRPC-web (a plain web server, a proxy error page).
    message = t("error.http", { status: http[1] ?? "" });
    hint = t("hint.config");
  }
  return { message, status: codeWords(code), code, reason, hint };
}

/** One line: "The prompt must not be empty (invalid argument)". */
export function problemText(problem: Problem): string {
  return t("problem.text", { message: problem.message, status: problem.status });
}

/** True when the error means "sign in again". */
export function isUnauthenticated(err: unknown): boolean {
  return ConnectError.from(err).code === Code.Unauthenticated;
}

/** Code.InvalidArgument → "invalid argument", in the page's language. */
export function codeWords(code: Code): string {
  return t(CODES[code] ?? "code.unknown");
}

const CODES: Partial<Record<Code, Key>> = {
  [Code.Canceled]: "code.cancelled",
  [Code.Unknown]: "code.unknown",
  [Code.InvalidArgument]: "code.invalidArgument",
  [Code.DeadlineExceeded]: "code.deadlineExceeded",
  [Code.NotFound]: "code.notFound",
  [Code.AlreadyExists]: "code.alreadyExists",
  [Code.PermissionDenied]: "code.permissionDenied",
  [Code.ResourceExhausted]: "code.resourceExhausted",
  [Code.FailedPrecondition]: "code.failedPrecondition",
  [Code.Aborted]: "code.aborted",
  [Code.OutOfRange]: "code.outOfRange",
  [Code.Unimplemented]: "code.unimplemented",
  [Code.Internal]: "code.internal",
  [Code.Unavailable]: "code.unavailable",
  [Code.DataLoss]: "code.dataLoss",
  [Code.Unauthenticated]: "code.unauthenticated",
};

/**
 * "prompt: must not be empty" → "The prompt must not be empty"; a reason that is a sentence of
 * its own ("data: the image has 9000×9000 pixels, …", "data: GIF images are not accepted")
 * keeps its own subject; other text gets a capital.
 */
function sentence(raw: string): string {
  const text = raw.trim();
  if (text === "") return t("error.unknown");
  const field = /^([a-z_]+)(?:\[\d+\])?: (.+)$/s.exec(text);
  if (field !== null) {
    const [, name = "", rest = ""] = field;
    if (/^(the|this|these) |^[A-Z]/.test(rest)) return rest.charAt(0).toUpperCase() + rest.slice(1);
    const known = FIELD_WORDS[name];
    const words =
      known !== undefined ? t(known) : t("field.named", { name: name.replace(/_/g, " ") });
    return t("error.field", { field: words, problem: rest });
  }
  return text.charAt(0).toUpperCase() + text.slice(1);
}

const ERROR_INFO = "google.rpc.ErrorInfo";
const RETRY_INFO = "google.rpc.RetryInfo";

/** The bytes of the first detail of type `type`; details parsed from the wire are
 * {type, value: bytes} (ours to send would be {desc, value}). */
function detailBytes(error: ConnectError, type: string): Uint8Array | undefined {
  for (const detail of error.details) {
    if ("type" in detail && detail.type === type) return detail.value;
  }
  return undefined;
}

/** The first length-delimited field `number` of a message, as a reader over it. */
function field(bytes: Uint8Array, number: number): BinaryReader | undefined {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [found, wireType] = reader.tag();
    if (found === number && wireType === WireType.LengthDelimited) {
      return new BinaryReader(reader.bytes());
    }
    reader.skip(wireType);
  }
  return undefined;
}

/** The `reason` of the google.rpc.ErrorInfo detail, decoded by hand (field 1, a string). */
function errorReason(error: ConnectError): string {
  const bytes = detailBytes(error, ERROR_INFO);
  if (bytes === undefined) return "";
  try {
    const reader = new BinaryReader(bytes);
    while (reader.pos < reader.len) {
      const [number, wireType] = reader.tag();
      if (number === 1 && wireType === WireType.LengthDelimited) return reader.string();
      reader.skip(wireType);
    }
  } catch {
    // A malformed detail is no reason to hide the error itself.
  }
  return "";
}

/**
 * Seconds a google.rpc.RetryInfo asks to wait (its `retry_delay`, field 1, a Duration of
 * seconds, field 1, and nanos, field 2), decoded by hand; undefined when there is none.
 */
export function retryDelay(error: ConnectError): number | undefined {
  const bytes = detailBytes(error, RETRY_INFO);
  if (bytes === undefined) return undefined;
  try {
    const duration = field(bytes, 1);
    if (duration === undefined) return undefined;
    let seconds = 0;
    while (duration.pos < duration.len) {
      const [number, wireType] = duration.tag();
      if (number === 1 && wireType === WireType.Varint) seconds += Number(duration.int64());
      else if (number === 2 && wireType === WireType.Varint) seconds += duration.int32() / 1e9;
      else duration.skip(wireType);
    }
    return seconds > 0 ? seconds : undefined;
  } catch {
    return undefined;
  }
}
