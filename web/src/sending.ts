/**
 * Sending the draft: into the conversation on screen, or into one created for it; a resend after
 * a lost answer makes no duplicate (the same keys), and a conversation made for a message the
 * server refused is deleted again. A message names the earlier result it acts on (`reference`)
 * when the person picked one; Regenerate and Variation send another take. Also the attached
 * picture's upload.
 */

import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";

import { type ConversationClient, newIdempotencyKey } from "./api";
import type { Explain } from "./attachment";
import type { Draft } from "./composer";
import type { ConversationList } from "./conversations";
import { describe, isUnauthenticated, problemText } from "./errors";
import type {
  Conversation,
  CreateConversationRequestSchema,
  Message,
  SendMessageRequestSchema,
} from "./gen/photofun/v1/conversation_service_pb";
import { t } from "./i18n";
import type { Navigator } from "./navigation";
import type { Session } from "./session";

/**
 * SendMessage answers that mean "this message was not stored, and sending it again as it is
 * will not help": the draft (too long, a bad picture), a quota, a state.
 */
const REFUSED: ReadonlySet<Code> = new Set([
  Code.InvalidArgument,
  Code.ResourceExhausted,
  Code.FailedPrecondition,
]);
/** SendMessageRequest.reference: a message of the conversation and one of its images. */
interface Reference {
  messageId: string;
  imageIndex?: number | undefined;
}

/** UploadImage's hourly quota: trying again fails for up to an hour (the message says so). */
const UPLOAD_QUOTA_EXCEEDED = "UPLOAD_QUOTA_EXCEEDED";

/** A failed upload in words for the attachment's chip, and whether Retry is worth offering. */
export const explainUploadFailure: Explain = (err) => {
  const problem = describe(err);
  // A refused picture stays refused; anything else (network, restart) may pass later.
  // The hourly quota too: its message already says to try later, and Retry would fail
  // for up to an hour.
  return {
    text: problemText(problem),
    retry: problem.code !== Code.InvalidArgument && problem.reason !== UPLOAD_QUOTA_EXCEEDED,
  };
};

export class Sender {
  /** The CreateConversation in flight; a second send waits for it rather than racing it. */
  private creatingCall: Promise<Conversation | undefined> | undefined;
  /**
   * The keys of a draft not yet accepted, reused if the same draft is sent again so a resend
   * after a lost answer makes no duplicate: CreateConversation's request id (AIP-155) when it
   * starts a conversation, and SendMessage's idempotency key per conversation.
   */
  private pendingCreate: { draft: string; idempotencyKey: string } | undefined;
  private retry: { draft: string; conversationId: string; key: string } | undefined;

  constructor(
    private readonly client: ConversationClient,
    private readonly session: Session,
    private readonly list: ConversationList,
    private readonly nav: Navigator,
  ) {}

  /** A CreateConversation is on its way. */
  get creating(): boolean {
    return this.creatingCall !== undefined;
  }

  /** Forgets the resend keys (the draft they belong to is gone, or is someone else's). */
  forgetKeys(): void {
    this.pendingCreate = undefined;
    this.retry = undefined;
  }

  /**
   * Sends the draft to the conversation on screen, or to a new one from the "new conversation"
   * screen; true when accepted. Its card shows if that conversation is (still) on screen.
   */
  async send(draft: Draft): Promise<boolean> {
    // A different picture, or another picked result, is a different draft: it gets its own keys.
    const pick = this.nav.current?.pick;
    const source = draft.source;
    const text = JSON.stringify([
      draft.prompt,
      draft.style,
      draft.lang,
      draft.imageUrl,
      source?.conversationId,
      source?.messageId,
      source?.imageIndex,
      pick?.messageId,
      pick?.imageIndex,
    ]);
    let conversationId = this.nav.current?.id;
    /**
     * Created for this message just now, and empty: only such a conversation is deleted when
     * the message is refused. A retried CreateConversation (the same request id) returns the
     * conversation the first attempt made, which may hold messages by now: that one is kept.
     */
    let fresh = false;
    if (conversationId === undefined) {
      const created = await this.createConversation(text);
      if (created === undefined) return false;
      conversationId = created.conversationId;
      fresh = created.messageCount === 0;
    }
    // The result it acts on: a picture of this conversation attached with "Edit this picture"
    // (its URL goes too, as the picture to edit), else the one picked ("Continue from this");
    // none means the latest, which the server knows.
    let reference: Reference | undefined;
    let sentPick: typeof pick;
    if (source !== undefined && source.conversationId === conversationId) {
      reference = { messageId: source.messageId, imageIndex: source.imageIndex };
    } else if (pick !== undefined && this.nav.current?.id === conversationId) {
      reference = { messageId: pick.messageId, imageIndex: pick.imageIndex };
      sentPick = pick;
    }
    const { prompt, style, lang, imageUrl } = draft;
    const request = { conversationId, prompt, style, lang, imageUrl, reference };
    const accepted = await this.deliver(request, text, t("send.notSent"), fresh);
    if (accepted) {
      const open = this.nav.current;
      if (open?.id === conversationId) open.sent(sentPick);
    }
    return accepted;
  }

  /**
   * Regenerate (no `imageIndex`) or Variation (one image): another take of `message`'s result,
   * with new seeds, as a message of its own in the same conversation, in the same words.
   */
  async sendVariation(
    conversationId: string,
    message: Message,
    imageIndex?: number,
  ): Promise<boolean> {
    const { prompt, style, lang, topic, messageId } = message;
    const reference: Reference = { messageId, imageIndex };
    const text = JSON.stringify(["variation", messageId, imageIndex]);
    const request = { conversationId, prompt, style, lang, topic, reference, variation: true };
    const what = t(imageIndex === undefined ? "send.notRegenerated" : "send.notVaried");
    return this.deliver(request, text, what, false);
  }

  /**
   * SendMessage with a resend key (the same for the same draft until it is accepted), its card
   * shown if the conversation is (still) on screen; true when accepted. `fresh`: the conversation
   * was created for it just now, empty, and is deleted again if the message is refused.
   */
  private async deliver(
    request: MessageInitShape<typeof SendMessageRequestSchema> & { conversationId: string },
    text: string,
    failure: string,
    fresh: boolean,
  ): Promise<boolean> {
    const session = this.session.signal;
    const conversationId = request.conversationId;
    const last = this.retry;
    const key =
      last?.draft === text && last.conversationId === conversationId
        ? last.key
        : newIdempotencyKey();
    this.retry = { draft: text, conversationId, key };
    try {
      const res = await this.client.sendMessage(
        { ...request, idempotencyKey: key },
        { signal: session },
      );
      this.retry = undefined;
      const message = res.message;
      const open = this.nav.current;
      if (message !== undefined && open?.id === conversationId) open.accepted(message);
      void this.nav.refresh(conversationId);
      return true;
    } catch (err) {
      if (session.aborted) return false;
      this.session.fail(failure, err);
      if (fresh && REFUSED.has(describe(err).code)) {
        this.retry = undefined;
        void this.discard(conversationId);
      }
      return false;
    }
  }

  /**
   * Stores an attached picture on the Media Service (UploadImage) and returns its URL. A
   * refused token brings the sign-in panel back; other failures are the chip's to explain.
   */
  async upload(data: Uint8Array, filename: string, signal: AbortSignal): Promise<string> {
    const session = this.session.signal;
    // Ends when the picture is removed or replaced, or on sign-out.
    const call = new AbortController();
    const stop = (): void => call.abort();
    if (signal.aborted || session.aborted) stop();
    signal.addEventListener("abort", stop);
    session.addEventListener("abort", stop);
    try {
      const res = await this.client.uploadImage({ data, filename }, { signal: call.signal });
      if (res.imageUrl === "") {
        throw new ConnectError(t("error.noImageAddress"), Code.Internal);
      }
      return res.imageUrl;
    } catch (err) {
      if (!call.signal.aborted && isUnauthenticated(err)) this.session.requireSignIn(err);
      throw err;
    } finally {
      signal.removeEventListener("abort", stop);
      session.removeEventListener("abort", stop);
    }
  }

  /**
   * Starts a conversation for `draft` (title left to the server), one at a time, and opens it
   * if the person is still on the "new conversation" screen.
   */
  private createConversation(draft: string): Promise<Conversation | undefined> {
    if (this.creatingCall === undefined) {
      this.creatingCall = this.create(draft).finally(() => {
        this.creatingCall = undefined;
        this.list.render();
      });
      this.list.render();
    }
    return this.creatingCall;
  }

  private async create(draft: string): Promise<Conversation | undefined> {
    const session = this.session.signal;
    // An idempotency key makes a retried create return the same conversation (AIP-155); it is
    // kept for the same draft, so a resend after a lost answer makes no second conversation.
    if (this.pendingCreate?.draft !== draft) {
      this.pendingCreate = { draft, idempotencyKey: newIdempotencyKey() };
    }
    const request: MessageInitShape<typeof CreateConversationRequestSchema> = {
      title: "",
      idempotencyKey: this.pendingCreate.idempotencyKey,
    };
    try {
      const res = await this.client.createConversation(request, { signal: session });
      const c = res.conversation;
      if (c === undefined) {
        throw new ConnectError(t("error.noConversation"), Code.Internal);
      }
      this.pendingCreate = undefined;
      this.list.upsert(c, true);
      this.nav.showCreated(c);
      return c;
    } catch (err) {
      if (!session.aborted) this.session.fail(t("send.notStarted"), err);
      return undefined;
    }
  }

  /**
   * Deletes a conversation made for a message the server then refused, so no empty "New
   * conversation" is left behind; the draft stays in the composer, and the next send starts
   * afresh. (A transient failure keeps it: that message may have been stored after all.)
   */
  private async discard(conversationId: string): Promise<void> {
    // Off the screen and the list first, so the next send cannot go into it meanwhile; kept off
    // while a list that started before the delete answers.
    this.list.drop(conversationId);
    // Replaced, not pushed: Back must not lead to a conversation that no longer exists.
    this.nav.leave(conversationId, "replace");
    this.list.render();
    try {
      // Only if still empty: a message sent into it from another tab meanwhile keeps it.
      const request = { conversationId, onlyIfEmpty: true };
      await this.client.deleteConversation(request, this.session.call);
    } catch (err) {
      const code = ConnectError.from(err).code;
      if (code === Code.NotFound) return;
      // Left as it is: back in the list at once when it has messages, else on its next load.
      this.list.undrop(conversationId);
      if (code === Code.FailedPrecondition) void this.list.load(false);
    }
  }
}
