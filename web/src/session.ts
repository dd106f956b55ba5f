/**
 * Who is signed in: the token, the sign-in panel, the session's calls (ended on sign-out), and
 * failed calls reported in words, or as a sign-in when the server refused the token.
 */

import { type TokenStore, tokenSubject } from "./api";
import { describe, isUnauthenticated, problemText } from "./errors";
import { t } from "./i18n";
import type { ErrorBanner } from "./overlays";
import type { SignInPanel } from "./signin";

/** What the rest of the page does when the person signs in or out. */
export interface SessionHooks {
  /** Signed in: show the person's conversations and the one in the address. */
  started(): void;
  /** The sign-in panel is about to show: close what is open (conversation, viewer, toast). */
  stopped(): void;
  /** Drops what belongs to the person signed in: the draft, its resend keys, the address. */
  forgetPerson(): void;
  /** The token was refused: the attached picture goes at once (see `requireSignIn`). */
  tokenRefused(): void;
  /** Signed out: nothing of theirs is left on the page behind the panel. */
  signedOut(): void;
}

export class Session {
  /** Aborted on sign-out, ending every call of the signed-in user. */
  private controller = new AbortController();
  /**
   * Set when the server refused the token (expired, revoked): whose session that was (the
   * token's `sub`, undefined if unreadable), so that the next sign-in can tell whether the
   * draft on screen is theirs.
   */
  private interrupted: { user: string | undefined } | undefined;

  /** `shell` is the page behind the sign-in panel: hidden while nobody is signed in. */
  constructor(
    private readonly tokens: TokenStore,
    private readonly panel: SignInPanel,
    private readonly shell: HTMLElement,
    private readonly banner: ErrorBanner,
    private readonly hooks: SessionHooks,
  ) {}

  /** Aborted when this session ends; compare it to tell a call of a previous session. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Options for calls that outlive a conversation switch but not a sign-out. */
  get call(): { signal: AbortSignal } {
    return { signal: this.controller.signal };
  }

  /** The page is on screen (someone is signed in), not the sign-in panel. */
  get active(): boolean {
    return !this.shell.hidden;
  }

  /** True when the token in use is one the person pasted (so "Sign out" makes sense). */
  get canSignOut(): boolean {
    return this.tokens.usesPastedToken;
  }

  boot(): void {
    if (this.tokens.get() === undefined) this.showSignIn("");
    else this.start();
  }

  /** The panel's token: someone else signing in after a refused token gets no one's draft. */
  signIn(token: string): void {
    const before = this.interrupted;
    this.interrupted = undefined;
    const someoneElse =
      before !== undefined && (before.user === undefined || tokenSubject(token) !== before.user);
    if (someoneElse) this.hooks.forgetPerson();
    this.tokens.save(token);
    this.start();
  }

  /** Signs out and leaves nothing of this person for the next: draft, keys, address, lists. */
  signOut(): void {
    this.tokens.forget();
    this.interrupted = undefined;
    this.hooks.forgetPerson();
    this.showSignIn("");
    this.hooks.signedOut();
  }

  /** Reports a failed call in words, or sends the user to sign in when the token was refused. */
  fail(what: string, err: unknown): void {
    if (isUnauthenticated(err)) {
      this.requireSignIn(err);
      return;
    }
    const problem = describe(err);
    this.banner.show(what, problemText(problem), problem.hint);
  }

  requireSignIn(err: unknown): void {
    if (this.shell.hidden) return;
    const problem = describe(err);
    const reason =
      problem.reason === "TOKEN_EXPIRED"
        ? t("session.expired")
        : problem.reason === "MISSING_CREDENTIALS"
          ? t("session.signIn")
          : t("session.refused", { problem: problemText(problem) });
    // Whoever signs in next may be someone else (a shared machine): their own photo must not
    // wait for them in the composer. The typed words stay until we know (see `signIn`): the
    // same person signing in again keeps them.
    const token = this.tokens.get();
    this.interrupted = { user: token === undefined ? undefined : tokenSubject(token) };
    this.tokens.forget();
    this.hooks.tokenRefused();
    this.showSignIn(reason);
  }

  private start(): void {
    this.controller = new AbortController();
    this.panel.hide();
    this.shell.hidden = false;
    this.hooks.started();
  }

  private showSignIn(reason: string): void {
    this.controller.abort();
    this.hooks.stopped();
    this.shell.hidden = true;
    this.panel.show(reason);
  }
}
