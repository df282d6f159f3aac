"""The dashboard's HTML and assets without a stack: values are escaped, nothing is inline, the
bundle is within its size budget and carries no CDN address."""

from __future__ import annotations

import gzip

from leadstream.dashboard import page
from leadstream.dashboard.assets import ASSETS

HOSTILE = '"><script>alert(1)</script>'


def test_values_in_the_html_are_escaped() -> None:
    shell = page.dashboard(HOSTILE, csrf=HOSTILE)
    assert "<script>alert" not in shell and "&quot;&gt;&lt;script&gt;" in shell
    form = page.login(HOSTILE, error=HOSTILE)
    assert "<script>alert" not in form
    assert 'action="/dashboard/%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E/login"' in form


def test_the_share_page_carries_no_csrf_token_and_the_owner_page_no_share_token() -> None:
    assert 'data-mode="share" data-csrf="" data-share="tok"' in page.dashboard("shop", share="tok")
    assert 'data-mode="owner" data-csrf="c" data-share=""' in page.dashboard("shop", csrf="c")


def test_only_the_dashboard_loads_the_script() -> None:
    assert "dashboard.js" in page.dashboard("shop", csrf="c") and "dashboard.js" in page.dashboard("shop", share="t")
    assert "dashboard.js" not in page.login("shop") and "dashboard.js" not in page.not_found()


def test_nothing_is_inline_and_the_policy_is_self_only() -> None:
    for html in (page.dashboard("shop", csrf="c"), page.login("shop"), page.not_found()):
        assert "<script>" not in html and "<style" not in html and " style=" not in html and "onclick" not in html
    assert "default-src 'none'" in page.CSP and "'unsafe-inline'" not in page.CSP and "http" not in page.CSP


def test_the_bundle_is_built_within_budget_and_without_a_cdn() -> None:
    assert set(ASSETS) == {"dashboard.js", "dashboard.css"}
    assert sum(len(gzip.compress(a.body, 9)) for a in ASSETS.values()) <= 100 * 1024
    for asset in ASSETS.values():
        assert gzip.decompress(asset.gzipped) == asset.body
        assert b"cdn." not in asset.body and b"//unpkg" not in asset.body and b"jsdelivr" not in asset.body
