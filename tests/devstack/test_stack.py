"""`make run`'s token secret (JWT_SECRET when set, else one made for the stack and kept) and
what its banner says about the edge."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest

from devstack import stack
from devstack.__main__ import banner, edge_words
from devstack.stack import StackConfig, dev_token, jwt_secret, plan
from mesh.auth import Authenticator


def test_without_jwt_secret_the_stack_makes_its_own_and_keeps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JWT_SECRET", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    cfg = StackConfig(root=tmp_path / "var", memory=True)

    secret = jwt_secret(cfg)

    kept = tmp_path / "var" / "jwt-secret"
    assert len(secret) == 64
    assert kept.read_text().strip() == secret
    assert kept.stat().st_mode & 0o777 == 0o600
    assert jwt_secret(cfg) == secret  # the same after a restart: printed tokens stay valid
    _, env = plan(cfg)
    assert env["JWT_SECRET"] == secret  # every service and the worker verify with it
    token = dev_token(cfg)
    assert Authenticator(secret).user_of([("authorization", f"Bearer {token}")]) == "dev-user"


def test_a_configured_jwt_secret_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JWT_SECRET", "s" * 40)
    cfg = StackConfig(root=tmp_path / "var", memory=True)
    assert jwt_secret(cfg) == "s" * 40
    assert not (tmp_path / "var" / "jwt-secret").exists()


@pytest.mark.parametrize(
    ("edge", "tls", "envoy_here", "words"),
    [
        ("auto", False, True, "Envoy running the production envoy/envoy.yaml"),
        ("auto", False, False, "no Envoy binary here"),
        ("bridge", False, True, "chosen with --edge bridge or PHOTOFUN_EDGE=bridge"),
        ("auto", True, True, "TLS=1 runs it"),
    ],
    ids=["envoy", "no-envoy", "edge-bridge", "tls"],
)
def test_the_banner_says_which_edge_runs_and_why(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    edge: Literal["auto", "bridge"],
    tls: bool,
    envoy_here: bool,
    words: str,
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setattr(stack, "find_envoy", lambda: tmp_path / "envoy" if envoy_here else None)
    cfg = StackConfig(root=tmp_path / "var", memory=True, edge=edge, tls=tls)
    _, env = plan(cfg)
    said = edge_words(cfg, env)
    assert words in said, said
    # The words name the edge the page is given.
    assert env["GRPC_WEB_URL"].endswith(f":{cfg.ports.edge}") == said.startswith("Envoy")


def test_the_banner_gives_each_process_metrics_url_and_the_traces_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The metrics URLs `make run` prints are the ports each process is told to serve on."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    ports = stack.Ports(
        prompt_metrics=19101, image_metrics=19102, conversation_metrics=19103, worker_metrics=19104
    )
    cfg = StackConfig(root=tmp_path / "var", memory=True, ports=ports)
    _, env = plan(cfg)
    lines = banner(cfg, env).splitlines()
    served_on = {
        "prompt_svc": "PROMPT_SVC_METRICS_PORT",
        "image_svc": "IMAGE_SVC_METRICS_PORT",
        "conversation_svc": "CONVERSATION_SVC_METRICS_PORT",
        "worker": "CONVERSATION_SVC_WORKER_METRICS_PORT",
    }
    metrics = [line.split() for line in lines if line.strip().startswith("metrics")]
    assert metrics == [
        ["metrics", f"http://{cfg.host}:{env[setting]}/metrics", f"({name})"]
        for name, setting in served_on.items()
    ]
    assert {int(env[s]) for s in served_on.values()} == {19101, 19102, 19103, 19104}
    (traces,) = [line.split() for line in lines if line.strip().startswith("traces")]
    assert traces == [
        "traces",
        str(tmp_path / "var" / "traces.jsonl"),
        "(photofun",
        "trace",
        "MESSAGE_ID)",
    ]
    assert env["TRACES_FILE"] == traces[1]
