"""The dashboard's routes on the edge.

| route | answers |
|---|---|
| ``GET /dashboard/{site}`` | the owner's dashboard with a live session of that site, else the login form |
| ``POST /dashboard/{site}/login`` | a form with ``key`` (a site key): sets the session cookie, 303 to the page |
| ``POST /dashboard/{site}/logout`` | ends the session (needs ``X-CSRF-Token``) |
| ``GET /share/{token}`` | the shared site's read-only dashboard, or 404 once revoked |
| ``GET /dashboard-assets/{name}`` | the bundled script and stylesheet (ETag, 304, gzip) |
"""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from leadstream.dashboard import page, tokens
from leadstream.dashboard.assets import ASSETS
from leadstream.dashboard.auth import COOKIE, csrf_ok, owner_session
from leadstream.edge.http import JSONResponse

MAX_FORM = 4096
router = APIRouter(include_in_schema=False)


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=page.HEADERS)


def _https(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "") == "https"


def _same_origin(request: Request) -> bool:
    """A form post from another site's page is refused (login CSRF); browsers send Origin on POSTs."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


@router.get("/dashboard-assets/{name}")
async def asset(request: Request, name: str) -> Response:
    found = ASSETS.get(name)
    if found is None:
        return Response("not found", status_code=404, media_type="text/plain")
    headers = {"ETag": found.etag, "Cache-Control": "public, max-age=300", "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == found.etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(found.gzipped, media_type=found.content_type, headers={**headers, "Content-Encoding": "gzip"})
    return Response(found.body, media_type=found.content_type, headers=headers)


@router.get("/dashboard/{site}")
async def dashboard(request: Request, site: str) -> HTMLResponse:
    found = await owner_session(request)
    if found is not None and found[1].site == site:
        return _html(page.dashboard(site, csrf=found[1].csrf))
    return _html(page.login(site))


@router.post("/dashboard/{site}/login")
async def login(request: Request, site: str) -> Response:
    if not _same_origin(request):
        return _html(page.login(site, "This form must be sent from this dashboard's own page."), 403)
    raw = await request.body()
    if len(raw) > MAX_FORM:
        return _html(page.login(site, "The form is too large."), 413)
    key = (parse_qs(raw.decode("utf-8", "replace")).get("key") or [""])[0].strip()
    edge = request.app.state.edge
    record = edge.site_keys.record_for(key) if key else None
    if record is None or record.site_id != site or edge.sites.get(site) is None:
        return _html(page.login(site, "That is not a live key of this site."), 401)
    try:
        token, _ = await tokens.open_session(edge.redis, edge.settings, site, record.prefix)
    except Exception:
        return _html(page.login(site, "Sessions cannot be opened now (Redis does not answer); retry."), 503)
    response = Response(status_code=303, headers={"Location": f"/dashboard/{quote(site, safe='')}"})
    response.set_cookie(
        COOKIE,
        token,
        max_age=tokens.SESSION_TTL_S,
        path="/",
        httponly=True,
        samesite="strict",
        secure=_https(request),
    )
    return response


@router.post("/dashboard/{site}/logout")
async def logout(request: Request, site: str) -> Response:
    found = await owner_session(request)
    if found is None or found[1].site != site or not csrf_ok(request, found[1]):
        return JSONResponse({"error": "no session of this site, or no valid X-CSRF-Token"}, status_code=403)
    edge = request.app.state.edge
    await tokens.close_session(edge.redis, edge.settings, found[0])
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=_https(request))
    return response


@router.get("/share/{token}")
async def shared(request: Request, token: str) -> HTMLResponse:
    edge = request.app.state.edge
    try:
        site = await tokens.shared_site(edge.redis, edge.settings, token)
    except Exception:
        site = None
    if site is None or edge.sites.get(site) is None:
        return _html(page.not_found(), 404)
    return _html(page.dashboard(site, share=token))


def install(api: FastAPI) -> None:
    api.include_router(router)
