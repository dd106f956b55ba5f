"""The page's own error wording (web/src/errors.ts ``describe``) run in Node on a status a real
server sent: the trailers of a failed call are read by @connectrpc/connect's gRPC-web trailer
parser (``findTrailerError``, what connect-web calls on every answer), and the resulting
ConnectError is described in the given page language.

The bundle is built once per test process with the repository's esbuild; the browser's
language is what ``navigator.languages`` says, set before the page's modules run.
"""

from __future__ import annotations

import base64
import functools
import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TypedDict
from urllib.parse import quote

import grpc
import pytest

REPO = Path(__file__).resolve().parents[2]
ENTRY = """
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { describe } from "./web/src/errors";
const input = JSON.parse(process.argv[2]);
const trailer = new Headers(input.trailer);
process.stdout.write(JSON.stringify(describe(findTrailerError(trailer))));
"""
# i18n.ts picks the language when it is loaded, from the browser's languages.
BANNER = (
    "Object.defineProperty(globalThis, 'navigator', "
    "{value: {languages: [process.env.PAGE_LANG]}, configurable: true});"
)


class Described(TypedDict):
    message: str
    status: str
    code: int
    reason: str
    hint: str


@functools.cache
def _bundle() -> tuple[str, Path]:
    node, esbuild = shutil.which("node"), REPO / "node_modules" / ".bin" / "esbuild"
    if node is None or not esbuild.exists():
        pytest.fail("node or esbuild is missing: Node.js is a requirement, run make env")
    out = Path(tempfile.mkdtemp(prefix="photofun-errors-")) / "describe.mjs"
    subprocess.run(
        [
            str(esbuild),
            "--bundle",
            "--platform=node",
            "--format=esm",
            "--loader=ts",
            "--sourcefile=describe-entry.ts",
            f"--banner:js={BANNER}",
            f"--outfile={out}",
        ],
        input=ENTRY,
        text=True,
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    return node, out


def describe_on_page(error: grpc.aio.AioRpcError, lang: str) -> Described:
    """What the page in ``lang`` says of ``error``, from the trailers the server sent."""
    trailer = {
        "grpc-status": str(error.code().value[0]),
        "grpc-message": quote(error.details() or ""),
    }
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin" and isinstance(value, bytes):
            trailer[key] = base64.b64encode(value).decode()
    node, bundle = _bundle()
    done = subprocess.run(
        [node, str(bundle), json.dumps({"trailer": trailer})],
        env={"PAGE_LANG": lang},
        text=True,
        check=True,
        capture_output=True,
    )
    described: Described = json.loads(done.stdout)
    return described
