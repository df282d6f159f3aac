"""A test client that behaves as OpsMantik's Google Ads Script does (``reference/opsmantik-oci.md``):
verify, export pages in sync mode with the drain headers and the cursor, check each row as the
Script's CSV step does, "upload" the good rows (to ``GoogleAds``, which keeps one conversion per
order id, as Google Ads does), ack them (signed), and ack-failed the rest one by one.

Retries as the Script's: 5 attempts with waits of 1.5/3/6/12 s (+0-0.5 s), scaled by ``pace``
for tests; a 4xx or network error raises ``HTTP <code>: <body>``, 429/5xx wait 24 s more and
raise ``Max retries``; a final 401 on export/ack/ack-failed re-verifies once and retries.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

TIME = re.compile(r"^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)([+-]\d{2}):?(\d{2})$")
COMPACT_TIME = re.compile(r"^\d{8} \d{6}$")
COLUMNS = (
    "Order ID",
    "Google Click ID",
    "WBRAID",
    "GBRAID",
    "Conversion name",
    "Conversion time",
    "Conversion value",
    "Conversion currency",
    "Hashed Phone Number",
)


class ScriptError(RuntimeError):
    pass


@dataclass
class GoogleAds:
    """What Google Ads keeps: one conversion per order id (a re-upload is deduplicated)."""

    rows: dict[str, dict[str, str]] = field(default_factory=dict)
    uploads: list[dict[str, str]] = field(default_factory=list)
    fail_next_apply: bool = False

    def apply(self, rows: list[dict[str, str]]) -> None:
        if self.fail_next_apply:
            self.fail_next_apply = False
            raise RuntimeError("upload failed")
        for row in rows:
            self.uploads.append(row)
            self.rows.setdefault(row["Order ID"], row)


@dataclass
class RunReport:
    exported: int = 0
    uploaded: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (id, error code)
    acked: dict[str, Any] | None = None
    pages: int = 0


class ScriptClient:
    def __init__(self, base_url: str, site_id: str, key: str, *, pace: float = 0.01, limit: int = 50) -> None:
        self.base_url = base_url.rstrip("/")
        self.site_id = site_id
        self.key = key
        self.pace = pace
        self.limit = limit
        self.token: str | None = None
        self.http = httpx.Client(timeout=30)

    # --- transport, with the Script's retries -------------------------------------------------
    def _request(self, method: str, path: str, *, body: bytes | None = None, headers: dict[str, str]) -> Any:
        url = self.base_url + path
        waits = (1.5, 3, 6, 12)
        for attempt in range(5):
            try:
                response = self.http.request(method, url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                raise ScriptError(f"HTTP 0: {exc}") from None
            if response.status_code < 300:
                return response.json()
            if response.status_code == 429 or response.status_code >= 500:
                if attempt < 4:
                    time.sleep((waits[attempt] + random.uniform(0, 0.5)) * self.pace)
                    continue
                time.sleep(24 * self.pace)
                raise ScriptError(f"Max retries: {url}")
            raise ScriptError(f"HTTP {response.status_code}: {response.text[:300]}")
        raise ScriptError(f"Max retries: {url}")

    def _authed(self, method: str, path: str, body: bytes | None = None, extra: dict[str, str] | None = None) -> Any:
        """With the session token; a 401 re-verifies once and retries (with a new signature)."""
        for again in (False, True):
            headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json", **(extra or {})}
            if body is not None:
                headers["Content-Type"] = "application/json"
                headers["x-oci-signature"] = hmac.new(self.key.encode(), body, hashlib.sha256).hexdigest()
            try:
                return self._request(method, path, body=body, headers=headers)
            except ScriptError as exc:
                if again or not str(exc).startswith("HTTP 401"):
                    raise
                self.verify()
        raise AssertionError("unreachable")

    # --- the Script's calls -------------------------------------------------------------------------
    def verify(self) -> str:
        body = json.dumps({"siteId": self.site_id}).encode()
        answer = self._request(
            "POST",
            "/api/oci/v2/verify",
            body=body,
            headers={"x-api-key": self.key, "Content-Type": "application/json"},
        )
        if not answer.get("session_token"):
            raise ScriptError("no session_token")
        self.token = answer["session_token"]
        return self.token

    def export_page(self, cursor: str | None, sync: bool = True) -> dict[str, Any]:
        query = {"siteId": self.site_id, "markAsExported": "true" if sync else "false", "providerKey": "google_ads"}
        query["limit"] = str(self.limit)
        if cursor:
            query["cursor"] = cursor
        drain = {
            "x-opsmantik-drain-approval": "I_APPROVE_SCRIPT_DRAIN",
            "x-opsmantik-drain-site-id": self.site_id,
            "x-opsmantik-drain-max-batch-size": str(self.limit),
            "x-opsmantik-drain-include-braids": "true",
            "Cache-Control": "no-store",
        }
        try:
            return self._authed("GET", "/api/oci/google-ads-export?" + urlencode(query), extra=drain if sync else None)
        except ScriptError as exc:
            if "QUEUE_CLAIM_MISMATCH" in str(exc):
                return {"data": [], "meta": {"hasNextPage": False}}
            raise

    def export_all(self) -> tuple[list[dict[str, Any]], str | None, int]:
        items: list[dict[str, Any]] = []
        cursor, run_id, pages = None, None, 0
        while True:
            page = self.export_page(cursor)
            pages += 1
            got = page if isinstance(page, list) else page.get("data") or page.get("items") or []
            items += got
            run_id = page.get("export_run_id", run_id) if isinstance(page, dict) else run_id
            meta = page.get("meta") or {} if isinstance(page, dict) else {}
            cursor = meta.get("nextCursor") or page.get("next_cursor")
            if not (meta.get("hasNextPage") is True or page.get("next_cursor")) or not cursor:
                return items, run_id, pages

    def ack(self, ids: list[str], run_id: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "siteId": self.site_id,
            "queueIds": ids,
            "pendingConfirmation": True,
            "providerConfirmationMode": "bulk_upload_async_unconfirmed",
        }
        if run_id:
            body.update(exportRunId=run_id, export_run_id=run_id)
        return self._authed("POST", "/api/oci/ack", json.dumps(body).encode())

    def ack_failed(self, ids: list[str], code: str, message: str, category: str, run_id: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "siteId": self.site_id,
            "queueIds": ids,
            "errorCode": code,
            "errorMessage": message,
            "errorCategory": category,
        }
        if run_id:
            body.update(exportRunId=run_id, export_run_id=run_id)
        return self._authed("POST", "/api/oci/ack-failed", json.dumps(body).encode())

    # --- one run, as the Script makes it ----------------------------------------------------------
    def run(self, ads: GoogleAds, *, skip_ack: bool = False) -> RunReport:
        report = RunReport()
        self.verify()
        items, run_id, report.pages = self.export_all()
        report.exported = len(items)
        rows, good_ids = [], []
        for item in items:
            row, problem = csv_row(item)
            if problem:
                self.ack_failed([item["id"]], problem, problem, "VALIDATION", run_id)
                report.failed.append((item["id"], problem))
                continue
            rows.append(row)
            good_ids.append(item["id"])
        if not rows:
            return report
        try:
            ads.apply(rows)
        except Exception as exc:
            self.ack_failed(good_ids, "UPLOAD_EXCEPTION", str(exc), "TRANSIENT", run_id)
            report.failed += [(i, "UPLOAD_EXCEPTION") for i in good_ids]
            return report
        report.uploaded = len(rows)
        if not skip_ack:
            report.acked = self.ack(good_ids, run_id)
        return report


def csv_row(item: dict[str, Any]) -> tuple[dict[str, str], str | None]:
    """The Script's row for an item, or why it is refused (VALIDATION)."""
    gclid, wbraid, gbraid = (str(item.get(k) or "") for k in ("gclid", "wbraid", "gbraid"))
    if gclid:
        wbraid = gbraid = ""
    elif wbraid:
        gbraid = ""
    if not (gclid or wbraid or gbraid):
        return {}, "MISSING_CLICK_ID"
    when = str(item.get("conversionTime") or "")
    match = TIME.match(when)
    if match:
        when = f"{when[:19]}{match.group(7)}{match.group(8)}"
    elif not COMPACT_TIME.match(when):
        return {}, "INVALID_TIME"
    order_id = str(item.get("orderId") or "")[:64]
    if not order_id:
        return {}, "MISSING_ORDER_ID"
    try:
        value = float(str(item.get("conversionValue", 0)).replace(",", "."))
    except ValueError:
        value = 0.0
    value = value if value > 0 else 0.0
    row = {
        "Order ID": order_id,
        "Google Click ID": gclid,
        "WBRAID": wbraid,
        "GBRAID": gbraid,
        "Conversion name": str(item.get("conversionName") or "OpsMantik_Won"),
        "Conversion time": when,
        "Conversion value": str(value),
        "Conversion currency": str(item.get("conversionCurrency") or "TRY").upper(),
        "Hashed Phone Number": str(item.get("hashedPhoneNumber") or ""),
    }
    return row, None
