"""``photofun``: send a chat message, watch it turn into images, save them; list what you sent.

    photofun chat "2019 Renault Clio blue hatchback, front side rear"
    photofun conversations
    photofun messages CONVERSATION_ID
    photofun token --user alice
    photofun trace MESSAGE_ID
    photofun providers check          # operators: are the configured cloud models working?

The gRPC calls live in ``client``, the looks in ``render``; this module parses the
command line, reads the environment once (``CliSettings``) and wires the two together.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
from google.protobuf.json_format import MessageToDict
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from rich.console import Console, RenderableType
from rich.live import Live
from rich.text import Text

from mesh.auth import AUDIENCE, DEV_SECRET_FILE, ISSUER, dev_secret, mint_token
from mesh.errors import error_info
from mesh.settings import shared
from mesh.vocabulary import LANGUAGES
from photofun.v1 import common_pb2
from photofun.v1 import conversation_service_pb2 as pb
from photofun_cli import providers as cloud
from photofun_cli import words
from photofun_cli.client import (
    ConversationClient,
    Fitted,
    download_images,
    fit_for_upload,
    title_of,
)
from photofun_cli.render import (
    WatchView,
    conversations_table,
    error_text,
    final_line,
    intent_name,
    messages_table,
    retry_notice,
    saved_files_json,
    summary,
)
from photofun_cli.trace import read_trace, waterfall
from photofun_cli.words import say

DEFAULT_SERVER = "127.0.0.1:50053"
DEFAULT_USER = "dev-user"
FORMATS = {
    "png": common_pb2.IMAGE_FORMAT_PNG,
    "jpeg": common_pb2.IMAGE_FORMAT_JPEG,
    "webp": common_pb2.IMAGE_FORMAT_WEBP,
}
EXIT_FAILED, EXIT_CANCELLED, EXIT_INTERRUPTED = 1, 2, 130
TRACE_ID = re.compile(r"[0-9a-f]{32}")


class CliSettings(BaseSettings):
    """What the command reads from the environment (and ``.env``); flags win over these."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    server: str = Field(DEFAULT_SERVER, validation_alias=shared("PHOTOFUN_SERVER"))
    token: SecretStr | None = Field(None, validation_alias=shared("PHOTOFUN_TOKEN"))
    jwt_secret: SecretStr = Field(SecretStr(""), validation_alias=shared("JWT_SECRET"))
    jwt_issuer: str = Field(ISSUER, validation_alias=shared("JWT_ISSUER"))
    jwt_audience: str = Field(AUDIENCE, validation_alias=shared("JWT_AUDIENCE"))
    user: str = Field(DEFAULT_USER, validation_alias=shared("USER"))
    tls: bool = Field(False, validation_alias=shared("PHOTOFUN_TLS"))
    cacert: str = Field("", validation_alias=shared("PHOTOFUN_CACERT"))
    cert: str = Field("", validation_alias=shared("PHOTOFUN_CERT"))
    key: str = Field("", validation_alias=shared("PHOTOFUN_KEY"))


class NoToken(Exception):
    """Neither a token nor a secret to sign a dev token with."""


class BadTlsFiles(Exception):
    """A certificate or key file that cannot be used."""


@dataclass(frozen=True)
class Ui:
    """Where output goes: results on ``out``; notes on ``out``, or ``err`` under ``--json``."""

    out: Console
    err: Console
    json: bool = False

    def note(self, renderable: RenderableType) -> None:
        """A side remark (dev token, reconnects) that must not spoil JSON output."""
        (self.err if self.json else self.out).print(renderable)


Handler = Callable[[argparse.Namespace, CliSettings, Ui], Awaitable[int]]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``photofun`` console script; returns the exit status."""
    return run(argv)


def run(
    argv: Sequence[str] | None = None, *, out: Console | None = None, err: Console | None = None
) -> int:
    """Parse ``argv`` and run the command, printing to the given consoles."""
    words.use(words.from_environment(os.environ))
    args = build_parser().parse_args(argv)
    if getattr(args, "lang", None):
        words.use(args.lang)
    ui = Ui(out or Console(), err or Console(stderr=True), json=getattr(args, "json", False))
    try:
        return asyncio.run(_dispatch(args, CliSettings(), ui))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def build_parser() -> argparse.ArgumentParser:
    """The command line: one subcommand per verb."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--server",
        help=f"HOST:PORT of the conversation service (env PHOTOFUN_SERVER; "
        f"default {DEFAULT_SERVER})",
    )
    common.add_argument(
        "--token", help="bearer token (env PHOTOFUN_TOKEN; default: a dev token for --user)"
    )
    common.add_argument("--user", help="user of the minted dev token (default: env USER)")
    common.add_argument(
        "--tls",
        action="store_true",
        default=None,
        help="TLS, checking the server against the system's CAs (env PHOTOFUN_TLS)",
    )
    common.add_argument(
        "--cacert", help="TLS, checking the server against this CA file (env PHOTOFUN_CACERT)"
    )
    common.add_argument(
        "--cert", help="client certificate file for mTLS, with --key (env PHOTOFUN_CERT)"
    )
    common.add_argument("--key", help="client private key file for mTLS (env PHOTOFUN_KEY)")
    common.add_argument(
        "--lang",
        choices=list(LANGUAGES),
        help="language of what is printed (default: from LANG) and of the prompt "
        "(default: detected)",
    )
    parser = argparse.ArgumentParser(
        prog="photofun", description="Talk to PhotoFun Studio from the terminal."
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="COMMAND")

    chat = verbs.add_parser("chat", parents=[common], help="send a message and save its images")
    chat.add_argument(
        "prompt",
        nargs="?",
        default="",
        help='what you want, e.g. "blue Renault Clio, front side rear", or a follow-up in a '
        'conversation: "now from the top", "make it anime style", "another one"',
    )
    chat.add_argument("--style", default="", help='style word, e.g. "anime"')
    chat.add_argument("--topic", default="", help='topic hint, e.g. "girl beach"')
    image = chat.add_mutually_exclusive_group()
    image.add_argument(
        "--image", type=Path, help="input image to restyle, re-background or enhance (a file)"
    )
    image.add_argument("--image-url", default="", help="input image (a Media Service URL)")
    chat.add_argument("--format", choices=sorted(FORMATS), help="image encoding (default png)")
    chat.add_argument(
        "--conversation", help="continue this conversation: follow-ups act on its last result"
    )
    chat.add_argument(
        "--from",
        dest="source",
        metavar="MESSAGE[:INDEX]",
        help="act on this earlier result of the conversation instead of the last one "
        "(its main image, or image INDEX counted from 0)",
    )
    chat.add_argument(
        "--variation",
        action="store_true",
        help="another take of the last (or --from) result: same subject, new seeds",
    )
    chat.add_argument(
        "--seed",
        type=_seed,
        help="seed (0..4294967295): the same request with the same seed draws the same image",
    )
    chat.add_argument(
        "--out", type=Path, default=Path("photofun-out"), help="folder for the images"
    )
    chat.add_argument("--json", action="store_true", help="print one JSON document, no live view")
    chat.set_defaults(handler=_chat)

    convs = verbs.add_parser("conversations", parents=[common], help="list your conversations")
    convs.add_argument("--limit", type=int, default=20, help="how many to show (default 20)")
    convs.add_argument("--json", action="store_true", help="print JSON")
    convs.set_defaults(handler=_conversations)

    msgs = verbs.add_parser("messages", parents=[common], help="list a conversation's messages")
    msgs.add_argument("conversation_id", help="the conversation (see `photofun conversations`)")
    msgs.add_argument("--limit", type=int, default=100, help="how many to show (default 100)")
    msgs.add_argument("--json", action="store_true", help="print JSON")
    msgs.set_defaults(handler=_messages)

    tr = verbs.add_parser(
        "trace", parents=[common], help="print a message's trace as a waterfall (make run)"
    )
    tr.add_argument("message_id", help="the message (or a 32-hex-digit trace id)")
    tr.add_argument(
        "--traces",
        type=Path,
        default=Path("var/traces.jsonl"),
        help="the spans file the stack writes (TRACES_FILE; default var/traces.jsonl)",
    )
    tr.set_defaults(handler=_trace)

    token = verbs.add_parser("token", help="print a dev token signed with JWT_SECRET")
    token.add_argument("--user", help="the token's user (default: env USER, else dev-user)")
    token.set_defaults(handler=_token)

    providers = verbs.add_parser("providers", help="operators: the cloud image and prompt models")
    provider_verbs = providers.add_subparsers(dest="provider_verb", required=True, metavar="VERB")
    check = provider_verbs.add_parser(
        "check",
        help="send the smallest real request to each provider whose key is set and print "
        "whether it works (exit 1 when one does not)",
    )
    check.add_argument(
        "--no-seed", action="store_true", help="skip the second request that tests the seed"
    )
    check.add_argument(
        "--timeout", type=float, default=120.0, help="seconds per request (default 120)"
    )
    check.add_argument("--json", action="store_true", help="print JSON")
    check.set_defaults(handler=_providers_check)
    return parser


async def _providers_check(args: argparse.Namespace, settings: CliSettings, ui: Ui) -> int:
    del settings  # the providers' own names: GEMINI_API_KEY, OPENAI_API_KEY ...
    probes = await cloud.check(
        cloud.ProviderSettings(), seed=not args.no_seed, timeout=args.timeout
    )
    if args.json:
        ui.out.print_json(data=cloud.as_json(probes))
    elif not probes:
        ui.out.print(
            "no provider configured: set GEMINI_API_KEY, OPENAI_API_KEY or "
            "POLLINATIONS_API_KEY to check one"
        )
    else:
        ui.out.print(cloud.table(probes))
    return 0 if all(p.ok for p in probes) else EXIT_FAILED


async def _dispatch(args: argparse.Namespace, settings: CliSettings, ui: Ui) -> int:
    handler: Handler = args.handler
    try:
        return await handler(args, settings, ui)
    except grpc.aio.AioRpcError as exc:
        server = getattr(args, "server", None) or settings.server
        ui.err.print(error_text(exc.code(), exc.details() or "", error_info(exc), server))
        return EXIT_FAILED
    except (ConnectionError, NoToken, BadTlsFiles) as exc:
        ui.err.print(Text(say("main.errorLine", problem=exc), style="bold red"))
        return EXIT_FAILED


def _user(args: argparse.Namespace, settings: CliSettings) -> str:
    return args.user or settings.user.strip() or DEFAULT_USER


def _dev_token(args: argparse.Namespace, settings: CliSettings) -> tuple[str, str]:
    user = _user(args, settings)
    secret = settings.jwt_secret.get_secret_value()
    which = say("token.fromEnv")
    if not secret:
        secret, which = dev_secret() or "", say("token.fromRun", file=DEV_SECRET_FILE)
    if not secret:
        raise NoToken(say("token.none", file=DEV_SECRET_FILE))
    about = say("token.about", user=repr(user), which=which)
    token = mint_token(secret, user, issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    return token, about


def _bearer(args: argparse.Namespace, settings: CliSettings, ui: Ui) -> str:
    if args.token:
        return str(args.token)
    if settings.token is not None and settings.token.get_secret_value().strip():
        return settings.token.get_secret_value().strip()
    token, about = _dev_token(args, settings)
    ui.note(Text(say("token.using", about=about), style="dim"))
    return token


@contextlib.asynccontextmanager
async def _connect(
    args: argparse.Namespace, settings: CliSettings, ui: Ui
) -> AsyncIterator[ConversationClient]:
    token = _bearer(args, settings, ui)
    target = args.server or settings.server
    credentials = _tls(args, settings)
    channel = (
        grpc.aio.insecure_channel(target)
        if credentials is None
        else grpc.aio.secure_channel(target, credentials)
    )
    async with channel:
        yield ConversationClient(channel, token, on_retry=lambda r: ui.note(retry_notice(r)))


def _tls(args: argparse.Namespace, settings: CliSettings) -> grpc.ChannelCredentials | None:
    """TLS credentials when asked for (any of --tls, --cacert, --cert, --key), else None."""
    cacert = getattr(args, "cacert", None) or settings.cacert
    cert = getattr(args, "cert", None) or settings.cert
    key = getattr(args, "key", None) or settings.key
    wanted = getattr(args, "tls", None)
    if not (wanted if wanted is not None else settings.tls) and not (cacert or cert or key):
        return None
    if bool(cert) != bool(key):
        raise BadTlsFiles(say("tls.pair"))

    def read(path: str) -> bytes | None:
        if not path:
            return None
        try:
            return Path(path).expanduser().read_bytes()
        except OSError as exc:
            raise BadTlsFiles(say("args.cannotRead", path=path, reason=exc.strerror)) from exc

    return grpc.ssl_channel_credentials(
        root_certificates=read(cacert), private_key=read(key), certificate_chain=read(cert)
    )


def _seed(text: str) -> int:
    value = int(text)
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(say("args.seed"))
    return value


def _reference(text: str | None) -> pb.ResultReference | None:
    """``MESSAGE`` or ``MESSAGE:INDEX`` → a ResultReference (ValueError when malformed)."""
    if not text:
        return None
    message_id, _, index = text.partition(":")
    if not message_id or (index and not index.isdigit()):
        raise ValueError(say("args.from", text=repr(text)))
    return pb.ResultReference(message_id=message_id, image_index=int(index) if index else None)


def _read_and_fit(path: Path) -> Fitted:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(say("args.cannotRead", path=path, reason=exc.strerror)) from exc
    return fit_for_upload(raw, path.name)


async def _load_image(path: Path) -> Fitted:
    """Read a picture to attach, scaled to the upload limit (ValueError says what is wrong)."""
    return await asyncio.to_thread(_read_and_fit, path)


def _chat_problem(args: argparse.Namespace) -> str:
    """What is wrong with the chat command's arguments, or "" when nothing is."""
    if (args.variation or args.source) and not args.conversation:
        return say("args.needsConversation")
    if not args.prompt.strip() and not args.variation:
        return say("args.sayWhat")
    try:
        _reference(args.source)
    except ValueError as exc:
        return str(exc)
    return ""


async def _chat(args: argparse.Namespace, settings: CliSettings, ui: Ui) -> int:
    if problem := _chat_problem(args):
        ui.err.print(Text(say("main.errorLine", problem=problem), style="bold red"))
        return EXIT_FAILED
    image: Fitted | None = None
    if args.image is not None:
        try:
            image = await _load_image(args.image)
        except ValueError as exc:
            ui.err.print(Text(say("main.errorLine", problem=exc), style="bold red"))
            return EXIT_FAILED
        if image.note:
            ui.note(Text(image.note, style="dim"))
    async with _connect(args, settings, ui) as client:
        image_url = args.image_url
        if image is not None:
            uploaded = await client.upload_image(image.data, image.filename)
            image_url = uploaded.image_url
            size = f"{uploaded.width}×{uploaded.height}"
            uploaded_words = say("upload.done", name=args.image.name, size=size, url=image_url)
            ui.note(Text(uploaded_words, style="dim"))
        conversation_id = args.conversation
        if not conversation_id:
            conversation = await client.create_conversation(title_of(args.prompt))
            conversation_id = conversation.conversation_id
        request = pb.SendMessageRequest(
            conversation_id=conversation_id,
            prompt=args.prompt.strip() or "another version",
            style=args.style,
            lang=args.lang or "",
            topic=args.topic,
            image_url=image_url,
            idempotency_key=uuid.uuid4().hex,  # the same key on every retry of this send
            format=FORMATS[args.format] if args.format else common_pb2.IMAGE_FORMAT_UNSPECIFIED,
            seed=args.seed,
            reference=_reference(args.source),
            variation=args.variation,
        )
        made = "" if args.conversation else conversation_id
        message = await _send(client, request, ui, made=made)
        try:
            final = await _follow(client, message, ui)
        except (
            asyncio.CancelledError
        ):  # Ctrl-C: asyncio.run cancels us, then raises KeyboardInterrupt
            await _cancel(client, message.message_id, ui)
            raise
    async with httpx.AsyncClient(timeout=60.0, follow_redirects=True) as http:
        saved = await download_images(final, args.out, http)
    if ui.json:
        document = {
            "message": MessageToDict(final),
            "intent": intent_name(final.intent),
            "files": saved_files_json(saved),
        }
        ui.out.out(json.dumps(document, indent=2, ensure_ascii=False), highlight=False)
    else:
        ui.out.print(summary(final, saved), crop=False)  # whole URLs, see ImagesView
    if final.status == pb.MESSAGE_STATUS_CANCELLED:
        return EXIT_CANCELLED
    if final.status == pb.MESSAGE_STATUS_DONE and all(item.path for item in saved):
        return 0
    return EXIT_FAILED


async def _send(
    client: ConversationClient, request: pb.SendMessageRequest, ui: Ui, *, made: str
) -> pb.Message:
    """Send the message; a refused one removes the conversation ``made`` for it (it would stay
    empty, titled with the refused prompt), and Ctrl-C before the reply cancels it."""
    try:
        return await client.send_message(request)
    except grpc.aio.AioRpcError:
        if made:
            with contextlib.suppress(grpc.aio.AioRpcError):
                await client.delete_if_empty(made)
        raise
    except asyncio.CancelledError:
        # Ctrl-C before the reply: the message may exist already. Sending again with the
        # same key returns it (or makes it) so it can be cancelled: nothing keeps working
        # unseen.
        with contextlib.suppress(grpc.aio.AioRpcError, TimeoutError):
            async with asyncio.timeout(10):
                message = await client.send_message(request)
                await _cancel(client, message.message_id, ui)
        raise


async def _follow(client: ConversationClient, message: pb.Message, ui: Ui) -> pb.Message:
    """Watch the message to its end, live on screen unless ``--json``."""
    latest = message
    if ui.json:
        async for response in client.watch(message.message_id):
            latest = response.message
        return latest
    view = WatchView()
    view.update(pb.WatchMessageResponse(message=message))
    with _showing(view, ui.out):
        async for response in client.watch(message.message_id):
            view.update(response)
            latest = response.message
    return latest


@contextlib.contextmanager
def _showing(view: WatchView, console: Console) -> Iterator[None]:
    """Animate ``view`` on a terminal; into a pipe or file, print its last state once."""
    if console.is_terminal:
        with Live(view, console=console, refresh_per_second=12):
            yield
        return
    try:
        yield
    finally:
        console.print(view)


async def _cancel(client: ConversationClient, message_id: str, ui: Ui) -> None:
    ui.err.print(Text(say("cancel.interrupted", id=message_id), style="yellow"))
    try:
        cancelled = await client.cancel_message(message_id)
    except grpc.aio.AioRpcError as exc:
        ui.err.print(error_text(exc.code(), exc.details() or "", error_info(exc), ""))
        return
    ui.err.print(final_line(cancelled, []))


async def _conversations(args: argparse.Namespace, settings: CliSettings, ui: Ui) -> int:
    async with _connect(args, settings, ui) as client:
        found = await client.conversations(max(1, args.limit))
    if ui.json:
        document = {"conversations": [MessageToDict(c) for c in found]}
        ui.out.out(json.dumps(document, indent=2, ensure_ascii=False), highlight=False)
    elif not found:
        ui.out.print(say("list.noConversations"))
    else:
        ui.out.print(conversations_table(found))
    return 0


async def _messages(args: argparse.Namespace, settings: CliSettings, ui: Ui) -> int:
    async with _connect(args, settings, ui) as client:
        found = await client.messages(args.conversation_id, max(1, args.limit))
    if ui.json:
        document = {"messages": [MessageToDict(m) for m in found]}
        ui.out.out(json.dumps(document, indent=2, ensure_ascii=False), highlight=False)
    elif not found:
        ui.out.print(say("list.noMessages"))
    else:
        ui.out.print(messages_table(found))
    return 0


async def _trace(args: argparse.Namespace, settings: CliSettings, ui: Ui) -> int:
    trace_id = args.message_id.lower()
    if not TRACE_ID.fullmatch(trace_id):
        async with _connect(args, settings, ui) as client:
            message = await client.get_message(args.message_id)
        trace_id = message.trace_id
        if not trace_id:
            ui.err.print(Text("this message has no trace id (tracing was off)", style="red"))
            return EXIT_FAILED
    lines = waterfall(read_trace(args.traces, trace_id))
    if not lines:
        ui.err.print(Text(f"no spans of trace {trace_id} in {args.traces}", style="red"))
        return EXIT_FAILED
    ui.out.out(f"trace {trace_id}", highlight=False)
    for line in lines:
        ui.out.out(line, highlight=False)
    return 0


async def _token(args: argparse.Namespace, settings: CliSettings, ui: Ui) -> int:
    token, about = _dev_token(args, settings)
    ui.err.print(Text(about, style="dim"))
    ui.out.out(token, highlight=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
