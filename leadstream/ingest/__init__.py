"""The tracking edge: ``/api/sync`` and ``/api/call-event``. Validates and publishes; no warehouse."""
