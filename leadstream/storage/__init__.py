"""Warehouse adapter: the one place that talks to ClickHouse (chDB or a server)."""
