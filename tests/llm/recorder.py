"""A recording hop between the gateway and the real vLLM: every request the runtime would
receive (path, headers, JSON body) is kept, then relayed unchanged to vLLM and its answer
streamed back. What the tests read is what vLLM was sent."""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web

from tenantry.devserver.process import free_port


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


class Recorder:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.seen: list[Seen] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._runner: web.AppRunner | None = None

    async def _relay(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        self.seen.append(
            Seen(request.method, request.path, {k.lower(): v for k, v in request.headers.items()},
                 body)
        )  # fmt: skip
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host",
                   "content-length")}  # fmt: skip
        async with (
            ClientSession(timeout=ClientTimeout(total=600)) as session,
            session.request(
                request.method, self.upstream + request.path_qs, data=raw, headers=headers
            ) as up,
        ):
            resp = web.StreamResponse(
                status=up.status,
                headers={"Content-Type": up.headers.get("Content-Type", "application/json")},
            )
            await resp.prepare(request)
            async for piece in up.content.iter_any():
                await resp.write(piece)
            await resp.write_eof()
            return resp

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application(client_max_size=16 * 2**20)
        app.router.add_route("*", "/{tail:.*}", self._relay)
        self._runner = web.AppRunner(app)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        self._loop.run_until_complete(site.start())
        self._ready.set()
        self._loop.run_forever()

    def __enter__(self) -> Recorder:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the recording hop did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._runner is not None
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
