/** Follows one message live with WatchMessage, resuming after a dropped stream. */

import { Code, ConnectError } from "@connectrpc/connect";

import type { ConversationClient } from "./api";
import { isNetworkError, isProtocolError } from "./errors";
import { type Message, MessageStatus } from "./gen/photofun/v1/conversation_service_pb";
import { t } from "./i18n";

/** Reconnects in a row before giving up; an opened stream or any event resets the count. */
const MAX_RECONNECTS = 4;
const BACKOFF_MS = [500, 1000, 2000, 4000];

export interface WatchEvents {
  /** The server accepted the (re)connection; events follow as the message changes. */
  connected(): void;
  /** Every state the stream reports (the whole message each time). */
  update(message: Message): void;
  /** The stream dropped and will be reopened (attempt counts from 1). */
  reconnecting(attempt: number): void;
  /** The watch gave up; `err` is the last error. */
  failed(err: unknown): void;
}

/** Watches until the message is terminal, the signal aborts, or reconnecting fails. */
export async function watchMessage(
  client: ConversationClient,
  messageId: string,
  signal: AbortSignal,
  events: WatchEvents,
): Promise<void> {
  let resumeToken = "";
  let failures = 0;
  for (;;) {
    // Set once the server answered in gRPC-web: from then on a broken body is a cut stream.
    let open = false;
    try {
      let finished = false;
      const onHeader = (headers: Headers): void => {
        if (!isGrpcWeb(headers)) return;
        open = true;
        // WatchMessage sends its headers as soon as the stream is open, so a reconnect that
        // succeeds counts as progress even when the message is quiet (a proxy cutting idle
        // streams must not wear the count down during a long job).
        failures = 0;
        events.connected();
      };
      for await (const response of client.watchMessage(
        { messageId, resumeToken },
        { signal, onHeader },
      )) {
        failures = 0;
        if (response.resumeToken !== "") resumeToken = response.resumeToken;
        if (response.message !== undefined) {
          events.update(response.message);
          finished = response.message.status !== MessageStatus.PROCESSING;
        }
      }
      // The stream ends after the terminal state; ending earlier means a proxy cut it.
      if (finished || signal.aborted) return;
      throw cut(undefined);
    } catch (caught) {
      // Only our own abort ends the watch quietly; a CANCELLED from the server is an error.
      if (signal.aborted) return;
      const broken = isProtocolError(caught) || isNetworkError(caught);
      const err = open && broken ? cut(caught) : caught;
      if (!isTransient(err) || failures >= MAX_RECONNECTS) {
        events.failed(err);
        return;
      }
      failures += 1;
      events.reconnecting(failures);
      if (!(await sleep(BACKOFF_MS[failures - 1] ?? 4000, signal))) return;
    }
  }
}

/** The live connection broke after it was open (a proxy or the network, not the server). */
export function cut(cause: unknown): ConnectError {
  return new ConnectError(t("error.liveCut"), Code.Unavailable, undefined, [], cause);
}

/** False for an answer that is plainly something else, such as an HTML page. */
export function isGrpcWeb(headers: Headers): boolean {
  const type = headers.get("content-type") ?? "";
  return type === "" || /^application\/grpc-web/i.test(type);
}

/** Errors worth a reconnect: the network or a proxy, not the server saying no. */
export function isTransient(err: unknown): boolean {
  if (isProtocolError(err)) return false; // not gRPC-web at all: reconnecting will not help
  switch (ConnectError.from(err).code) {
    case Code.Unavailable:
    case Code.Unknown:
    case Code.Aborted:
    case Code.DeadlineExceeded:
      return true;
    default:
      return false;
  }
}

/** Waits `ms`; false when the signal aborted first. */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve(false);
      return;
    }
    const timer = window.setTimeout(() => {
      signal.removeEventListener("abort", stop);
      resolve(true);
    }, ms);
    const stop = (): void => {
      window.clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener("abort", stop, { once: true });
  });
}
