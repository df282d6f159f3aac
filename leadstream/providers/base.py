"""What every discovery connector shares: the query it is given, what it returns, and one HTTP call
with bounded retries that turns every failure into a :class:`ProviderError` with a readable reason."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr
from tenacity import AsyncRetrying

from leadstream_client.client import NETWORK_ERRORS, Backoff, Outcome, retrying_kwargs

# Short waits: a connector's whole call, retries included, must fit its budget (``provider_timeout_s``).
BACKOFF = Backoff(base_s=0.2, max_s=1.0, jitter_s=0.2, retry_after_cap_s=1.0)
# Place names the providers' location filters understand, per region code.
REGION_NAMES = {"UAE": "United Arab Emirates"}
MAX_TEXT = 512


def env_var(setting: str) -> str:
    """The environment variable of a setting: ``apollo_api_key`` -> ``LEADSTREAM_APOLLO_API_KEY``."""
    return f"LEADSTREAM_{setting.upper()}"


def secret_value(secret: SecretStr | None) -> str:
    """A credential setting's value for a request header ('' when unset)."""
    return secret.get_secret_value() if secret is not None else ""


class ProviderError(Exception):
    """The provider could not be asked or did not answer usefully; ``str()`` is the reason shown to the caller."""


@dataclass(frozen=True, slots=True)
class ProviderQuery:
    """What discovery asks a provider for: the request's plain filters, its limit and the active region;
    and for whom (the tenant: each tenant's calls to a provider have a circuit breaker of their own)."""

    filters: Mapping[str, str | int | float] = field(default_factory=dict)
    limit: int = 100
    region: str = "UAE"
    tenant: str = ""

    def text(self, *names: str) -> str | None:
        """The first of the named filters that has a value, as text."""
        values = [str(self.filters[n]).strip() for n in names if str(self.filters.get(n) or "").strip()]
        return values[0] if values else None

    @property
    def place(self) -> str:
        """Where to look: ``filters.location``, else the region's name."""
        return self.text("location") or REGION_NAMES.get(self.region, self.region)


@dataclass(slots=True)
class ProviderResult:
    """Companies in the shape of the tenant's own (plus ``source``), and signals about them."""

    companies: list[dict[str, Any]] = field(default_factory=list)
    signals: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[dict[str, Any]]]:
        return {"companies": self.companies, "signals": self.signals}


def retryable(outcome: Outcome) -> bool:
    """Network errors and timeouts, 429 and every 5xx: the provider may answer next time."""
    if isinstance(outcome, httpx.Response):
        return outcome.status_code == 429 or outcome.status_code >= 500
    return True


async def fetch_json(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    retries: int,
    credential: str,
    backoff: Backoff = BACKOFF,
    **request: Any,
) -> Any:
    """``method url`` with up to ``retries`` retries; the decoded JSON body of a 2xx answer.

    Raises :class:`ProviderError` naming the URL (never the query string or headers: no secrets in
    reasons) for a refused call (``credential`` names the setting to check on 401/403), retries
    exhausted, an unreachable host, or a body that is not JSON.
    """

    async def attempt() -> Outcome:
        try:
            return await http.request(method, url, **request)
        except NETWORK_ERRORS as exc:
            return exc

    retrying = AsyncRetrying(**retrying_kwargs(retries, backoff, retryable))
    outcome = await retrying(attempt)
    attempts = retrying.statistics.get("attempt_number", 1)
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    if isinstance(outcome, httpx.TimeoutException):
        raise ProviderError(f"timeout from {url}{tries}")
    if isinstance(outcome, Exception):
        raise ProviderError(f"cannot reach {url}: {type(outcome).__name__}{tries}")
    if not outcome.is_success:
        hint = f" (check {credential})" if outcome.status_code in (401, 403) else ""
        raise ProviderError(f"HTTP {outcome.status_code} from {url}{hint}{tries}")
    try:
        return outcome.json()
    except ValueError as exc:
        raise ProviderError(f"invalid JSON from {url}") from exc


# --- mapping helpers (pure) --------------------------------------------------------------------------


def text(item: Mapping[str, Any], *keys: str) -> str | None:
    """The first of ``keys`` holding non-blank text (or a number), trimmed to :data:`MAX_TEXT` characters."""
    for key in keys:
        value = item.get(key)
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int | float | str) and str(value).strip():
            return str(value).strip()[:MAX_TEXT]
    return None


def place(*parts: object) -> str | None:
    """``"Dubai, United Arab Emirates"`` from the non-blank parts, each once."""
    names = [str(p).strip() for p in parts if isinstance(p, str) and p.strip()]
    return ", ".join(dict.fromkeys(names))[:MAX_TEXT] or None


def company(
    source: str,
    provider_id: str,
    *,
    name: str | None,
    domain: str | None,
    industry: str | None,
    size: str | None,
    linkedin_url: str | None,
    location: str | None,
) -> dict[str, Any]:
    """A discovered company, its id namespaced by the provider so it never collides with a tenant's id."""
    return {
        "company_id": f"{source}:{provider_id}",
        "name": name or "",
        "domain": domain,
        "industry": industry,
        "size": size,
        "linkedin_url": linkedin_url,
        "location": location,
        "source": source,
    }


def items(payload: Any, *keys: str) -> list[Mapping[str, Any]]:
    """The objects in the lists under ``keys``, in that order (or in ``payload`` itself when it is a list).

    Raises :class:`ProviderError` when there is no such list: the provider answered something else.
    """
    if isinstance(payload, list):
        lists = [payload]
    else:
        lists = [payload[k] for k in keys if isinstance(payload.get(k), list)] if isinstance(payload, Mapping) else []
    if not lists:
        raise ProviderError(f"unexpected response: no list under {' or '.join(repr(k) for k in keys)}")
    return [i for found in lists for i in found if isinstance(i, Mapping)]
