"""The open-loop load generators' client and clock: requests fired at a fixed rate, latency from
each one's scheduled time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import uvloop
from rich.progress import Progress

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on uvloop, as the edge and the worker run: less of the generator's CPU a request."""
    return uvloop.run(main)


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one request at a time; answers need a Content-Length."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._buffer = bytearray()
        self._answer: asyncio.Future[tuple[int, bytes]] | None = None
        self._status = 0
        self._body_at = 0
        self._end = 0  # where the answer ends in the buffer; 0: its head is not complete yet
        self.idle_since = time.monotonic()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(ConnectionError(f"connection closed before the answer: {exc!r}"))

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if not self._end:
            head_end = self._buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = bytes(self._buffer[:head_end]).lower()
            at = head.find(b"\r\ncontent-length:")
            if at < 0:
                self._fail(ValueError("an answer without Content-Length"))
                return
            line_end = head.find(b"\r\n", at + 2)
            self._status = int(head[9:12])
            self._body_at = head_end + 4
            self._end = self._body_at + int(head[at + 17 : line_end if line_end > 0 else len(head)])
        if len(self._buffer) >= self._end and self._answer is not None:
            body = bytes(self._buffer[self._body_at : self._end])
            del self._buffer[: self._end]
            self._end = 0
            self._answer.set_result((self._status, body))

    def _fail(self, exc: Exception) -> None:
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(exc)
        if self.transport is not None:
            self.transport.close()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def request(self, data: bytes) -> asyncio.Future[tuple[int, bytes]]:
        assert self.transport is not None
        self._answer = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return self._answer


MAX_IDLE_S = 4.0  # uvicorn closes a keep-alive connection idle for 5 s: one idle longer is not reused


class LeanClient:
    """The open-loop generators' HTTP client: a pool of keep-alive connections (at most ``limit``), a
    request written in one go and its answer read by Content-Length. aiohttp took ~0.4-0.6 ms of CPU a
    request here (httpx ~3 ms), 20-30 % of a core at 500 requests/s taken from the system under test
    on two cores; this takes a fraction of that."""

    def __init__(self, port: int, limit: int = 200, timeout_s: float = 30) -> None:
        self._port = port
        self._host = f"Host: 127.0.0.1:{port}\r\n".encode()
        self._idle: list[_Connection] = []
        self._all: list[_Connection] = []
        self._slots = asyncio.Semaphore(limit)
        self._timeout_s = timeout_s

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode()
        head = b"POST %s HTTP/1.1\r\n%s%sContent-Length: %d\r\n\r\n" % (path.encode(), self._host, extra, len(body))
        async with self._slots:
            while self._idle and (self._idle[-1].closed or self._idle[-1].idle_since < time.monotonic() - MAX_IDLE_S):
                self._idle.pop().close()  # closed by the server, or about to be: a request on it would be lost
            conn = self._idle.pop() if self._idle else await self._connect()
            try:
                answer = await asyncio.wait_for(conn.request(head + body), self._timeout_s)
            except BaseException:
                conn.transport.close()  # type: ignore[union-attr]
                raise
            if not conn.closed:
                conn.idle_since = time.monotonic()
                self._idle.append(conn)
            return answer

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(_Connection, "127.0.0.1", self._port)
        self._all.append(conn)
        return conn

    def close(self) -> None:
        for conn in self._all:
            if conn.transport is not None:
                conn.transport.close()


@asynccontextmanager
async def load_client(port: int) -> AsyncIterator[LeanClient]:
    client = LeanClient(port)
    try:
        yield client
    finally:
        client.close()


async def post_json(http: LeanClient, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    return await http.post(path, body, {"content-type": "application/json", **headers})


async def open_loop(rate: float, seconds: float, send: Any, progress: Progress, label: str) -> list[float]:
    """Fire ``send(i)`` at a fixed rate regardless of answers (no coordinated omission);
    latency is measured from each request's scheduled time. Returns request i's latency at i."""
    n = int(rate * seconds)
    task = progress.add_task(label, total=n)
    latencies = [0.0] * n
    start = time.perf_counter()
    running = set()
    failed: list[BaseException] = []

    async def one(i: int, due: float) -> None:
        try:
            await send(i)
        except Exception as exc:  # kept, and raised once every request is done
            failed.append(exc)
        latencies[i] = time.perf_counter() - due
        progress.advance(task)

    for i in range(n):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        t = asyncio.create_task(one(i, due))
        running.add(t)
        t.add_done_callback(running.discard)
    await asyncio.gather(*running)
    if failed:
        raise RuntimeError(f"{len(failed)} of {n} requests failed, the first: {failed[0]!r}")
    return latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")
