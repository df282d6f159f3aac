"""Wire payloads, Kafka records and shared types. Pure: no I/O."""
