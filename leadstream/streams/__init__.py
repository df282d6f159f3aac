"""The worker: its stream processors on the runtime (``runtime/``), in a Faust process shell."""
