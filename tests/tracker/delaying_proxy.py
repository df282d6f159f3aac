"""A TCP relay that passes requests on at once and answers late: the browser's request has
reached the edge, but the page does not know yet."""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType


class DelayingProxy:
    def __init__(self, target_port: int, delay_s: float) -> None:
        self._target = target_port
        self._delay = delay_s
        self._loop = asyncio.new_event_loop()
        self._chunks: list[bytes] = []
        self.url = ""

    def requests_containing(self, needle: bytes) -> int:
        return sum(needle in chunk for chunk in list(self._chunks))

    def __enter__(self) -> DelayingProxy:
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(asyncio.start_server(self._relay, "127.0.0.1", 0))
            self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
            started.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        started.wait(10)
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        edge_r, edge_w = await asyncio.open_connection("127.0.0.1", self._target)

        async def upstream() -> None:
            while data := await client_r.read(65536):
                self._chunks.append(data)
                edge_w.write(data)
                await edge_w.drain()

        async def downstream() -> None:
            while data := await edge_r.read(65536):
                await asyncio.sleep(self._delay)
                client_w.write(data)
                await client_w.drain()

        await asyncio.gather(upstream(), downstream(), return_exceptions=True)
        for writer in (edge_w, client_w):
            writer.close()
