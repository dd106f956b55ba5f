"""Run by a test in a separate interpreter: serve image_svc (process pool) and print the seeds
and image digests of the Clio front/side/rear set as JSON.

The imports are inside ``main``: the render pool's worker is spawned, and a spawned process
imports the parent's main module again (as ``__mp_main__``); with nothing heavy at the top it
loads only what drawing needs, not the whole service and the tests' fixtures a second time."""

from __future__ import annotations

import asyncio


async def main() -> None:
    import contextlib
    import hashlib
    import json
    import os

    import grpc

    from image_svc import app
    from image_svc.settings import Settings
    from mesh.auth import mint_token
    from mesh.server import GrpcServer
    from photofun.v1 import common_pb2, image_service_pb2, image_service_pb2_grpc

    clio = common_pb2.Subject(
        brand="Renault", model="Clio", year=2019, color="blue", body_type="hatchback"
    )
    # The tests' token, signed with the secret the parent test process set (tests/conftest.py).
    metadata = (("authorization", f"Bearer {mint_token(os.environ['JWT_SECRET'], 'test-user')}"),)
    async with contextlib.AsyncExitStack() as stack:
        settings = Settings(render_mode="process", render_workers=1, port=0)
        server = GrpcServer(await app.build(settings, stack), settings)
        await server.start()
        request = image_service_pb2.GenerateAnglesRequest(
            subject=clio,
            angles=[common_pb2.ANGLE_FRONT, common_pb2.ANGLE_SIDE, common_pb2.ANGLE_REAR],
            width=256,
            height=256,
        )
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = image_service_pb2_grpc.ImageServiceStub(channel)
            out = {
                common_pb2.Angle.Name(v.angle): [v.seed, hashlib.sha256(v.image.data).hexdigest()]
                async for v in stub.GenerateAngles(request, metadata=metadata)
            }
        await server.stop(0)
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main())
