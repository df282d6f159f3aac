"""``python bench/traced.py edge|worker ...``: leadstream's own command, with each hop of a sales-OS
run timestamped for ``bench/os_timeline.py``.

Each hop is a line ``<run id> <hop> <unix time> [<request id>]`` in a file of the process's own under
``$BENCH_TRACE_DIR``. Wall-clock time, so the edge's and the worker's hops compare (one machine, one
clock). Lines gather in a list and a thread appends them to the file every 200 ms, so a hop costs an
append, not a write. The hooks wrap the functions at the hops' boundaries and change nothing else.

Edge: ``edge_in`` (the handler starts: ``Call.start``), ``published`` (the run goes to its first stage),
``in_batch`` (the publisher's batch it joined), that batch's ``batch_sent`` / ``batch_acked``,
``kafka_acked`` (the handler hears Kafka acknowledged it), ``reply_in`` (its answer came from Redis).
Worker: ``stage_in`` / ``stage_done`` (the batch holding it reached the stage / was done),
``outputs_acked`` (the batch's outputs are in Kafka), ``replied`` (its answer is in Redis).
Both: each garbage collection's start and length.
"""

from __future__ import annotations

import atexit
import functools
import gc
import itertools
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import orjson

_lines: list[str] = []


def mark(run_id: str, hop: str, extra: str = "") -> None:
    _lines.append(f"{run_id} {hop} {time.time():.6f} {extra}\n")


def _flush(path: Path) -> None:
    global _lines
    taken, _lines = _lines, []
    if taken:
        with path.open("a") as out:
            out.writelines(taken)


def _flusher(path: Path) -> None:
    while True:
        time.sleep(0.2)
        _flush(path)


def _wrap_async(owner: Any, name: str, before: Any = None, after: Any = None) -> None:
    original = getattr(owner, name)

    @functools.wraps(original)
    async def traced(*args: Any, **kwargs: Any) -> Any:
        if before is not None:
            before(*args, **kwargs)
        result = await original(*args, **kwargs)
        if after is not None:
            after(*args, **kwargs)
        return result

    setattr(owner, name, traced)


def trace_edge() -> None:
    from leadstream.api import envelope, routes
    from leadstream.kafka.publisher import Publisher
    from leadstream.redis.replies import ReplyHub

    start = envelope.Call.start.__func__  # type: ignore[attr-defined]

    def call_start(cls: Any, endpoint: str, headers: Any) -> Any:
        call = start(cls, endpoint, headers)
        mark("-", "edge_in", call.request_id)
        return call

    envelope.Call.start = classmethod(call_start)  # type: ignore[assignment,method-assign]
    published = lambda edge, run, *rest: mark(run.run_id, "published", run.request_id)  # noqa: E731
    _wrap_async(routes, "_through_the_chain", before=published)

    def acked(self: Any, topic: str, items: list[tuple[bytes, bytes]]) -> None:
        if ".os.stage." in topic:
            for key, _ in items:
                mark(key.decode(), "kafka_acked")

    _wrap_async(Publisher, "publish", after=acked)
    append, deliver_batch, numbers = Publisher._append, Publisher._deliver, itertools.count()

    def appended(self: Any, producer: Any, topic: str, partitions: list[int], key: bytes, value: bytes) -> Any:
        batch = append(self, producer, topic, partitions, key, value)
        if ".os.stage." in topic:
            if not hasattr(batch, "trace_id"):
                batch.trace_id = f"batch-{next(numbers)}"
            mark(key.decode(), "in_batch", batch.trace_id)
        return batch

    async def delivered_batch(self: Any, topic: str, partition: int, batch: Any) -> None:
        traced = getattr(batch, "trace_id", None)
        if traced:
            mark(traced, "batch_sent")
        await deliver_batch(self, topic, partition, batch)
        if traced:
            mark(traced, "batch_acked")

    Publisher._append = appended  # type: ignore[method-assign]
    Publisher._deliver = delivered_batch  # type: ignore[method-assign]
    deliver = ReplyHub._deliver

    def delivered(self: Any, channel: bytes, data: bytes) -> None:
        name, _, last = channel.decode().rpartition(":")
        batch = name.endswith("replies")  # post_replies: the first line lists the batch's run ids
        for run_id in orjson.loads(data.split(b"\n", 1)[0]) if batch else [last]:
            mark(run_id, "reply_in")
        deliver(self, channel, data)

    ReplyHub._deliver = delivered  # type: ignore[method-assign]


def trace_worker() -> None:
    from leadstream.streams import os_chain

    process = os_chain.OSStage.process

    async def traced_process(self: Any, records: list[Any]) -> Any:
        ids = [(r.key or b"?").decode() for r in records]  # the run id: every stage record is keyed by it
        for run_id in ids:
            mark(run_id, "stage_in", self._step)
        outcome = await process(self, records)
        for run_id in ids:
            mark(run_id, "stage_done", self._step)
        return outcome

    os_chain.OSStage.process = traced_process  # type: ignore[method-assign]
    acked = lambda self, answers: [mark(run_id, "outputs_acked") for run_id, _ in answers]  # noqa: E731
    _wrap_async(os_chain.EdgeReplies, "post", before=acked)
    replied = lambda client, ns, kind, answers: [mark(run_id, "replied") for run_id, _ in answers]  # noqa: E731
    _wrap_async(os_chain, "post_replies", after=replied)


def trace_collections() -> None:
    """Each garbage collection as ``- gc <start> <seconds> <generation>``: the pauses requests sat in."""
    started = [0.0]

    def timed(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.time()
        else:
            _lines.append(f"- gc {started[0]:.6f} {time.time() - started[0]:.6f} {info['generation']}\n")

    gc.callbacks.append(timed)


def main() -> None:
    role = sys.argv[1]
    trace_collections()
    path = Path(os.environ["BENCH_TRACE_DIR"]) / f"{role}-{os.getpid()}.trace"
    threading.Thread(target=_flusher, args=(path,), daemon=True, name="trace-flusher").start()
    atexit.register(_flush, path)
    trace_edge() if role == "edge" else trace_worker()
    from leadstream.cli import main as leadstream

    sys.argv = ["leadstream", *sys.argv[1:]]
    leadstream()


if __name__ == "__main__":
    main()
