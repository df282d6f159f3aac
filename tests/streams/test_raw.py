"""Raw topics hand the agents the record's bytes untouched."""

import faust
from faust.types import Message

from leadstream.streams.raw import RawSchema, raw_topic


def message(key: bytes | None, value: bytes | None) -> Message:
    return Message("t", 0, 7, 0.0, 0, [], key, value, None)


def test_keys_and_values_are_the_records_bytes() -> None:
    schema = RawSchema()
    app = faust.App("raw-test")
    assert schema.loads_key(app, message(b"k", b"{}")) == b"k"
    assert schema.loads_value(app, message(b"k", b'{"a": 1}')) == b'{"a": 1}'
    assert schema.loads_key(app, message(None, b"v")) is None


def test_raw_topics_name_their_topics_and_partitions() -> None:
    app = faust.App("raw-test")
    topic = raw_topic(app, "a", "b", partitions=3)
    assert list(topic.topics) == ["a", "b"] and topic.partitions == 3
    assert isinstance(topic.schema, RawSchema)
