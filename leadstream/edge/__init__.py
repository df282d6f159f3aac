"""The edge's composition: the ASGI app, the resources it holds, HTTP helpers."""
