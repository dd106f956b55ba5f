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
    assert {"PhotoFunHighErrorRate", "PhotoFunQueueBacklog", "PhotoFunBreakerOpen"} <= names


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
