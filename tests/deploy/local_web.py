"""The web image's nginx, run locally: web/deploy/default.conf.template rendered the way the
image's entrypoint does (envsubst of the environment), serving a built web/dist. Only the
listen address and the root change; headers, locations and config.json are the image's."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from devstack.processes import free_port
from tests.deploy.conftest import REPO

TEMPLATE = REPO / "web" / "deploy" / "default.conf.template"
MIME_TYPES = "/etc/nginx/mime.types"  # Debian's nginx, as in the image
# What nginx needs around the server block (the image's own nginx.conf, for a non-root run).
_MAIN = """{user}worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{}}
http {{
    include {mime};
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    include {dir}/default.conf;
}}
"""


def find_nginx() -> str | None:
    """``$NGINX_BIN`` or nginx on the PATH (Debian: ``apt-get install -y nginx-light``)."""
    return os.environ.get("NGINX_BIN") or shutil.which("nginx") or shutil.which("/usr/sbin/nginx")


def render(public_grpc_web_url: str, public_media_url: str = "http://localhost:8090") -> str:
    """The server block as the container gets it."""
    text = TEMPLATE.read_text().replace("${PUBLIC_GRPC_WEB_URL}", public_grpc_web_url)
    return text.replace("${PUBLIC_MEDIA_URL}", public_media_url)


@contextlib.asynccontextmanager
async def running_web(
    nginx: str,
    dist: Path,
    public_grpc_web_url: str,
    workdir: Path,
    public_media_url: str = "http://localhost:8090",
) -> AsyncIterator[str]:
    """nginx serving ``dist`` with the image's configuration; yields the page's base URL."""
    port = free_port()
    server = render(public_grpc_web_url, public_media_url)
    server = server.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    server = server.replace("root /usr/share/nginx/html;", f"root {dist};")
    (workdir / "default.conf").write_text(server)
    # As root, nginx's workers would drop to `nobody`, who cannot read the test's folders.
    user = "user root;\n" if os.geteuid() == 0 else ""
    main = _MAIN.format(user=user, dir=workdir, mime=MIME_TYPES)
    (workdir / "nginx.conf").write_text(main)
    argv = [nginx, "-p", str(workdir), "-c", str(workdir / "nginx.conf"), "-g", "daemon off;"]
    process = await asyncio.create_subprocess_exec(*argv)
    url = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + 15
        async with httpx.AsyncClient(timeout=1) as client:
            while True:
                if process.returncode is not None:
                    raise AssertionError((workdir / "error.log").read_text())
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(url + "/healthz")).status_code == 200:
                        break
                assert time.monotonic() < deadline, "nginx did not answer"
                await asyncio.sleep(0.05)
        yield url
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()
