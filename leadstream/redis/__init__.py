"""Redis adapters: request-reply between the edge and the stream processors."""
