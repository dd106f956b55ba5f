"""How the suite is spread over pytest-xdist's workers (`make pytest`, ``--dist loadfile``).

Each tier's wall time on two workers is bounded by its longest units, and a long unit that
starts last runs alone at the end. So:

- the modules that share a stack (``tests/e2e/stacks.py``) are one unit: one worker runs them
  one after another, and their stack starts once;
- units start longest first (``UNIT_SECONDS``, else a tenth of a second a test), both with and
  without xdist (``order``, from ``pytest_collection_modifyitems``), so that the short ones fill
  the end;
- a worker is given its next unit when one test of its current unit is left (xdist's default
  is two, which hands a whole unit to a worker still busy for a minute while the other idles).

xdist's own ``--dist loadgroup`` would express the first point, but it does not work with
pytest 9.2 (it renames items through ``item._nodeid``, which pytest 9.2 no longer reads).
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import pytest
from xdist.scheduler import LoadFileScheduling  # type: ignore[import-untyped]

from tests.e2e.stacks import SHARED, group_of

# Rough seconds a unit takes on the two-core machine with the other worker busy (the durations
# `make pytest` prints); only the order matters, so round numbers do.
UNIT_SECONDS = {
    "tests/e2e/test_browser_envoy.py": 150,
    "tests/e2e/test_browser.py": 130,
    "tests/e2e/test_throughput.py": 110,
    "stack plain": 110,
    "tests/e2e/test_observability.py": 70,
    "tests/e2e/test_pipeline.py": 90,
    "tests/devstack/test_devstack.py": 80,
    "stack mtls": 60,
    "tests/deploy/test_grpc_web_edges.py": 40,
    "tests/deploy/test_compose.py": 10,
    "tests/image_svc/test_servicer.py": 30,
    "tests/campaign/test_public_rpcs.py": 25,
    "tests/conversation_svc/test_hardening.py": 25,
}


def unit_of(nodeid: str) -> str:
    """The unit a test runs in: its module, or its module's shared stack."""
    module = nodeid.split("::", 1)[0]
    group = group_of(module)
    return module if group is None else f"stack {group}"


def order(items: list[pytest.Item]) -> None:
    """Sort ``items`` by unit, the longest units first; the modules of a shared stack in the
    order its plan lists them; tests keep their order in a module."""
    units: dict[str, list[pytest.Item]] = {}
    for item in sorted(items, key=_place_in_group):
        units.setdefault(unit_of(item.nodeid), []).append(item)

    def cost(unit: str) -> float:
        return UNIT_SECONDS.get(unit, 0.1 * len(units[unit]))

    items[:] = [item for unit in sorted(units, key=cost, reverse=True) for item in units[unit]]


def _place_in_group(item: pytest.Item) -> int:
    module = PurePosixPath(item.nodeid.split("::", 1)[0])
    group = group_of(module)
    return 0 if group is None else SHARED[group].modules.index(module.name)


class UnitScheduling(LoadFileScheduling):  # type: ignore[misc]
    """``--dist loadfile`` over ``unit_of``'s units, in collection order (see the docstring)."""

    def __init__(self, config: pytest.Config, log: Any = None) -> None:
        super().__init__(config, log)
        config.option.loadscopereorder = False  # `order` has sorted the collection

    def _split_scope(self, nodeid: str) -> str:
        return unit_of(nodeid)

    def _reschedule(self, node: Any) -> None:
        if node.shutting_down:
            return
        if not self.workqueue:
            node.shutdown()
            return
        # One test left: the worker needs its next test to run it (pytest's nextitem).
        if self._pending_of(self.assigned_work[node]) > 1:
            return
        self._assign_work_unit(node)
