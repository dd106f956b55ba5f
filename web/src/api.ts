/** Where the API is, who the user is, and the typed client that talks gRPC-web to it. */

import { type Client, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";

import { ConversationService } from "./gen/photofun/v1/conversation_service_pb";

export type ConversationClient = Client<typeof ConversationService>;

/** The page's runtime settings, read from `config.json` next to the page. */
export interface Config {
  /** Origin (and optional path) serving gRPC-web; the page's own origin when not given. */
  grpcWebUrl: string;
  /** A ready-made token for local development; when set, nobody has to sign in. */
  devToken: string | undefined;
}

/** Reads `config.json`; a missing or unreadable file means "same origin, no dev token". */
export async function loadConfig(): Promise<Config> {
  const fallback: Config = { grpcWebUrl: window.location.origin, devToken: undefined };
  let raw: unknown;
  try {
    const response = await fetch("config.json", { cache: "no-store" });
    if (!response.ok) return fallback;
    raw = await response.json();
  } catch {
    return fallback;
  }
  if (typeof raw !== "object" || raw === null) return fallback;
  const { grpcWebUrl, devToken } = raw as Record<string, unknown>;
  return {
    grpcWebUrl:
      typeof grpcWebUrl === "string" && grpcWebUrl.trim() !== ""
        ? grpcWebUrl.trim().replace(/\/+$/, "")
        : window.location.origin,
    devToken: typeof devToken === "string" && devToken.trim() !== "" ? devToken.trim() : undefined,
  };
}

const STORAGE_KEY = "photofun.token";

/**
 * The bearer token to send: the configured dev token, else the one the user pasted.
 * A rejected dev token is set aside for the rest of the visit so a pasted one can take over.
 */
export class TokenStore {
  private devTokenRejected = false;
  private pasted: string | undefined = readStorage();

  constructor(private readonly devToken: string | undefined) {}

  /** The token for the next call, or undefined when the user has to sign in. */
  get(): string | undefined {
    if (this.devToken !== undefined && !this.devTokenRejected) return this.devToken;
    return this.pasted;
  }

  /** True when the token in use is one the user pasted (so "Sign out" makes sense). */
  get usesPastedToken(): boolean {
    return this.get() !== undefined && this.get() === this.pasted;
  }

  /** Uses a pasted token from now on and remembers it across visits. */
  save(token: string): void {
    this.pasted = token;
    this.devTokenRejected = true;
    writeStorage(token);
  }

  /** Forgets the token in use after the server refused it or the user signed out. */
  forget(): void {
    if (this.devToken !== undefined && !this.devTokenRejected) {
      this.devTokenRejected = true;
      return;
    }
    this.pasted = undefined;
    writeStorage(undefined);
  }
}

// Storage can be disabled (private mode, strict settings); the token then lasts for the visit.
function readStorage(): string | undefined {
  try {
    return localStorage.getItem(STORAGE_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

function writeStorage(token: string | undefined): void {
  try {
    if (token === undefined) localStorage.removeItem(STORAGE_KEY);
    else localStorage.setItem(STORAGE_KEY, token);
  } catch {
    // Kept in memory only.
  }
}

/** Adds `authorization: Bearer <token>` to every call. */
function bearer(tokens: TokenStore): Interceptor {
  return (next) => async (req) => {
    const token = tokens.get();
    if (token !== undefined) req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
}

/**
 * Starts a W3C trace for every call (`traceparent`, sampled): the edge and the services continue
 * it, and SendMessage keeps its trace id on the message (docs/operations.md, Observability).
 */
function traceContext(): Interceptor {
  return (next) => async (req) => {
    if (!req.header.has("traceparent")) {
      req.header.set("traceparent", `00-${randomHex(16)}-${randomHex(8)}-01`);
    }
    return next(req);
  };
}

function randomHex(bytes: number): string {
  const values = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(values, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The ConversationService client over binary gRPC-web. */
export function createConversationClient(config: Config, tokens: TokenStore): ConversationClient {
  const transport = createGrpcWebTransport({
    baseUrl: config.grpcWebUrl,
    useBinaryFormat: true,
    interceptors: [bearer(tokens), traceContext()],
  });
  return createClient(ConversationService, transport);
}

/** A fresh idempotency key; `crypto.randomUUID` exists only on secure (https/localhost) pages. */
export function newIdempotencyKey(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The user a token names (a JWT's `sub`), read without checking the signature; undefined when
 * it is not a readable JWT. Only for telling whether the next sign-in is the same person (to
 * keep their draft), never for deciding what they may do: the server does that.
 */
export function tokenSubject(token: string): string | undefined {
  const payload = token.split(".")[1];
  if (payload === undefined || payload === "") return undefined;
  try {
    const base64 = payload.replace(/-/g, "+").replace(/_/g, "/");
    const json = atob(base64.padEnd(base64.length + ((4 - (base64.length % 4)) % 4), "="));
    const sub = (JSON.parse(json) as Record<string, unknown>).sub;
    return typeof sub === "string" && sub !== "" ? sub : undefined;
  } catch {
    return undefined;
  }
}
