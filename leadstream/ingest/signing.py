"""Optional per-site request signing for ``/api/call-event`` (SPEC §2.2).

``X-Ops-Signature`` = hex HMAC-SHA256 of ``"<X-Ops-Ts>.<raw body>"`` with the site's secret;
the timestamp must be within 300 s in the past and 60 s in the future.
"""

from __future__ import annotations

import hashlib
import hmac

MAX_PAST_S = 300
MAX_FUTURE_S = 60


def sign(secret: str, ts: int | str, body: bytes) -> str:
    return hmac.new(secret.encode(), str(ts).encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_problem(secret: str, ts: str | None, signature: str | None, body: bytes, now: float) -> str | None:
    """None when the request is correctly signed, else what is wrong (for the 401 message)."""
    if not ts or not signature:
        return "Missing X-Ops-Ts or X-Ops-Signature"
    if not ts.isdigit() or len(ts) > 12:
        return "Invalid X-Ops-Ts: expected unix seconds"
    age = now - int(ts)
    if age > MAX_PAST_S or age < -MAX_FUTURE_S:
        return "Invalid X-Ops-Ts: outside the allowed window"
    if not hmac.compare_digest(sign(secret, ts, body), signature.strip().lower()):
        return "Invalid signature"
    return None
