"""A local stand-in for the existing Media Service, speaking the same contract.

``POST /api/v1/file/uploads`` (multipart, part ``file``) stores the bytes and answers
``{"file_url": ...}``; ``GET /api/v1/files/{name}`` serves them back. Files are named by the
SHA-256 of their content, so an upload retried after a lost response never makes a second file.
Run alone with ``python -m devstack.media_server --port 8090 --root var/media``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import mimetypes
import re
from pathlib import Path

from aiohttp import BodyPartReader, web

MAX_UPLOAD_BYTES = 25 * 1024 * 1024
_NAME = re.compile(r"^[0-9a-f]{64}\.[a-z0-9]{1,5}$")
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}

ROOT_KEY = web.AppKey("root", Path)
PUBLIC_URL_KEY = web.AppKey("public_url", str)


def create_app(root: Path, public_url: str = "") -> web.Application:
    """The stand-in as an aiohttp application; ``public_url`` prefixes returned URLs."""
    app = web.Application(client_max_size=MAX_UPLOAD_BYTES)
    app[ROOT_KEY] = root
    app[PUBLIC_URL_KEY] = public_url.rstrip("/")
    root.mkdir(parents=True, exist_ok=True)
    app.router.add_post("/api/v1/file/uploads", _upload)
    app.router.add_get("/api/v1/files/{name}", _download)
    app.router.add_get("/healthz", _health)
    return app


async def _upload(request: web.Request) -> web.Response:
    reader = await request.multipart()
    async for part in reader:
        if isinstance(part, BodyPartReader) and part.name == "file":
            data = await part.read(decode=False)
            mime = part.headers.get("Content-Type", "application/octet-stream").split(";")[0]
            break
    else:
        return web.json_response({"error": "multipart part 'file' is required"}, status=400)
    if not data:
        return web.json_response({"error": "empty file"}, status=400)
    ext = _EXTENSIONS.get(mime) or (mimetypes.guess_extension(mime) or ".bin").lstrip(".")
    name = f"{hashlib.sha256(data).hexdigest()}.{ext}"
    path = request.app[ROOT_KEY] / name
    if not path.exists():
        tmp = path.with_suffix(".part")
        await asyncio.to_thread(tmp.write_bytes, data)
        tmp.replace(path)  # atomic: a reader never sees half a file
    base = request.app[PUBLIC_URL_KEY] or f"{request.scheme}://{request.host}"
    return web.json_response({"file_url": f"{base}/api/v1/files/{name}"}, status=201)


async def _download(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    path = request.app[ROOT_KEY] / name
    if not _NAME.match(name) or not path.is_file():
        return web.json_response({"error": "no such file"}, status=404)
    # Public, immutable pictures: any page may read them (the web page's Download saves them).
    return web.FileResponse(
        path,
        headers={
            "Cache-Control": "public, max-age=31536000, immutable",
            "Access-Control-Allow-Origin": "*",
        },
    )


async def _health(request: web.Request) -> web.Response:
    del request
    return web.json_response({"status": "ok"})


def main() -> None:
    """Serve the stand-in until interrupted."""
    parser = argparse.ArgumentParser(description="Media Service stand-in")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--root", type=Path, default=Path("var/media"))
    parser.add_argument("--public-url", default="", help="base of returned URLs")
    args = parser.parse_args()
    web.run_app(create_app(args.root, args.public_url), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
