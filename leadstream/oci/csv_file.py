"""Google Ads' offline-conversion import file: a ``Parameters:TimeZone`` line (the site's zone),
then one row per conversion with a single click id (GCLID, else WBRAID, else GBRAID), the
conversion name, its time in that zone, value and currency. Order IDs are stable, so a file
uploaded twice (or uploaded and also pulled by the Script) counts each conversion once."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

COLUMNS = (
    "Order ID",
    "Google Click ID",
    "WBRAID",
    "GBRAID",
    "Conversion Name",
    "Conversion Time",
    "Conversion Value",
    "Conversion Currency",
)


def one_click_id(item: dict[str, Any]) -> tuple[str, str, str]:
    for i, name in enumerate(("gclid", "wbraid", "gbraid")):
        if item.get(name):
            ids = ["", "", ""]
            ids[i] = item[name]
            return ids[0], ids[1], ids[2]
    return "", "", ""


def import_file(items: Iterable[dict[str, Any]], timezone: str) -> str:
    """``items`` as the worker's pending answer has them (``conversionTimeUtc`` an ISO string)."""
    zone = ZoneInfo(timezone)
    out = io.StringIO()
    out.write(f"Parameters:TimeZone={timezone}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for item in items:
        at = datetime.fromisoformat(str(item["conversionTimeUtc"])).astimezone(zone)
        writer.writerow(
            [
                item["orderId"],
                *one_click_id(item),
                item["conversionName"],
                at.strftime("%Y-%m-%d %H:%M:%S"),
                f"{float(item['conversionValue']):.2f}",
                item["conversionCurrency"],
            ]
        )
    return out.getvalue()
