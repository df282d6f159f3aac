"""Optional per-site request signing for ``/api/call-event``.

``X-Ops-Signature`` = hex HMAC-SHA256 of ``"<X-Ops-Ts>.<raw body>"`` with the site's secret;
the timestamp must be within 300 s in the past and 60 s in the future. Both headers are checked
for their exact form (ASCII digits; 64 hex digits) before any arithmetic or comparison, so no
header value can do more than fail the check.
"""

from __future__ import annotations

import hashlib
import hmac
import re

MAX_PAST_S = 300
MAX_FUTURE_S = 60
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")  # ASCII only: str.isdigit() also takes '²' and '٣'
_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


def sign(secret: str, ts: int | str, body: bytes) -> str:
    return hmac.new(secret.encode(), str(ts).encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_problem(secret: str, ts: str | None, signature: str | None, body: bytes, now: float) -> str | None:
    """None when the request is correctly signed, else what is wrong (for the 401 message)."""
    if not ts or not signature:
        return "Missing X-Ops-Ts or X-Ops-Signature"
    if not _UNIX_SECONDS.fullmatch(ts):
        return "Invalid X-Ops-Ts: expected unix seconds"
    age = now - int(ts)
    if age > MAX_PAST_S or age < -MAX_FUTURE_S:
        return "Invalid X-Ops-Ts: outside the allowed window"
    if not _HEX_SHA256.fullmatch(signature):
        return "Invalid X-Ops-Signature: expected 64 hex digits"
    if not hmac.compare_digest(sign(secret, ts, body).encode(), signature.lower().encode()):
        return "Invalid signature"
    return None
