"""Run by a test in a separate interpreter: serve image_svc (process pool) and print the seeds
and image digests of the Clio front/side/rear set as JSON."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json

import grpc

from image_svc import app
from image_svc.settings import Settings
from mesh.server import GrpcServer
from photofun.v1 import common_pb2, image_service_pb2, image_service_pb2_grpc
from tests.conftest import as_user

CLIO = common_pb2.Subject(
    brand="Renault", model="Clio", year=2019, color="blue", body_type="hatchback"
)


async def main() -> None:
    async with contextlib.AsyncExitStack() as stack:
        settings = Settings(render_mode="process", render_workers=1, port=0)
        server = GrpcServer(await app.build(settings, stack), settings)
        await server.start()
        request = image_service_pb2.GenerateAnglesRequest(
            subject=CLIO,
            angles=[common_pb2.ANGLE_FRONT, common_pb2.ANGLE_SIDE, common_pb2.ANGLE_REAR],
            width=256,
            height=256,
        )
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = image_service_pb2_grpc.ImageServiceStub(channel)
            out = {
                common_pb2.Angle.Name(v.angle): [v.seed, hashlib.sha256(v.image.data).hexdigest()]
                async for v in stub.GenerateAngles(request, metadata=as_user())
            }
        await server.stop(0)
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main())
