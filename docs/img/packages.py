"""Draw docs/img/packages.png: the packages, their modules and who imports whom.

    python docs/img/packages.py        (or `make diagram`; needs Graphviz's `dot`)

The graph is read from the code (grimp, which `make lint`'s import-linter uses too), so the
picture cannot drift from the imports. Sub-packages (image_svc.render, prompt_svc.local ...)
are drawn as one box each; the generated contracts (`photofun`) as one.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import grimp

SERVICES = ("conversation_svc", "prompt_svc", "image_svc")
PACKAGES = ("devstack", *SERVICES, "photofun_cli", "mesh")
COLOURS = {
    "devstack": "#f3e5f5",
    "conversation_svc": "#e3f2fd",
    "prompt_svc": "#e8f5e9",
    "image_svc": "#fff3e0",
    "photofun_cli": "#fce4ec",
    "mesh": "#eceff1",
}
HERE = Path(__file__).parent


def node_of(graph: grimp.ImportGraph, module: str) -> str | None:
    """The box a module is drawn in: itself, its sub-package, or None (left out)."""
    parts = module.split(".")
    if parts[0] == "photofun":
        return "photofun"
    if parts[-1] == "__init__" or len(parts) == 1:
        return None
    head = ".".join(parts[:2])
    if len(parts) > 2 or graph.find_children(head):
        return head
    return module


def dot_source() -> str:
    graph = grimp.build_graph(*PACKAGES, "photofun", include_external_packages=False)
    nodes: dict[str, set[str]] = {p: set() for p in PACKAGES}
    edges: set[tuple[str, str]] = set()
    for module in graph.modules:
        node = node_of(graph, module)
        if node is None or node == "photofun":
            continue
        nodes[module.split(".")[0]].add(node)
        for imported in graph.find_modules_directly_imported_by(module):
            target = node_of(graph, imported)
            if target is None or target == node:
                continue
            # Between packages, draw one arrow per pair of packages, not per module.
            src_pkg, dst_pkg = node.split(".")[0], target.split(".")[0]
            if src_pkg != dst_pkg:
                edges.add((f"cluster_{src_pkg}", f"cluster_{dst_pkg}"))
            else:
                edges.add((node, target))
    lines = [
        "digraph packages {",
        '  graph [rankdir=TB, compound=true, fontname="Helvetica", nodesep=0.25, ranksep=0.5];',
        '  node [shape=box, style="rounded,filled", fillcolor=white, fontname="Helvetica",'
        " fontsize=10];",
        '  edge [color="#90a4ae", arrowsize=0.6];',
    ]
    # Arrows between packages leave from a module nothing else in the package is imported by
    # (a bottom one) and arrive at one that imports nothing of its package (a top one), so
    # Graphviz stacks the layers: dev stack, services and CLI, mesh, contracts.
    inner = [(a, b) for a, b in edges if not a.startswith("cluster_")]
    tails: dict[str, str] = {}
    heads: dict[str, str] = {}
    for package in PACKAGES:
        members = sorted(nodes[package])
        importers = {a for a, _ in inner if a in members}
        imported = {b for _, b in inner if b in members}
        tails[f"cluster_{package}"] = next((m for m in members if m not in importers), members[0])
        heads[f"cluster_{package}"] = next((m for m in members if m not in imported), members[0])
        lines.append(f'  subgraph "cluster_{package}" {{')
        lines.append(
            f'    label="{package}/"; style="rounded,filled"; fillcolor="{COLOURS[package]}";'
        )
        for member in members:
            label = member.split(".", 1)[1]
            label += "/" if graph.find_children(member) else ".py"
            lines.append(f'    "{member}" [label="{label}"];')
        lines.append("  }")
    lines.append('  "photofun" [label="photofun.v1 (gen/)", shape=folder, fillcolor="#fffde7"];')
    for src, dst in sorted(edges):
        if src.startswith("cluster_"):
            if dst == "cluster_photofun":
                continue  # everything speaks the contracts: one arrow from mesh says it
            lines.append(
                f'  "{tails[src]}" -> "{heads[dst]}" '
                f'[ltail="{src}", lhead="{dst}", color="#37474f", penwidth=1.6];'
            )
        else:
            lines.append(f'  "{src}" -> "{dst}";')
    lines.append(
        f'  "{tails["cluster_mesh"]}" -> "photofun" '
        '[ltail="cluster_mesh", color="#37474f", penwidth=1.6];'
    )
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> None:
    source = dot_source()
    (HERE / "packages.dot").write_text(source)
    dot = shutil.which("dot")
    if dot is None:
        raise SystemExit("wrote packages.dot; install Graphviz (`dot`) to draw packages.png")
    subprocess.run(  # noqa: S603 (our own file, a fixed program)
        [dot, "-Tpng", "-Gdpi=110", "-o", str(HERE / "packages.png"), str(HERE / "packages.dot")],
        check=True,
    )


if __name__ == "__main__":
    main()
