"""The HTML the dashboard routes answer: the page shell (the bundled script draws the rest), the
login form and the not-found page. Every value put in the HTML is escaped."""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from leadstream.dashboard.assets import ASSETS

# Self only: the bundle and its stylesheet, fetches to this edge; nothing inline, no framing.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    # a share link's token never leaves in a Referer to another site; same-origin keeps Origin on form posts
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def _head(title: str, *, script: bool = False) -> str:
    """The document's head; ``script``: the dashboard's bundle too (not on the login and 404 pages)."""
    css, js = ASSETS.get("dashboard.css"), ASSETS.get("dashboard.js")
    css_v, js_v = (css.etag.strip('"') if css else ""), (js.etag.strip('"') if js else "")
    bundle = f'<script defer src="/dashboard-assets/dashboard.js?v={js_v}"></script>' if script else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · leadstream</title>"
        '<link rel="icon" href="data:,">'  # no /favicon.ico request (its 404 would be a console error)
        f'<link rel="stylesheet" href="/dashboard-assets/dashboard.css?v={css_v}">'
        f"{bundle}</head>"
    )


def dashboard(site: str, *, csrf: str = "", share: str = "") -> str:
    """The page for ``site``: the owner's (with a CSRF token) or a share link's (with its token)."""
    mode = "share" if share else "owner"
    return (
        f'{_head(site, script=True)}<body data-site="{escape(site)}" data-mode="{mode}" '
        f'data-csrf="{escape(csrf)}" data-share="{escape(share)}"><main id="app"></main></body></html>'
    )


def login(site: str, error: str = "") -> str:
    problem = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return (
        f'{_head(site)}<body class="login-page"><main class="login"><h1>{escape(site)}</h1>'
        "<p>Open this site's dashboard with one of its keys (<code>leadstream sites key SITE</code>).</p>"
        f'<form method="post" action="/dashboard/{quote(site, safe="")}/login">'
        '<label>Site key <input type="password" name="key" autocomplete="off" required></label>'
        f'<button type="submit">Open the dashboard</button></form>{problem}</main></body></html>'
    )


def not_found() -> str:
    return (
        f'{_head("not found")}<body class="login-page"><main class="login"><h1>Nothing to show</h1>'
        "<p>This share link is not valid: it was revoked, or never issued.</p></main></body></html>"
    )
