"""Draw docs/img/trust.png: the trust boundaries, browser → edge → services → providers.

    python docs/img/trust.py        (or `make diagram`; needs Graphviz's `dot`)

Each box is a zone whose members trust each other only as far as the labels say; every arrow
names what a call across a boundary must carry (docs/threat-model.md explains each).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).parent

ZONES = {
    "internet": ("Internet (untrusted)", "#ffebee", ["browser", "cli"]),
    "edge": (
        "Edge: Envoy (compose) / dev bridge (make run)\\nCORS, routes public services only, "
        "local_ratelimit",
        "#fff3e0",
        ["edge"],
    ),
    "mesh": (
        "Mesh: mTLS with the local CA (compose, make run TLS=1)\\nevery RPC but health: "
        "user token or trusted service (mesh/access.py)",
        "#e3f2fd",
        ["conversation", "prompt", "image", "worker"],
    ),
    "data": ("State (mesh network only)", "#eceff1", ["mongo", "redis"]),
    "providers": ("Providers (outside; keys from settings)", "#e8f5e9", ["models", "media"]),
}
NODES = {
    "browser": "browser\\n(web page)",
    "cli": "photofun CLI /\\ngrpcurl",
    "edge": "gRPC-web edge",
    "conversation": "conversation_svc\\nSendMessage: rate limit",
    "prompt": "prompt_svc\\nRefine (Gemini): rate limit",
    "image": "image_svc\\nGenerate / Angles / Edit:\\nrate limit",
    "worker": "Celery worker\\n(identity conversation_svc)",
    "mongo": "MongoDB",
    "redis": "Redis\\n(queue, rate-limit buckets)",
    "models": "Gemini / OpenAI /\\nPollinations",
    "media": "Media Service",
}
EDGES = [
    ("browser", "edge", "gRPC-web + bearer JWT\\n(HTTPS in production)", "#c62828"),
    ("cli", "edge", "gRPC + bearer JWT", "#c62828"),
    ("edge", "conversation", "mTLS (edge cert)\\n+ user's JWT", "#ef6c00"),
    ("edge", "prompt", "mTLS (edge cert)\\n+ user's JWT", "#ef6c00"),
    ("edge", "image", "mTLS (edge cert)\\n+ user's JWT", "#ef6c00"),
    ("conversation", "redis", "task id", "#546e7a"),
    ("redis", "worker", "task id", "#546e7a"),
    ("conversation", "mongo", "owner-scoped queries", "#546e7a"),
    ("worker", "mongo", "", "#546e7a"),
    ("worker", "prompt", "mTLS (conversation_svc cert)\\n+ x-photofun-user", "#1565c0"),
    ("worker", "image", "mTLS (conversation_svc cert)\\n+ x-photofun-user", "#1565c0"),
    ("prompt", "models", "HTTPS + API key", "#2e7d32"),
    ("image", "models", "HTTPS + API key", "#2e7d32"),
    ("image", "media", "GET, Media origin only\\n(SSRF guard)", "#2e7d32"),
    ("worker", "media", "upload", "#2e7d32"),
]


def dot_source() -> str:
    """The graph in Graphviz's language."""
    lines = [
        "digraph trust {",
        "  rankdir=TB; compound=true; newrank=true;",
        '  graph [fontname="Helvetica", fontsize=11, nodesep=0.5, ranksep=0.7];',
        '  node [shape=box, style="rounded,filled", fillcolor=white, fontname="Helvetica",'
        " fontsize=10];",
        '  edge [fontname="Helvetica", fontsize=8];',
    ]
    for key, (label, colour, members) in ZONES.items():
        lines.append(f"  subgraph cluster_{key} {{")
        lines.append(f'    label="{label}"; style="filled,dashed"; fillcolor="{colour}";')
        lines += [f'    "{m}" [label="{NODES[m]}"];' for m in members]
        lines.append("  }")
    for src, dst, label, colour in EDGES:
        lines.append(f'  "{src}" -> "{dst}" [label="{label}", color="{colour}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> None:
    source = dot_source()
    (HERE / "trust.dot").write_text(source)
    dot = shutil.which("dot")
    if dot is None:
        raise SystemExit("wrote trust.dot; install Graphviz (`dot`) to draw trust.png")
    subprocess.run(  # noqa: S603 (our own file, a fixed program)
        [dot, "-Tpng", "-Gdpi=110", "-o", str(HERE / "trust.png"), str(HERE / "trust.dot")],
        check=True,
    )


if __name__ == "__main__":
    main()
