/**
 * Live sync: follows a resumable change stream (WatchConversations for the list,
 * WatchConversation for the conversation on screen) for as long as it is wanted, so several tabs
 * or devices of one person stay in step. A dropped stream is reopened with the last
 * `resume_token` (nothing lost, nothing twice); a token too old to continue from
 * (FAILED_PRECONDITION, reason RESUME_TOKEN_EXPIRED) starts a fresh stream, and the caller lists
 * again.
 */

import { Code, ConnectError } from "@connectrpc/connect";

import { describe, isNetworkError, isProtocolError } from "./errors";
import { cut, isGrpcWeb, isTransient, sleep } from "./watch";

/** The server's reason for a resume token it can no longer continue from. */
const RESUME_TOKEN_EXPIRED = "RESUME_TOKEN_EXPIRED";
/** Waits between reconnects in a row; the last one repeats (a live stream never gives up). */
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];

/** What a change stream's responses share. */
interface Resumable {
  resumeToken: string;
}

/** Opens the stream after `resumeToken` ("" for a fresh one). */
export type OpenStream<T extends Resumable> = (
  resumeToken: string,
  options: { signal: AbortSignal; onHeader: (headers: Headers) => void },
) => AsyncIterable<T>;

export interface ChangeStreamEvents<T> {
  /**
   * The server opened the stream. `fresh` when it started without a token (the first time, or
   * after the token expired): it holds only changes from now on, so this is when to list.
   */
  opened(fresh: boolean): void;
  /** One change, in order. */
  change(response: T): void;
  /** The stream dropped before it could be reopened (attempt counts from 1). */
  reconnecting(attempt: number): void;
  /**
   * The server ended the stream (WatchConversation does after the conversation was deleted), or
   * refused it in a way that reconnecting will not mend (`err`). Nothing more follows.
   */
  stopped(err: unknown): void;
}

/**
 * Follows the stream until `signal` aborts. `endless`: a stream the server never ends on its own
 * (WatchConversations), so an end is a proxy cutting it and is reopened.
 */
export async function followChanges<T extends Resumable>(
  open: OpenStream<T>,
  signal: AbortSignal,
  endless: boolean,
  events: ChangeStreamEvents<T>,
): Promise<void> {
  let resumeToken = "";
  let failures = 0;
  while (!signal.aborted) {
    let opened = false;
    try {
      const fresh = resumeToken === "";
      const onHeader = (headers: Headers): void => {
        if (!isGrpcWeb(headers) || opened) return;
        opened = true;
        failures = 0;
        events.opened(fresh);
      };
      for await (const response of open(resumeToken, { signal, onHeader })) {
        // Headers and the first message may come in one read: opened before the first change.
        onHeader(new Headers());
        if (response.resumeToken !== "") resumeToken = response.resumeToken;
        events.change(response);
      }
      if (signal.aborted) return;
      if (!endless) {
        events.stopped(undefined);
        return;
      }
      throw cut(undefined);
    } catch (caught) {
      if (signal.aborted) return;
      const err =
        opened && (isProtocolError(caught) || isNetworkError(caught)) ? cut(caught) : caught;
      const problem = describe(err);
      const expired =
        problem.code === Code.FailedPrecondition && problem.reason === RESUME_TOKEN_EXPIRED;
      if (expired && resumeToken !== "") {
        // Too far behind to catch up change by change: start afresh, and list again.
        resumeToken = "";
        continue;
      }
      if (!isTransient(err)) {
        events.stopped(ConnectError.from(err));
        return;
      }
      failures += 1;
      events.reconnecting(failures);
      const wait = BACKOFF_MS[Math.min(failures, BACKOFF_MS.length) - 1] ?? 15000;
      if (!(await sleep(wait, signal))) return;
    }
  }
}
