"""Operability: Prometheus metrics, loop health, consumer lag, structured logs, the status screen.

Kept in one package with thin calls from the edge and the worker loops, so the stream code stays
about streams (docs/operations.md lists every metric).
"""
