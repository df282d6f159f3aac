"""The sales-OS edge (``/api/os/*``): authenticated endpoints over the stream-processor chain."""
