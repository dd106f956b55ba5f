/** Follows one message live with WatchMessage, resuming after a dropped stream. */

import { Code, ConnectError } from "@connectrpc/connect";

import type { ConversationClient } from "./api";
import { isAbort } from "./errors";
import { MessageStatus, type Message } from "./gen/photofun/v1/conversation_service_pb";

/** Reconnects in a row before giving up; any event received resets the count. */
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
    try {
      let finished = false;
      for await (const response of client.watchMessage(
        { messageId, resumeToken },
        { signal, onHeader: () => events.connected() },
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
      throw new ConnectError("the live stream ended early", Code.Unavailable);
    } catch (err) {
      if (isAbort(err, signal)) return;
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

/** Errors worth a reconnect: the network or a proxy, not the server saying no. */
function isTransient(err: unknown): boolean {
  const { code, rawMessage } = ConnectError.from(err);
  switch (code) {
    case Code.Unavailable:
    case Code.Unknown:
    case Code.Aborted:
    case Code.DeadlineExceeded:
      return true;
    case Code.Internal:
      return /trailer|network|stream/i.test(rawMessage);
    default:
      return false;
  }
}

/** Waits `ms`; false when the signal aborted first. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
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
