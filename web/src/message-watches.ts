/**
 * The live part of the conversation on screen: each processing message followed (one watch per
 * message) until it finishes or the conversation is left, its card told how the stream is doing.
 */

import { Code, ConnectError } from "@connectrpc/connect";

import type { ConversationClient } from "./api";
import { describe, isUnauthenticated, problemText } from "./errors";
import { MessageStatus } from "./gen/photofun/v1/conversation_service_pb";
import type { MessageView } from "./message-view";
import type { Session } from "./session";
import type { ThreadView } from "./thread";
import { watchMessage } from "./watch";

export class MessageWatches {
  /** Messages being followed, by id. */
  private readonly watching = new Set<string>();

  /**
   * `signal` ends every watch (the conversation was left); `finished` is called when a message
   * stops processing (its conversation's count and time changed).
   */
  constructor(
    private readonly client: ConversationClient,
    private readonly session: Session,
    private readonly thread: ThreadView,
    private readonly signal: AbortSignal,
    private readonly finished: () => void,
  ) {}

  followAll(views: MessageView[]): void {
    for (const view of views) this.follow(view);
  }

  /** Follows a processing message until it finishes or the conversation is left. */
  follow(view: MessageView): void {
    if (this.watching.has(view.id) || view.status !== MessageStatus.PROCESSING) return;
    this.watching.add(view.id);
    void watchMessage(this.client, view.id, this.signal, {
      connected: () => view.setLive({ kind: "ok" }),
      update: (message) => {
        const pinned = this.thread.pinned;
        view.setLive({ kind: "ok" });
        view.update(message);
        if (pinned) this.thread.scrollToEnd(true);
        if (message.status !== MessageStatus.PROCESSING) this.finished();
      },
      reconnecting: (attempt) => view.setLive({ kind: "reconnecting", attempt }),
      failed: (err) => {
        if (isUnauthenticated(err)) {
          this.session.requireSignIn(err);
          return;
        }
        if (ConnectError.from(err).code === Code.NotFound) {
          // Deleted elsewhere: it will never finish, and a retry could never succeed.
          view.setLive({ kind: "deleted" });
          return;
        }
        view.setLive({
          kind: "failed",
          text: problemText(describe(err)),
          retry: () => {
            view.setLive({ kind: "ok" });
            this.follow(view);
          },
        });
      },
    }).finally(() => this.watching.delete(view.id));
  }
}
