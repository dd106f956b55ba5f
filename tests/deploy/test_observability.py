"""docker/observability/: the compose override, Prometheus' scrape config and alert rules, the
Collector and the Grafana dashboard, checked against the code they observe."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client.metrics import MetricWrapperBase

from conversation_svc.settings import Settings as ConversationSettings
from image_svc.settings import Settings as ImageSettings
from mesh import metrics
from prompt_svc.settings import Settings as PromptSettings
from tests.deploy.conftest import REPO, Json, load_yaml
from tests.deploy.test_compose import ENV_EXAMPLE, project_copy, resolved

OBSERVABILITY = REPO / "docker" / "observability"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
METRICS_PORTS = {
    "prompt_svc": PromptSettings().metrics_port,
    "image_svc": ImageSettings().metrics_port,
    "conversation_svc": ConversationSettings().metrics_port,
    "worker": ConversationSettings().worker_metrics_port,
}
OUR_SERIES = {m._name for m in vars(metrics).values() if isinstance(m, MetricWrapperBase)}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    if not Path(PROMTOOL).exists():
        pytest.fail("promtool is missing: apt-get install prometheus")
    return subprocess.run(
        [PROMTOOL, *args],
        cwd=OBSERVABILITY,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_prometheus_config_passes_promtool() -> None:
    result = promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 rule files found" in result.stdout


def test_alert_rules_pass_promtool_and_fire_on_their_series() -> None:
    checked = promtool("check", "rules", "alerts.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool("test", "rules", "alerts_test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    names = {
        r["alert"] for g in load_yaml(OBSERVABILITY / "alerts.yml")["groups"] for r in g["rules"]
    }
    assert {
        "PhotoFunHighErrorRate",
        "PhotoFunMessagesFailing",
        "PhotoFunQueueBacklog",
        "PhotoFunBreakerOpen",
    } <= names
    # Every rule has a case that expects it to fire.
    cases = load_yaml(OBSERVABILITY / "alerts_test.yml")["tests"]
    firing = {
        case["alertname"]
        for test in cases
        for case in test["alert_rule_test"]
        if case["exp_alerts"]
    }
    assert firing == names


def test_every_process_and_envoy_is_scraped_on_its_metrics_port() -> None:
    config = load_yaml(OBSERVABILITY / "prometheus.yml")
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    for name, port in METRICS_PORTS.items():
        (sd,) = jobs[name]["dns_sd_configs"]
        assert (sd["names"], sd["port"]) == ([name], port)
    collector = load_yaml(OBSERVABILITY / "otel-collector.yaml")
    envoy_port = collector["exporters"]["prometheus"]["endpoint"].rsplit(":", 1)[1]
    assert jobs["envoy"]["static_configs"][0]["targets"] == [f"otel-collector:{envoy_port}"]


def _series_in(expr: str) -> set[str]:
    names = set(re.findall(r"\b(photofun_[a-z_]+)", expr))
    return {re.sub(r"_(total|bucket|count|sum)$", "", n) for n in names}


def test_dashboard_and_alerts_only_query_series_the_code_exports() -> None:
    dashboard = json.loads((OBSERVABILITY / "grafana/dashboards/photofun.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    alerts = load_yaml(OBSERVABILITY / "alerts.yml")
    exprs += [r["expr"] for g in alerts["groups"] for r in g["rules"]]
    used = set().union(*map(_series_in, exprs))
    assert used <= OUR_SERIES, used - OUR_SERIES
    # Everything the issue asks to see is on the dashboard.
    assert {
        "photofun_messages",
        "photofun_message_first_image_seconds",
        "photofun_message_done_seconds",
        "photofun_queue_depth",
        "photofun_queue_oldest_age_seconds",
        "photofun_rpc_server_handling_seconds",
        "photofun_upstream_calls",
        "photofun_upstream_retries",
        "photofun_breaker_state",
        "photofun_render_seconds",
        "photofun_encode_seconds",
    } <= set().union(*map(_series_in, exprs[: -len(alerts["groups"][0]["rules"])]))


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Json:
    project = project_copy(tmp_path_factory.mktemp("compose"), ENV_EXAMPLE.read_text())
    shutil.copytree(OBSERVABILITY, project / "docker" / "observability")
    return resolved(project, "docker-compose.yml", "docker/observability/compose.yml")


def test_compose_with_the_override_is_valid_and_exports_every_process(config: Json) -> None:
    services = config["services"]
    assert {"otel-collector", "jaeger", "prometheus", "grafana"} <= set(services)
    for name in METRICS_PORTS:
        env = services[name]["environment"]
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318", name
    worker = services["worker"]["environment"]
    assert worker["PROMETHEUS_MULTIPROC_DIR"]
    assert worker["CONVERSATION_SVC_HOST"] == "0.0.0.0"
    for name in ("jaeger", "prometheus", "grafana"):
        for port in services[name]["ports"]:
            assert port["host_ip"] == "127.0.0.1", f"{name} is published beyond loopback"
    mounts = {v["target"] for v in services["grafana"]["volumes"]}
    assert "/var/lib/grafana/dashboards" in mounts


def _grpc_clusters(node: object) -> list[str]:
    """Every ``envoy_grpc.cluster_name`` anywhere in an Envoy config (sinks, tracers)."""
    if isinstance(node, dict):
        own = [node["envoy_grpc"]["cluster_name"]] if "envoy_grpc" in node else []
        return own + [c for value in node.values() for c in _grpc_clusters(value)]
    if isinstance(node, list):
        return [c for value in node for c in _grpc_clusters(value)]
    return []


def test_the_collector_pipelines_are_wired_to_envoy_the_services_and_jaeger(config: Json) -> None:
    """What the Collector would refuse or silently drop at start, checked without running it
    (no Collector binary here): the pipelines only name components that are defined; Envoy's
    tracer and stats sink reach its OTLP/gRPC receiver; the services' endpoint is its
    OTLP/HTTP receiver; spans go to the Jaeger of the compose file and Envoy's stats are served
    under the ``envoy_`` namespace for Prometheus."""
    collector = load_yaml(OBSERVABILITY / "otel-collector.yaml")
    pipelines = collector["service"]["pipelines"]
    assert set(pipelines) == {"traces", "metrics"}
    for name, pipeline in pipelines.items():
        for kind in ("receivers", "processors", "exporters"):
            assert pipeline[kind], (name, kind)
            assert set(pipeline[kind]) <= set(collector[kind]), (name, kind)
    for kind in ("receivers", "processors", "exporters"):  # nothing defined and left unused
        used = {c for p in pipelines.values() for c in p[kind]}
        assert used == set(collector[kind]), kind
    assert pipelines["metrics"]["exporters"] == ["prometheus"]
    assert collector["exporters"]["prometheus"]["namespace"] == "envoy"
    # The memory limiter first, so that it refuses data before anything else holds it; the
    # batch last (the Collector's advice).
    for pipeline in pipelines.values():
        assert (pipeline["processors"][0], pipeline["processors"][-1]) == (
            "memory_limiter",
            "batch",
        )

    protocols = collector["receivers"]["otlp"]["protocols"]
    grpc_port = int(protocols["grpc"]["endpoint"].rsplit(":", 1)[1])
    http_port = int(protocols["http"]["endpoint"].rsplit(":", 1)[1])
    # Envoy: its tracer and its stats sink both use the otel_collector cluster, which is the
    # compose service on the OTLP/gRPC port, over HTTP/2.
    envoy = load_yaml(REPO / "envoy" / "envoy.yaml")
    assert _grpc_clusters(envoy["stats_sinks"]) == ["otel_collector"]
    assert _grpc_clusters(envoy["static_resources"]["listeners"]) == ["otel_collector"]  # tracer
    (cluster,) = [c for c in envoy["static_resources"]["clusters"] if c["name"] == "otel_collector"]
    (endpoint,) = [
        e["endpoint"]["address"]["socket_address"]
        for group in cluster["load_assignment"]["endpoints"]
        for e in group["lb_endpoints"]
    ]
    assert (endpoint["address"], endpoint["port_value"]) == ("otel-collector", grpc_port)
    options = cluster["typed_extension_protocol_options"]
    http = options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
    assert "http2_protocol_options" in http["explicit_http_config"]
    # The services export OTLP/HTTP to the Collector's HTTP receiver.
    services = config["services"]
    for name in METRICS_PORTS:
        url = services[name]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"]
        assert url == f"http://otel-collector:{http_port}", name
    # Spans go to the compose file's Jaeger, which takes OTLP on the exporter's port.
    jaeger = collector["exporters"][pipelines["traces"]["exporters"][0]]
    host, port = jaeger["endpoint"].rsplit(":", 1)
    assert host in services
    assert (host, port) == ("jaeger", "4317")
    assert services["jaeger"]["environment"]["COLLECTOR_OTLP_ENABLED"] == "true"
    # The Collector reads this file.
    collector_service = services["otel-collector"]
    assert "--config=/etc/otelcol/config.yaml" in collector_service["command"]
    mounted = {Path(v["source"]).name: v["target"] for v in collector_service["volumes"]}
    assert mounted["otel-collector.yaml"] == "/etc/otelcol/config.yaml"
