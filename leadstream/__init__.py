"""leadstream: tracking edge -> Kafka -> stream processors -> ClickHouse."""

__version__ = "0.1.0"
