"""``python -m mesh.probe HOST:PORT SERVICE``: exit 0 when the service's health is SERVING.

For container health checks; with ``MESH_TLS_DIR`` set it connects over mTLS as the ``edge``
identity (the servers then take nothing else).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mesh.pki import channel_credentials


def main(argv: Sequence[str] | None = None) -> int:
    """Check one service's health; 0 when SERVING, 1 otherwise (the reason on stderr)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: python -m mesh.probe HOST:PORT SERVICE", file=sys.stderr)
        return 2
    address, service = args
    folder = os.environ.get("MESH_TLS_DIR")
    channel = (
        grpc.secure_channel(address, channel_credentials(Path(folder), "edge"))
        if folder
        else grpc.insecure_channel(address)
    )
    with channel:
        try:
            stub: Any = health_pb2_grpc.HealthStub(channel)
            reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=3)
        except grpc.RpcError as exc:
            print(f"{address}: {exc}", file=sys.stderr)
            return 1
    return 0 if reply.status == health_pb2.HealthCheckResponse.SERVING else 1


if __name__ == "__main__":
    raise SystemExit(main())
