"""Redraw docs/img/trace-waterfall.png and docs/img/dashboard.png from a real run.

Starts the stack on free ports with Envoy as the edge (mock images at a watching pace; needs
the dev group's Envoy), a real Prometheus on the committed scrape config (devstack.prometheus),
sends a burst of messages through Envoy as the page sends them (gRPC-web with a sampled W3C
``traceparent``), then:

- draws one message's trace (read from the stack's spans file, as `photofun trace` reads it:
  Envoy's ``ingress`` span first, written there by devstack/otlp_receiver.py) as a waterfall
  of bars with Pillow;
- opens the dashboard's queries (docker/observability/grafana/dashboards/photofun.json) in
  Prometheus' own graph page with Chromium (Playwright, Debian's /usr/bin/chromium) and puts
  the screenshots together. Grafana is not installable here; the queries are the same.

    .venv/bin/python docs/img/observability.py
"""

from __future__ import annotations

import asyncio
import io
import json
import random
import secrets
import tempfile
import time
import urllib.parse
from pathlib import Path

import grpc
import httpx
from PIL import Image, ImageDraw, ImageFont

from devstack.prometheus import OBSERVABILITY, running_prometheus
from devstack.running import RunningStack, running_stack
from mesh.auth import mint_token
from photofun.v1 import conversation_service_pb2 as pb
from photofun.v1 import conversation_service_pb2_grpc as rpc
from photofun_cli.trace import in_tree_order, read_trace

HERE = Path(__file__).resolve().parent
PROMPTS = [
    "2019 Renault Clio blue hatchback, front side rear",
    "red vintage sports car on a coastal road",
    "hello, what can you draw?",
    "Toyota Corolla white sedan, front and rear",
]
PANELS = [  # (dashboard panel title, which of its queries)
    ("Messages by intent and outcome (per minute)", 0),
    ("Time to first image and to DONE (p50, p95)", 1),
    ("gRPC calls per second by service, method and code", 0),
    ("Render and encode time p95", 0),
]


async def send_through_envoy(
    client: httpx.AsyncClient, stack: RunningStack, token: str, request: pb.SendMessageRequest
) -> pb.Message:
    """SendMessage as web/src/api.ts sends it: binary gRPC-web to Envoy from the page's origin,
    with the bearer token and a new sampled W3C ``traceparent``."""
    body = request.SerializeToString()
    reply = await client.post(
        f"{stack.env['GRPC_WEB_URL']}/photofun.v1.ConversationService/SendMessage",
        content=b"\x00" + len(body).to_bytes(4, "big") + body,
        headers={
            "content-type": "application/grpc-web+proto",
            "x-grpc-web": "1",
            "origin": f"http://localhost:{stack.ports.web}",
            "authorization": f"Bearer {token}",
            "traceparent": f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01",
        },
    )
    if reply.status_code != 200 or reply.content[:1] != b"\x00":
        raise RuntimeError(f"SendMessage through Envoy: {reply.status_code} {reply.headers}")
    size = int.from_bytes(reply.content[1:5], "big")
    return pb.SendMessageResponse.FromString(reply.content[5 : 5 + size]).message


async def send_burst(stack: RunningStack, count: int) -> list[pb.Message]:
    """``count`` messages, three at a time, each sent through Envoy and followed to its end."""
    token = mint_token(stack.env["JWT_SECRET"], "docs")
    metadata = (("authorization", f"Bearer {token}"),)
    done: list[pb.Message] = []
    async with (
        grpc.aio.insecure_channel(stack.conversation) as channel,
        httpx.AsyncClient(timeout=30) as client,
    ):
        stub = rpc.ConversationServiceStub(channel)

        async def one(prompt: str) -> None:
            conv = (
                await stub.CreateConversation(pb.CreateConversationRequest(), metadata=metadata)
            ).conversation
            sent = await send_through_envoy(
                client,
                stack,
                token,
                pb.SendMessageRequest(conversation_id=conv.conversation_id, prompt=prompt),
            )
            async for event in stub.WatchMessage(
                pb.WatchMessageRequest(message_id=sent.message_id), metadata=metadata
            ):
                last = event.message
            done.append(last)

        rng = random.Random(7)
        for start in range(0, count, 3):
            await asyncio.gather(*(one(rng.choice(PROMPTS)) for _ in range(min(3, count - start))))
            await asyncio.sleep(2)
    return done


async def wait_for_spans(spans_file: Path, trace_id: str, services: set[str]) -> None:
    """Until every one of ``services`` wrote its spans of the trace (Envoy sends its spans in
    batches every few seconds)."""
    deadline = time.monotonic() + 30
    while not services <= {s.service for s in read_trace(spans_file, trace_id)}:
        if time.monotonic() > deadline:
            raise RuntimeError(f"trace {trace_id}: no spans from some of {sorted(services)}")
        await asyncio.sleep(0.5)


def draw_waterfall(spans_file: Path, trace_id: str, out: Path) -> None:
    """One bar per span (indented by depth, coloured by service), with its offset and length."""
    spans = [
        (d, s)
        for d, s in in_tree_order(read_trace(spans_file, trace_id))
        if not s.name.startswith("photofun.")  # PyMongo's spans: too many for a picture
    ]
    origin = min(s.start for _, s in spans)
    end = max(s.end for _, s in spans)
    total = (end - origin).total_seconds()
    font = ImageFont.load_default(size=15)
    colours = {
        "envoy": (123, 31, 162),
        "conversation_svc": (66, 133, 244),
        "worker": (219, 68, 55),
        "prompt_svc": (244, 180, 0),
        "image_svc": (15, 157, 88),
    }
    label_w, bar_w, row = 560, 700, 26
    # A margin right of the bars, so every duration is written beside its bar, never on it.
    image = Image.new("RGB", (label_w + bar_w + 80, row * (len(spans) + 2)), "white")
    draw = ImageDraw.Draw(image)
    draw.text((10, 6), f"trace {trace_id}   (0 … {total * 1000:.0f} ms)", fill="black", font=font)
    for i, (depth, s) in enumerate(spans, start=1):
        y = i * row + 6
        draw.text((10, y), f"{s.service:<17}{'  ' * depth}{s.name}", fill="black", font=font)
        x0 = label_w + bar_w * (s.start - origin).total_seconds() / total
        x1 = max(x0 + 2, label_w + bar_w * (s.end - origin).total_seconds() / total)
        colour = (200, 0, 0) if s.status.startswith("ERROR") else colours.get(s.service, (90,) * 3)
        draw.rectangle((x0, y + 2, x1, y + row - 8), fill=colour)
        failed = " ERROR" if s.status.startswith("ERROR") else ""
        draw.text((x1 + 4, y), f"{s.seconds * 1000:.0f} ms{failed}", fill="gray")
    image.save(out, optimize=True)


def screenshot_dashboard(prometheus: str, out: Path) -> None:
    """The chosen dashboard panels in Prometheus' graph page, two by two."""
    from playwright.sync_api import sync_playwright

    dashboard = json.loads((OBSERVABILITY / "grafana/dashboards/photofun.json").read_text())
    panels = {p["title"]: p for p in dashboard["panels"]}
    shots: list[Image.Image] = []
    with (
        tempfile.TemporaryDirectory() as profile,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch_persistent_context(
            profile,
            executable_path="/usr/bin/chromium",
            headless=True,
            viewport={"width": 900, "height": 1000},
            args=["--no-sandbox", "--disable-gpu", "--no-first-run"],
        )
        page = browser.new_page()
        for title, index in PANELS:
            target = panels[title]["targets"][index]
            query = {"g0.expr": target["expr"], "g0.tab": "0", "g0.range_input": "3m"}
            page.goto(f"{prometheus}/graph?{urllib.parse.urlencode(query)}")
            page.wait_for_selector(".rickshaw_graph svg", timeout=15000)
            page.wait_for_timeout(1000)
            label = f"{title}: {target['legendFormat'] or target['expr']}"
            chart = page.locator(".tab-pane.active").first
            canvas = Image.open(io.BytesIO(chart.screenshot()))
            header = Image.new("RGB", (canvas.width, 34), (40, 40, 40))
            ImageDraw.Draw(header).text(
                (10, 8), label, fill="white", font=ImageFont.load_default(size=18)
            )
            framed = Image.new("RGB", (canvas.width, canvas.height + 34), "white")
            framed.paste(header, (0, 0))
            framed.paste(canvas, (0, 34))
            shots.append(framed)
        browser.close()
    w, h = shots[0].size
    sheet = Image.new("RGB", (w * 2, h * 2), "white")
    for i, shot in enumerate(shots):
        sheet.paste(shot, ((i % 2) * w, (i // 2) * h))
    sheet.save(out, optimize=True)


async def main() -> None:
    with tempfile.TemporaryDirectory() as root:
        env = {"IMAGE_SVC_MOCK_LATENCY": "0.6", "IMAGE_SVC_MOCK_JITTER": "0.5"}
        async with running_stack(Path(root) / "stack", env, edge="envoy") as stack:
            with running_prometheus(Path(root) / "prometheus", stack.ports.metrics()) as url:
                messages = await send_burst(stack, 18)
                await asyncio.sleep(5)  # a last scrape and the exporters' last batch
                drawn = next(m for m in messages if len(m.images) == 3)
                await wait_for_spans(
                    stack.root / "traces.jsonl",
                    drawn.trace_id,
                    {"envoy", "conversation_svc", "worker", "prompt_svc", "image_svc"},
                )
                draw_waterfall(
                    stack.root / "traces.jsonl", drawn.trace_id, HERE / "trace-waterfall.png"
                )
                await asyncio.to_thread(screenshot_dashboard, url, HERE / "dashboard.png")


if __name__ == "__main__":
    asyncio.run(main())
