"""A real Prometheus on the committed scrape config, pointed at a local stack (tests, docs).

``docker/observability/prometheus.yml`` finds its targets through Docker's DNS; here each job of
a process keeps its name and settings and gets the local metrics port instead (Envoy's job,
which reads the Collector, is dropped: no Collector runs locally). The alert rules are loaded
as in compose. Debian's ``prometheus`` package provides the binary.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import yaml

from devstack.processes import free_port

REPO = Path(__file__).resolve().parents[1]
OBSERVABILITY = REPO / "docker" / "observability"


def find_prometheus() -> Path | None:
    """The Prometheus binary, if installed."""
    found = shutil.which("prometheus") or "/usr/bin/prometheus"
    return Path(found) if Path(found).exists() else None


def local_config(metrics_ports: Mapping[str, int], interval: str = "1s") -> dict[str, object]:
    """prometheus.yml with each process's job scraping 127.0.0.1 on its port."""
    config = yaml.safe_load((OBSERVABILITY / "prometheus.yml").read_text(encoding="utf-8"))
    config["global"].update(scrape_interval=interval, evaluation_interval=interval)
    jobs = []
    for job in config["scrape_configs"]:
        name = job["job_name"]
        if name in metrics_ports:
            job.pop("dns_sd_configs", None)
            job["static_configs"] = [{"targets": [f"127.0.0.1:{metrics_ports[name]}"]}]
            jobs.append(job)
    config["scrape_configs"] = jobs
    return dict(config)


@contextlib.contextmanager
def running_prometheus(root: Path, metrics_ports: Mapping[str, int]) -> Iterator[str]:
    """Prometheus (data and log under ``root``) until the block ends; yields its base URL."""
    binary = find_prometheus()
    if binary is None:
        raise RuntimeError("no Prometheus binary (apt-get install prometheus)")
    root.mkdir(parents=True, exist_ok=True)
    (root / "prometheus.yml").write_text(yaml.safe_dump(local_config(metrics_ports)))
    shutil.copy(OBSERVABILITY / "alerts.yml", root / "alerts.yml")
    port = free_port()
    with (root / "prometheus.log").open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - argv built here
            [
                str(binary),
                f"--config.file={root / 'prometheus.yml'}",
                f"--storage.tsdb.path={root / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while not _ready(url):
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"Prometheus did not start (see {root / 'prometheus.log'})")
                time.sleep(0.2)
            yield url
        finally:
            process.terminate()
            process.wait(10)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/-/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
