"""Logging: plain text, or (``LEADSTREAM_LOG_FORMAT=json``) one JSON object per line.

Context rides in context variables, set where the work starts: the edge's request id (per
request), the sales-OS run id (per stage and run), the worker's consumer group (per loop task) and
partition (per record in hand). A record's ``extra`` of the same names wins over them.
"""

from __future__ import annotations

import contextvars
import itertools
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
RUN_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("run_id", default=None)
GROUP: contextvars.ContextVar[str | None] = contextvars.ContextVar("group", default=None)
PARTITION: contextvars.ContextVar[int | None] = contextvars.ContextVar("partition", default=None)
CONTEXT = {"request_id": REQUEST_ID, "run_id": RUN_ID, "group": GROUP, "partition": PARTITION}
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_prefix = os.urandom(4).hex()
_counter = itertools.count(1)


def new_request_id(scope: dict[str, Any] | None = None) -> str:
    """A request id unique across the edge's processes (random per process, then a counter):
    cheaper than a UUID per request. Kept in the context and in the ASGI scope."""
    rid = f"{_prefix}-{next(_counter):x}"
    REQUEST_ID.set(rid)
    if scope is not None:
        scope["request_id"] = rid
    return rid


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "msg", ...context, "exc"}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name, var in CONTEXT.items():
            value = getattr(record, name, None)
            if value is None:
                value = var.get()
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc"] = record.exc_text
        return orjson.dumps(entry, default=str).decode()


def formatter(fmt: str) -> logging.Formatter:
    return JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT)


def configure(fmt: str, level: str = "info") -> None:
    """The root logger for a CLI process: one stream handler on stderr in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def reformat(fmt: str) -> None:
    """Give every handler already installed (by Faust, by uvicorn) the chosen format."""
    if fmt != "json":
        return
    loggers = [
        logging.getLogger(),
        *(lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)),
    ]
    for logger in loggers:
        for handler in logger.handlers:
            handler.setFormatter(JsonFormatter())


def uvicorn_log_config(fmt: str) -> dict[str, Any]:
    """uvicorn's logging in the chosen format (applied in each of its worker processes)."""
    fmt_config: dict[str, Any] = (
        {"()": "leadstream.observability.logs.JsonFormatter"} if fmt == "json" else {"format": TEXT_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": fmt_config},
        "handlers": {
            "default": {"class": "logging.StreamHandler", "formatter": "default", "stream": "ext://sys.stderr"}
        },
        "root": {"handlers": ["default"], "level": "INFO"},
        "loggers": {
            "uvicorn": {"handlers": [], "level": "INFO", "propagate": True},
            "uvicorn.error": {"handlers": [], "level": "INFO", "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": True},
        },
    }
