"""Google Ads offline conversions: OpsMantik's Script contract (verify, export, ack, ack-failed),
the queue behind it (kept by the warehouse writer) and the import CSV."""
