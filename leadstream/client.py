"""Backward-compatible name of the SaaS client: the code lives in the ``leadstream-client``
distribution (``clients/python``, package ``leadstream_client``), which installs without the server."""

from leadstream_client import *  # noqa: F403
from leadstream_client import __all__  # noqa: F401
from leadstream_client.client import NETWORK_ERRORS, Outcome, retrying_kwargs  # noqa: F401
