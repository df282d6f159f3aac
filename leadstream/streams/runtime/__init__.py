"""The stream runtime every processor runs on: consumer-group membership, changelog tables and
their stores, expiry, batched producers, dead letters, warehouse sinks and the checkpoint."""
