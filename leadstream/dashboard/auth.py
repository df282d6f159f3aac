"""The dashboard's credentials for the Stats and leads APIs, besides a site key.

The page calls those APIs same-origin with either the owner's session cookie or a share link's
token (``X-Share-Token``). A session reaches its own site's Stats and leads APIs; on an unsafe
method it must also send its CSRF token in ``X-CSRF-Token``. A share token reaches only the
Stats API's read routes of its own site, never the leads (phone numbers, click ids).
"""

from __future__ import annotations

import hmac

from starlette.requests import Request

from leadstream.dashboard import tokens

COOKIE = "ls_dash"
SHARE_HEADER = "x-share-token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def owner_session(request: Request) -> tuple[str, tokens.Session] | None:
    """The request's live session (cookie token, session) whose site is active and whose key is
    not revoked, else None."""
    token = request.cookies.get(COOKIE, "")
    if not token:
        return None
    edge = request.app.state.edge
    try:
        session = await tokens.session_of(edge.redis, edge.settings, token)
    except Exception:  # Redis down: no session, the caller answers 401
        return None
    if session is None or edge.sites.get(session.site) is None:
        return None
    keys = edge.site_keys.of_site(session.site)
    if not any(k.prefix == session.key_prefix and not k.revoked for k in keys):
        return None
    return token, session


def csrf_ok(request: Request, session: tokens.Session) -> bool:
    if request.method in SAFE_METHODS:
        return True
    sent = request.headers.get(CSRF_HEADER, "")
    return bool(sent) and hmac.compare_digest(sent.encode(), session.csrf.encode())


async def dashboard_site(request: Request, *, share_ok: bool) -> str | None:
    """The site this request's dashboard credentials reach, else None (the caller answers 401).

    ``share_ok``: the route is a Stats API read a share link may make."""
    share = request.headers.get(SHARE_HEADER, "").strip()
    if not share:  # the explicit share token wins over an owner's cookie the browser also sends
        found = await owner_session(request)
        if found is None or not csrf_ok(request, found[1]):
            return None
        return found[1].site
    if not share_ok:
        return None
    edge = request.app.state.edge
    try:
        site = await tokens.shared_site(edge.redis, edge.settings, share)
    except Exception:
        return None
    return site if site is not None and edge.sites.get(site) is not None else None
