"""aiokafka on uvloop: writing to a connection the broker has dropped is a connection error.

On asyncio's own loop a write to a closed socket is dropped quietly and the connection's read
side reports the loss. uvloop raises ``RuntimeError`` ("the handler is closed") instead, which
aiokafka 0.14 does not expect: it handles ``OSError`` there (aio-libs/aiokafka#1038). When the
write is a metadata request, the ``RuntimeError`` ends the client's metadata task, silently and
for good. Every later metadata refresh then waits forever, and a consumer looking for its group
coordinator after a broker restart never finds it: in the Kafka-kill drill the events sink
stopped until the worker was restarted.

``install()`` makes that ``RuntimeError`` the ``KafkaConnectionError`` aiokafka raises for an
``OSError`` on the same write (connection closed as broken, request retried by its caller).
The edge and the worker call it before they connect; both run on uvloop.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from aiokafka.conn import AIOKafkaConnection, CloseReason
from aiokafka.errors import KafkaConnectionError

_MARK = "_leadstream_closed_write_is_connection_error"


def _closed_write_is_connection_error(write: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(write)
    def guarded(self: AIOKafkaConnection, *args: Any, **kwargs: Any) -> Any:
        try:
            return write(self, *args, **kwargs)
        except RuntimeError as exc:
            writer = self._writer
            if writer is None or not writer.transport.is_closing():
                raise  # not the closed-transport case: a real bug, let it show
            self.close(reason=CloseReason.CONNECTION_BROKEN)
            raise KafkaConnectionError(f"Connection at {self.host}:{self.port} broken: {exc}") from exc

    setattr(guarded, _MARK, True)
    return guarded


def install() -> None:
    """Patch aiokafka's request writes (idempotent)."""
    for name in ("send", "_send_sasl_token"):
        write = getattr(AIOKafkaConnection, name)
        if not getattr(write, _MARK, False):
            setattr(AIOKafkaConnection, name, _closed_write_is_connection_error(write))
