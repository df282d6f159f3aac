"""leadstream: tracking edge -> Kafka -> Faust agents -> ClickHouse."""

__version__ = "0.1.0"
