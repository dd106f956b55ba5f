"""Supervision of devstack's children, with real processes: a crashing part is restarted with
growing waits, and each restart is said."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

from devstack.processes import Child, RestartPolicy, supervise, tcp_probe


async def test_a_part_that_keeps_crashing_is_restarted_with_growing_waits(tmp_path: Path) -> None:
    async def ready() -> bool:
        return True

    child = Child("crasher", [sys.executable, "-c", "raise SystemExit(3)"], ready)
    child.start(tmp_path)
    said: list[str] = []
    stop = asyncio.Event()
    watching = asyncio.create_task(
        supervise(
            [child],
            stop,
            cwd=tmp_path,
            start_timeout=5,
            policy=RestartPolicy(first=0.2, cap=0.4),
            say=said.append,
        )
    )
    await asyncio.sleep(3)
    stop.set()
    await asyncio.wait_for(watching, 5)
    waits = [float(m) for m in re.findall(r"status 3\); restarting in ([\d.]+) s", "".join(said))]
    assert waits[:3] == [0.2, 0.4, 0.4], said
    child.stop()


async def test_a_part_that_comes_back_is_said_to_be_back(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    server = (
        "import socket, sys, time\n"
        "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n"
        f"open({str(port_file)!r}, 'w').write(str(s.getsockname()[1]))\n"
        "time.sleep(60)\n"
    )

    async def listening() -> bool:
        text = port_file.read_text() if port_file.exists() else ""
        return bool(text) and await tcp_probe("127.0.0.1", int(text))()

    child = Child("server", [sys.executable, "-c", server], listening)
    child.start(tmp_path)
    await child.wait_ready(10)
    said: list[str] = []
    stop = asyncio.Event()
    watching = asyncio.create_task(
        supervise([child], stop, cwd=tmp_path, start_timeout=10, say=said.append)
    )
    assert child.process is not None
    port_file.unlink()
    child.process.kill()
    for _ in range(100):
        if any("server is back" in line for line in said):
            break
        await asyncio.sleep(0.1)
    stop.set()
    await asyncio.wait_for(watching, 5)
    child.stop()
    assert any("server exited (status -9); restarting in 1 s" in line for line in said), said
    assert any("✓ server is back" in line for line in said), said


async def test_what_a_crashed_part_started_does_not_outlive_it(tmp_path: Path) -> None:
    # A part that starts a helper process (as image_svc starts its render workers), then dies
    # outright: the helper is in the part's process group, and is ended with it.
    pid_file = tmp_path / "helper"
    part = (
        "import subprocess, sys, time\n"
        "helper = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(helper.pid))\n"
        "time.sleep(60)\n"
    )

    async def started() -> bool:
        return pid_file.exists() and bool(pid_file.read_text())

    child = Child("part", [sys.executable, "-c", part], started)
    child.start(tmp_path)
    await child.wait_ready(10)
    helper = int(pid_file.read_text())
    pid_file.unlink()
    stop = asyncio.Event()
    said: list[str] = []
    watching = asyncio.create_task(
        supervise([child], stop, cwd=tmp_path, start_timeout=10, say=said.append)
    )
    assert child.process is not None
    child.process.kill()  # the leader only, as `kill -9 PID` does
    for _ in range(50):
        if _gone(helper):
            break
        await asyncio.sleep(0.1)
    ended = _gone(helper)  # by the supervisor, before anything stops the part
    stop.set()
    await asyncio.wait_for(watching, 5)
    child.stop()
    assert ended, said


def _gone(pid: int) -> bool:
    """The process has ended (a zombie waiting for its new parent counts as ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True
