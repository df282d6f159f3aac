"""Kafka adapters: producer settings and topics, the edge's publisher, the uvloop fix, mirrored topics."""
