"""Topics whose agents read each record's key and value as the bytes Kafka holds.

The agents parse values themselves (pydantic from bytes). Faust would still pass every key and
value through its serializer registry even for the "raw" codec, a few lookups and calls per
record that showed as 8 % of the worker's event loop on the session scorer's topic.
"""

from __future__ import annotations

from typing import Any

import faust
from faust.types import AppT, Message


class RawSchema(faust.Schema):
    def __init__(self) -> None:
        super().__init__(key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")

    def loads_key(self, app: AppT, message: Message, **_: Any) -> bytes | None:
        return message.key

    def loads_value(self, app: AppT, message: Message, **_: Any) -> bytes | None:
        return message.value


def raw_topic(app: faust.App, *names: str, partitions: int | None = None) -> faust.TopicT:
    return app.topic(*names, partitions=partitions, schema=RawSchema())
