/** Turns any failed call into words a person can read: what went wrong, and the status in words. */

import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { Code, ConnectError } from "@connectrpc/connect";

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
const FIELD_WORDS: Record<string, string> = {
  prompt: "The prompt",
  style: "The style",
  lang: "The language",
  topic: "The topic",
  title: "The title",
  image_url: "The image link",
  idempotency_key: "The request key",
  conversation_id: "The conversation id",
  message_id: "The message id",
  page_token: "The page token",
  page_size: "The page size",
  resume_token: "The resume token",
  format: "The image format",
  data: "The picture",
  filename: "The file name",
};

const CONFIG_HINT = "Check grpcWebUrl in config.json, or that the gRPC-web proxy is running.";

const HINTS: Partial<Record<Code, string>> = {
  [Code.Unavailable]: "The service may be restarting; try again in a moment.",
  [Code.Unimplemented]:
    "This address does not serve the PhotoFun API; check grpcWebUrl in config.json.",
  [Code.ResourceExhausted]: "Wait for one of your pictures to finish, then try again.",
  [Code.DeadlineExceeded]: "The server took too long; try again.",
};

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
  let message = sentence(error.rawMessage);
  let code = error.code;
  let hint = HINTS[code] ?? "";
  const http = /^HTTP (\d{3})/.exec(error.rawMessage);
  if (isNetworkError(error)) {
    // fetch() rejected: nothing answered at all.
    message = "The server could not be reached";
    code = Code.Unavailable;
    hint = HINTS[code] ?? "";
  } else if (isProtocolError(error)) {
    // Something answered, but not in gRPC-web. gRPC calls an unreadable answer INTERNAL.
    message = "The server's answer was not understood";
    code = Code.Internal;
    hint = CONFIG_HINT;
  } else if (http !== null) {
    // Something answered, but not with gRPC-web (a plain web server, a proxy error page).
    message = `The server answered with HTTP ${http[1] ?? ""} instead of the PhotoFun API`;
    hint = CONFIG_HINT;
  }
  return { message, status: codeWords(code), code, reason: errorReason(error), hint };
}

/** One line: "The prompt must not be empty (invalid argument)". */
export function problemText(problem: Problem): string {
  return `${problem.message} (${problem.status})`;
}

/** True when the error means "sign in again". */
export function isUnauthenticated(err: unknown): boolean {
  return ConnectError.from(err).code === Code.Unauthenticated;
}

/** "InvalidArgument" → "invalid argument". */
export function codeWords(code: Code): string {
  const name = Code[code] ?? "Unknown";
  if (code === Code.Canceled) return "cancelled";
  return name.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
}

/**
 * "prompt: must not be empty" → "The prompt must not be empty"; a reason that is a sentence of
 * its own ("data: the image has 9000×9000 pixels, …", "data: GIF images are not accepted")
 * keeps its own subject; other text gets a capital.
 */
function sentence(raw: string): string {
  const text = raw.trim();
  if (text === "") return "Something went wrong";
  const field = /^([a-z_]+)(?:\[\d+\])?: (.+)$/s.exec(text);
  if (field !== null) {
    const [, name = "", rest = ""] = field;
    if (/^(the|this|these) |^[A-Z]/.test(rest)) return rest.charAt(0).toUpperCase() + rest.slice(1);
    const words = FIELD_WORDS[name] ?? `The ${name.replace(/_/g, " ")}`;
    return `${words} ${rest}`;
  }
  return text.charAt(0).toUpperCase() + text.slice(1);
}

const ERROR_INFO = "google.rpc.ErrorInfo";

/** The `reason` of the google.rpc.ErrorInfo detail, decoded by hand (field 1, a string). */
function errorReason(error: ConnectError): string {
  for (const detail of error.details) {
    // Details parsed from the wire are {type, value: bytes}; ours to send would be {desc, value}.
    if (!("type" in detail) || detail.type !== ERROR_INFO) continue;
    try {
      const reader = new BinaryReader(detail.value);
      while (reader.pos < reader.len) {
        const [field, wireType] = reader.tag();
        if (field === 1 && wireType === WireType.LengthDelimited) return reader.string();
        reader.skip(wireType);
      }
    } catch {
      // A malformed detail is no reason to hide the error itself.
    }
  }
  return "";
}
