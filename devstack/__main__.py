"""``python -m devstack``: the whole stack on embedded defaults, until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from collections.abc import Sequence
from pathlib import Path

from devstack.processes import Child, start_in_waves, supervise
from devstack.stack import Ports, StackConfig, dev_token, plan, telemetry_on
from image_svc.settings import Settings as ImageSettings


async def run_stack(children: list[Child], root: Path, start_timeout: float, banner: str) -> None:
    """Start children wave by wave, wait for each wave, then supervise until a signal: a child that
    exits is restarted with backoff, and the console says so."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    started: list[Child] = []
    try:
        await start_in_waves(
            children,
            Path.cwd(),
            start_timeout,
            started,
            on_ready=lambda child: print(f"  ✓ {child.name}", flush=True),
        )
        print(banner, flush=True)
        await supervise(started, stop, cwd=Path.cwd(), start_timeout=start_timeout)
    finally:
        print("\nstopping …", flush=True)
        for child in reversed(started):
            await asyncio.to_thread(child.stop)
        print("stopped.", flush=True)


# The mock's pace for people watching the page: about a second per image, spread so a set's views
# arrive one by one. Tests and benchmarks start the stack without it (no artificial wait).
WATCHING_PACE = {"IMAGE_SVC_MOCK_LATENCY": "1.0", "IMAGE_SVC_MOCK_JITTER": "0.6"}


def watching_pace() -> dict[str, str]:
    """``WATCHING_PACE``, unless the environment or ``.env`` sets the mock's pace itself."""
    chosen = ImageSettings().model_fields_set & {"mock_latency", "mock_jitter"}
    return {} if chosen else dict(WATCHING_PACE)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse flags, plan the stack from the environment and run it."""
    parser = argparse.ArgumentParser(description="Run the PhotoFun stack locally.")
    parser.add_argument("--root", type=Path, default=Path("var"), help="data and logs folder")
    parser.add_argument("--start-timeout", type=float, default=60.0)
    parser.add_argument(
        "--ephemeral-ports", action="store_true", help="pick free ports instead of the defaults"
    )
    parser.add_argument("--memory", action="store_true", help="throwaway databases")
    parser.add_argument(
        "--edge",
        choices=["auto", "envoy", "bridge"],
        default=os.environ.get("PHOTOFUN_EDGE", "auto"),
        help="the gRPC-web edge: Envoy with envoy/envoy.yaml where it is installed (auto), or "
        "the Python bridge (env PHOTOFUN_EDGE)",
    )
    parser.add_argument(
        "--tls",
        action="store_true",
        default=os.environ.get("PHOTOFUN_TLS", "") not in ("", "0"),
        help="mTLS between every process, as compose runs it: a local CA under ROOT/pki "
        "(env PHOTOFUN_TLS=1; `make run TLS=1`)",
    )
    args = parser.parse_args(argv)
    root: Path = args.root.resolve()
    cfg = StackConfig(
        root=root,
        mongodb_uri=os.environ.get("MONGODB_URI") or None,
        celery_broker_url=os.environ.get("CELERY_BROKER_URL") or None,
        media_service_url=os.environ.get("MEDIA_SERVICE_URL") or None,
        ports=Ports.ephemeral() if args.ephemeral_ports else Ports(),
        memory=args.memory,
        edge=args.edge,
        rate_limits=not os.environ.get("RATE_LIMIT_REDIS_URL"),  # yours wins when set
        tls=args.tls,
    )
    os.environ.update(watching_pace())
    children, env = plan(cfg)
    print(f"PhotoFun dev stack (data and logs under {root})", flush=True)
    asyncio.run(run_stack(children, root, args.start_timeout, banner(cfg, env)))


def pace_line() -> str:
    """What the mock's pace is, in words, as image_svc will read it."""
    settings = ImageSettings()
    if settings.mock_latency <= 0:
        return "Mock images are drawn at full speed (no IMAGE_SVC_MOCK_LATENCY)."
    spread = f" ± {settings.mock_jitter:.0%}" if settings.mock_jitter else ""
    return (
        f"Mock images take {settings.mock_latency:g} s{spread} each, as a real model takes time "
        "(IMAGE_SVC_MOCK_LATENCY=0 for full speed)."
    )


def edge_words(cfg: StackConfig, env: dict[str, str]) -> str:
    """Which edge the page talks to, and why that one, in words."""
    if not env["GRPC_WEB_URL"].endswith(f":{cfg.ports.web}"):
        return "Envoy running the production envoy/envoy.yaml"
    if cfg.edge == "bridge":
        return "the Python dev bridge: chosen with --edge bridge or PHOTOFUN_EDGE=bridge"
    if cfg.tls:
        return "the Python dev bridge: TLS=1 runs it, as it calls the services with mTLS"
    return "the Python dev bridge: no Envoy binary here (it installs on Linux x86_64)"


def envoy_traced(cfg: StackConfig, env: dict[str, str]) -> bool:
    """True when Envoy is the edge and its spans go to the stack's OTLP receiver."""
    return not env["GRPC_WEB_URL"].endswith(f":{cfg.ports.web}") and telemetry_on(cfg)


def photofun_line(env: dict[str, str]) -> str:
    """How to chat from the terminal, with the edge's certificate under mTLS."""
    tls_dir = env.get("MESH_TLS_DIR")
    flags = (
        f"--cacert {tls_dir}/ca.crt --cert {tls_dir}/edge.crt --key {tls_dir}/edge.key "
        if tls_dir
        else ""
    )
    return f'  .venv/bin/photofun chat {flags}"2019 Renault Clio blue hatchback, front side rear"'


def grpcurl_line(cfg: StackConfig, env: dict[str, str]) -> str:
    """How to list a service with grpcurl, with the edge's certificate under mTLS."""
    tls_dir = env.get("MESH_TLS_DIR")
    if not tls_dir:
        return f"  .venv/bin/grpcurl -plaintext 127.0.0.1:{cfg.ports.prompt} list"
    return (
        f"  .venv/bin/grpcurl -cacert {tls_dir}/ca.crt -cert {tls_dir}/edge.crt "
        f"-key {tls_dir}/edge.key 127.0.0.1:{cfg.ports.prompt} list     (mTLS)"
    )


def banner(cfg: StackConfig, env: dict[str, str]) -> str:
    """How to reach each part of the running stack."""
    p = cfg.ports
    lines = [
        "",
        "PhotoFun is up:",
        f"  prompt_svc        grpc  {env['PROMPT_SERVICE_URL']}",
        f"  image_svc         grpc  {env['IMAGE_SERVICE_URL']}",
        f"  conversation_svc  grpc  {env['CONVERSATION_SERVICE_URL']}",
        f"  web page          http://{cfg.host}:{p.web}/",
        f"  gRPC-web edge     {env['GRPC_WEB_URL']}   ({edge_words(cfg, env)})",
        f"  MongoDB           {env['MONGODB_URI']}",
        f"  Celery broker     {env['CELERY_BROKER_URL']}",
        f"  Media Service     {env['MEDIA_SERVICE_URL']}",
        f"  logs              {cfg.root / 'log'}",
        f"  traces            {env['TRACES_FILE']}   (photofun trace MESSAGE_ID)",
        *(
            [f"                    Envoy's spans join them through the OTLP receiver on :{p.otlp}"]
            if envoy_traced(cfg, env)
            else []
        ),
        *(
            f"  metrics           http://{cfg.host}:{port}/metrics   ({name})"
            for name, port in p.metrics().items()
        ),
        "",
        pace_line(),
        "",
        "Try:",
        f"  open http://localhost:{p.web}/ in a browser",
        photofun_line(env),
        grpcurl_line(cfg, env),
        "",
        "A token for dev-user (send it as 'authorization: Bearer <token>'):",
        f"  {dev_token(cfg)}",
        "",
        "Ctrl-C stops everything.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
