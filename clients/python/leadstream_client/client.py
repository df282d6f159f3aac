"""Python client for the leadstream Sales OS API (SPEC §5.4; contract VS9).

Async :class:`OSClient`, sync :class:`SyncOSClient`.

Both have the same methods and share every rule below; they differ only in the httpx client and the sleep.

* Headers: ``x-pr-os-token``, ``x-tenant-id``, ``X-Client`` and, when set, ``Authorization: Bearer`` and
  ``x-user-id``; ``x-request-id`` is generated per call unless given, and kept across that call's retries
  so the edge can tell a retry from a new request.
* Timeouts and retries per endpoint (:data:`CLIENT_POLICIES`; overridable). The timeout is per attempt
  and, as httpx does, per phase (connect, read, write, pool).
* Retries (tenacity) with exponential backoff and jitter, only on network errors and timeouts and on
  HTTP 429, 502, 503, 504. A ``Retry-After`` on 429/503 is waited as asked when it is at most
  ``Backoff.retry_after_cap_s``; a longer one ends the retries at once, as retrying earlier than asked
  would only be refused again.
* A circuit breaker per endpoint (:mod:`leadstream_client.breaker`) records one outcome per call, after
  its retries.
* Fallback: when the breaker is open, when retries are exhausted, or on a 5xx (500 is not retried, but it
  is the server's failure) or an unreadable 2xx body, discovery, discovery_v2, score, outreach, pipeline,
  ``get_pipeline``, intelligence_session, intelligence_feedback and deal_evaluation return the contract's
  fallback body (:func:`fallback_body`) and never raise.
* Any other 4xx (and 3xx) raises :class:`OSClientError` with the status, ``error`` and ``error_code``:
  auth, validation and not-found errors are the caller's bugs, which a fallback would hide (the reference
  SaaS turned a bad token into ``success: true, fallback: true``). They do not count as breaker
  failures: the endpoint answered.
* ``health()``, ``version()``, ``diag()``, ``rank()`` and ``enrich()`` have no breaker and no fallback (a
  made-up health answer would defeat its purpose; the SaaS has none for rank and enrich): when the OS cannot
  be reached they raise :class:`OSUnavailableError`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from tenacity import AsyncRetrying, RetryCallState, Retrying, retry_if_result, stop_after_attempt
from tenacity import wait_exponential_jitter as _wait_exponential_jitter

from leadstream_client.breaker import BREAKER_POLICIES, BreakerPolicy, CircuitBreaker
from leadstream_client.fallbacks import fallback_body

__all__ = [
    "CLIENT_POLICIES",
    "RETRYABLE_STATUSES",
    "Backoff",
    "OSClient",
    "OSClientError",
    "OSUnavailableError",
    "SyncOSClient",
    "fallback_body",
    "parse_retry_after",
]

log = logging.getLogger(__name__)

DEFAULT_CLIENT_NAME = "premiumradar-saas"
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
RETRY_AFTER_STATUSES = frozenset({429, 503})
# Transport failures worth retrying; the rest (bad URL, unsupported scheme) are the caller's bugs and propagate.
NETWORK_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)

# The breakers' endpoints plus the calls the contract's table does not list. ``pipeline_status`` (GET
# /pipeline/{id}) has its own breaker, so a slow chain does not hide finished runs; health and version
# have no breaker, so only their retries and timeout are used.
CLIENT_POLICIES: dict[str, BreakerPolicy] = {
    **BREAKER_POLICIES,
    "pipeline_status": BreakerPolicy(failure_threshold=5, reset_timeout_s=30.0, retries=2, request_timeout_s=10.0),
    "health": BreakerPolicy(failure_threshold=5, reset_timeout_s=30.0, retries=1, request_timeout_s=5.0),
    "version": BreakerPolicy(failure_threshold=5, reset_timeout_s=30.0, retries=1, request_timeout_s=5.0),
    # No breaker or fallback for these (as the SaaS ships them): rank is computed at the edge, diag reports.
    "rank": BreakerPolicy(failure_threshold=5, reset_timeout_s=30.0, retries=0, request_timeout_s=10.0),
    "diag": BreakerPolicy(failure_threshold=5, reset_timeout_s=30.0, retries=0, request_timeout_s=10.0),
}

Outcome = httpx.Response | httpx.TransportError
R = TypeVar("R")


# --- errors ----------------------------------------------------------------------------------------


class OSClientError(Exception):
    """The OS refused the call (4xx other than 429): ``status``, ``error`` and ``error_code`` from its body."""

    def __init__(
        self,
        status: int | None,
        error: str,
        error_code: str | None = None,
        *,
        endpoint: str | None = None,
        request_id: str | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> None:
        self.status = status
        self.error = error
        self.error_code = error_code
        self.endpoint = endpoint
        self.request_id = request_id
        self.body = body
        code = f" {error_code}" if error_code else ""
        super().__init__(f"OS {endpoint or 'call'} failed: HTTP {status}{code}: {error}")

    @classmethod
    def from_response(cls, response: httpx.Response, endpoint: str, request_id: str) -> OSClientError:
        body = _json_object(response)
        if body is None:
            error, code = (response.text[:200] or response.reason_phrase), None
        else:
            error = body.get("error") or body.get("message") or response.reason_phrase
            code = body.get("error_code") or body.get("code")
        return cls(
            response.status_code,
            str(error),
            str(code) if code is not None else None,
            endpoint=endpoint,
            request_id=request_id,
            body=body,
        )


class OSUnavailableError(OSClientError):
    """``health()`` / ``version()`` could not get an answer: network error or 5xx after the retries."""


# --- retries ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Backoff:
    """Retry delays: ``base_s * 2**(n-1) + uniform(0, jitter_s)`` capped at ``max_s`` (the reference's
    1 s base, 1 s jitter, 10 s cap); a server's Retry-After is followed up to ``retry_after_cap_s``."""

    base_s: float = 1.0
    max_s: float = 10.0
    jitter_s: float = 1.0
    retry_after_cap_s: float = 10.0


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP-date); None if absent or unreadable."""
    if not value or not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def is_retryable(outcome: Outcome) -> bool:
    if isinstance(outcome, httpx.Response):
        return outcome.status_code in RETRYABLE_STATUSES
    return True  # only NETWORK_ERRORS are returned as outcomes


def _asked_delay(outcome: Outcome) -> float | None:
    if isinstance(outcome, httpx.Response) and outcome.status_code in RETRY_AFTER_STATUSES:
        return parse_retry_after(outcome.headers.get("retry-after"), datetime.now(UTC))
    return None


class _RetryPlan:
    """tenacity's stop and wait for one call: backoff with jitter, or the server's Retry-After."""

    def __init__(self, retries: int, backoff: Backoff) -> None:
        self._attempts = stop_after_attempt(retries + 1)
        self._backoff = _wait_exponential_jitter(multiplier=backoff.base_s, max=backoff.max_s, jitter=backoff.jitter_s)
        self._cap = backoff.retry_after_cap_s

    def stop(self, state: RetryCallState) -> bool:
        asked = _asked_delay(_outcome_of(state))
        return self._attempts(state) or (asked is not None and asked > self._cap)

    def wait(self, state: RetryCallState) -> float:
        asked = _asked_delay(_outcome_of(state))
        return self._backoff(state) if asked is None else asked


def _outcome_of(state: RetryCallState) -> Outcome:
    assert state.outcome is not None  # tenacity sets it before stop, wait and the error callback
    return state.outcome.result()


def retrying_kwargs(
    retries: int, backoff: Backoff, retryable: Callable[[Outcome], bool] = is_retryable
) -> dict[str, Any]:
    """tenacity arguments for calls whose attempts return their outcome (a response, or a caught
    :data:`NETWORK_ERRORS` error) instead of raising: ``retryable`` outcomes are tried again up to
    ``retries`` times, and exhaustion returns the last outcome. Also used by the discovery connectors."""
    plan = _RetryPlan(retries, backoff)
    return {
        "retry": retry_if_result(retryable),
        "stop": plan.stop,
        "wait": plan.wait,
        "retry_error_callback": _outcome_of,
    }


# --- request bodies --------------------------------------------------------------------------------


def _compact(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {k: dict(v) if isinstance(v, Mapping) else v for k, v in fields.items() if v is not None}


def _discovery_request(tenant_id: str, region_code: str, vertical_id: str, config: Mapping[str, Any]) -> dict:
    body: dict[str, Any] = {"tenant_id": tenant_id, "region_code": region_code, "vertical_id": vertical_id}
    config = _compact(config)
    if config:
        body["config"] = config
    return body


def _pipeline_request(
    tenant_id: str, region_code: str, vertical_id: str, mode: str | None, config: Mapping[str, Any] | None
) -> dict:
    config = dict(config or {})
    if mode is not None:
        config["mode"] = mode
    config.setdefault("mode", "full_pipeline")
    return {"tenant_id": tenant_id, "region_code": region_code, "vertical_id": vertical_id, "config": config}


# --- fallback bodies (the contract's VS6) ----------------------------------------------------------

# --- shared client logic ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Route:
    method: str
    path: str
    falls_back: bool = True


_ROUTES: Mapping[str, _Route] = {
    "discovery": _Route("POST", "/api/os/discovery"),
    "discovery_v2": _Route("POST", "/api/os/discovery-v2"),
    "score": _Route("POST", "/api/os/score"),
    "outreach": _Route("POST", "/api/os/outreach"),
    "pipeline": _Route("POST", "/api/os/pipeline"),
    "pipeline_status": _Route("GET", "/api/os/pipeline/{pipeline_id}"),
    "health": _Route("GET", "/api/os/health", falls_back=False),
    "version": _Route("GET", "/api/os/version", falls_back=False),
    "rank": _Route("POST", "/api/os/rank", falls_back=False),
    "enrich": _Route("POST", "/api/os/enrich", falls_back=False),
    "intelligence_session": _Route("POST", "/api/os/intelligence/session"),
    "intelligence_feedback": _Route("POST", "/api/os/intelligence/feedback"),
    "deal_evaluation": _Route("POST", "/api/os/intelligence/deal-evaluation"),
    "diag": _Route("GET", "/api/os/__diag", falls_back=False),
}


@dataclass(frozen=True, slots=True)
class _Call:
    endpoint: str
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    timeout: float
    retries: int
    request_id: str
    breaker: CircuitBreaker | None
    fallback_request: Mapping[str, Any] | None  # None: no fallback, failures raise


def resolve_policies(
    policies: Mapping[str, BreakerPolicy] | None = None,
    timeouts: Mapping[str, float] | None = None,
    retries: Mapping[str, int] | None = None,
) -> dict[str, BreakerPolicy]:
    """:data:`CLIENT_POLICIES` with whole policies, then single timeouts and retry counts, replaced."""
    for name in (*(policies or {}), *(timeouts or {}), *(retries or {})):
        if name not in CLIENT_POLICIES:
            raise ValueError(f"Unknown endpoint {name!r}; expected one of: {', '.join(CLIENT_POLICIES)}")
    resolved = {**CLIENT_POLICIES, **(policies or {})}
    for name, seconds in (timeouts or {}).items():
        resolved[name] = replace(resolved[name], request_timeout_s=float(seconds))
    for name, count in (retries or {}).items():
        resolved[name] = replace(resolved[name], retries=int(count))
    return resolved


def _normalise_base_url(base_url: str) -> str:
    """The server root; a trailing ``/api/os`` (the contract's form of the base URL) is taken off."""
    url = base_url.rstrip("/")
    return url.removesuffix("/api/os")


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _is_refusal(response: httpx.Response) -> bool:
    """A 3xx or 4xx other than 429: the caller's request (or configuration) is wrong, retrying cannot help."""
    status = response.status_code
    return 300 <= status < 500 and status not in RETRYABLE_STATUSES


def _describe(outcome: Outcome) -> str:
    if isinstance(outcome, httpx.Response):
        return f"HTTP {outcome.status_code}"
    return f"{type(outcome).__name__}: {outcome}"


class _Core:
    """Everything but the I/O: headers, policies, breakers, and what an outcome means."""

    def __init__(
        self,
        token: str,
        tenant_id: str,
        user_id: str | None,
        bearer_token: str | Callable[[], str] | None,
        client_name: str,
        policies: dict[str, BreakerPolicy],
        backoff: Backoff,
        now: Callable[[], float],
    ) -> None:
        self.tenant_id = tenant_id
        self.policies = policies
        self.backoff = backoff
        self.breakers = {
            name: policies[name].breaker(now=now, name=name) for name, route in _ROUTES.items() if route.falls_back
        }
        self._bearer_token = bearer_token
        self._fixed_headers = {"Accept": "application/json", "x-pr-os-token": token, "x-tenant-id": tenant_id}
        if user_id:
            self._fixed_headers["x-user-id"] = user_id
        self._fixed_headers["X-Client"] = client_name

    def headers(self, request_id: str, tenant_header: bool = True) -> dict[str, str]:
        headers = {**self._fixed_headers, "x-request-id": request_id}
        if not tenant_header:  # the body names the tenant (enrich for "system")
            del headers["x-tenant-id"]
        bearer = self._bearer_token() if callable(self._bearer_token) else self._bearer_token
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        return headers

    def prepare(
        self,
        endpoint: str,
        body: dict[str, Any] | None,
        request_id: str | None,
        pipeline_id: str | None = None,
        tenant_header: bool = True,
    ) -> _Call:
        route, policy = _ROUTES[endpoint], self.policies[endpoint]
        request_id = request_id or str(uuid.uuid4())
        path = route.path.format(pipeline_id=quote(pipeline_id or "", safe=""))
        fallback_request = None
        if route.falls_back:  # what the fallback body echoes
            fallback_request = {"pipeline_id": pipeline_id} if pipeline_id else body or {}
        return _Call(
            endpoint=endpoint,
            method=route.method,
            path=path,
            headers=self.headers(request_id, tenant_header),
            body=body,
            timeout=policy.request_timeout_s,
            retries=policy.retries,
            request_id=request_id,
            breaker=self.breakers.get(endpoint),
            fallback_request=fallback_request,
        )

    def retrying_kwargs(self, call: _Call) -> dict[str, Any]:
        return retrying_kwargs(call.retries, self.backoff)

    def admit(self, call: _Call) -> bool:
        return call.breaker is None or call.breaker.allow()

    def refused(self, call: _Call) -> dict[str, Any]:
        log.info("OS %s: circuit open, returning the fallback (request %s)", call.endpoint, call.request_id)
        return fallback_body(call.endpoint, call.fallback_request)

    def abandon(self, call: _Call) -> None:
        if call.breaker is not None:
            call.breaker.release()

    def finish(self, call: _Call, outcome: Outcome) -> dict[str, Any]:
        """The body to return for the call's last outcome, after recording it on the breaker."""
        if isinstance(outcome, httpx.Response):
            if outcome.is_success and (body := _json_object(outcome)) is not None:
                self._record(call, ok=True)
                return body
            if _is_refusal(outcome):
                self._record(call, ok=True)  # the endpoint answered; the request was wrong
                raise OSClientError.from_response(outcome, call.endpoint, call.request_id)
        self._record(call, ok=False)
        return self._unavailable(call, outcome)

    def _record(self, call: _Call, *, ok: bool) -> None:
        if call.breaker is None:
            return
        if ok:
            call.breaker.record_success()
        else:
            call.breaker.record_failure()

    def _unavailable(self, call: _Call, outcome: Outcome) -> dict[str, Any]:
        status = outcome.status_code if isinstance(outcome, httpx.Response) else None
        if call.fallback_request is None:
            raise OSUnavailableError(status, _describe(outcome), endpoint=call.endpoint, request_id=call.request_id)
        log.warning(
            "OS %s unavailable (%s), returning the fallback (request %s)",
            call.endpoint,
            _describe(outcome),
            call.request_id,
        )
        return fallback_body(call.endpoint, call.fallback_request)


class _OSClientBase(Generic[R]):
    """The endpoint methods, written once; ``R`` is ``dict`` (sync) or ``Awaitable[dict]`` (async).

    ``base_url`` is the server root (a trailing ``/api/os`` is accepted). ``bearer_token`` may be a callable,
    asked on every call, for short-lived OIDC tokens. ``timeouts`` / ``retries`` / ``policies`` replace the
    :data:`CLIENT_POLICIES` entries of the endpoints they name (discovery, score, outreach, pipeline,
    pipeline_status, health, version). ``now`` is the breakers' monotonic clock.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        tenant_id: str,
        user_id: str | None = None,
        bearer_token: str | Callable[[], str] | None = None,
        client_name: str = DEFAULT_CLIENT_NAME,
        *,
        timeouts: Mapping[str, float] | None = None,
        retries: Mapping[str, int] | None = None,
        policies: Mapping[str, BreakerPolicy] | None = None,
        backoff: Backoff | None = None,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = _normalise_base_url(base_url)
        self._core = _Core(
            token,
            tenant_id,
            user_id,
            bearer_token,
            client_name,
            resolve_policies(policies, timeouts, retries),
            backoff or Backoff(),
            now,
        )

    @property
    def breakers(self) -> Mapping[str, CircuitBreaker]:
        """This client's breaker per endpoint (discovery, score, outreach, pipeline, pipeline_status)."""
        return self._core.breakers

    @property
    def policies(self) -> Mapping[str, BreakerPolicy]:
        return self._core.policies

    def _call(
        self,
        endpoint: str,
        body: dict[str, Any] | None,
        request_id: str | None,
        pipeline_id: str | None = None,
        tenant_header: bool = True,
    ) -> R:
        raise NotImplementedError

    def discovery(
        self,
        *,
        region_code: str = "UAE",
        vertical_id: str = "banking",
        sources: Sequence[str] | None = None,
        limit: int | None = None,
        filters: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        **extra: Any,
    ) -> R:
        """``POST /api/os/discovery``; ``tenant_id`` is the client's. ``extra`` goes into the body as is."""
        config = {"sources": list(sources) if sources is not None else None, "limit": limit, "filters": filters}
        body = _discovery_request(self._core.tenant_id, region_code, vertical_id, config)
        return self._call("discovery", {**body, **extra}, request_id)

    def discovery_v2(
        self,
        query: str,
        *,
        sales_context: Mapping[str, Any] | None = None,
        max_results: int | None = None,
        strict_mode: bool | None = None,
        user_preferences: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        **extra: Any,
    ) -> R:
        """``POST /api/os/discovery-v2``: the tenant's companies (and configured providers') matching
        ``query``, ranked by composite score. ``sales_context``: vertical, sub_vertical, region."""
        options = {"maxResults": max_results, "strictMode": strict_mode}
        fields = {
            "query": query,
            "sales_context": sales_context,
            "options": _compact(options) or None,
            "user_preferences": user_preferences,
        }
        return self._call("discovery_v2", {**_compact(fields), **extra}, request_id)

    def score(
        self,
        entity_data: Mapping[str, Any] | None = None,
        *,
        entity_id: str | None = None,
        entity_type: str = "company",
        signals: Sequence[Mapping[str, Any]] | None = None,
        score_types: Sequence[str] | None = None,
        options: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        **extra: Any,
    ) -> R:
        """``POST /api/os/score`` (``options``: include_breakdown, include_explanation, ai_explanation, profile)."""
        fields = {
            "entity_type": entity_type,
            "entity_id": entity_id,
            "entity_data": entity_data,
            "signals": [dict(s) for s in signals] if signals is not None else None,
            "score_types": list(score_types) if score_types is not None else None,
            "options": options,
        }
        return self._call("score", {**_compact(fields), **extra}, request_id)

    def outreach(
        self,
        leads: Sequence[Mapping[str, Any]],
        *,
        options: Mapping[str, Any] | None = None,
        score: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        **extra: Any,
    ) -> R:
        """``POST /api/os/outreach`` (``options``: channel, tone, personalization_level, profile, ...)."""
        fields = {"leads": [dict(lead) for lead in leads], "options": options, "score": score}
        return self._call("outreach", {**_compact(fields), **extra}, request_id)

    def pipeline(
        self,
        *,
        mode: str | None = None,
        region_code: str = "UAE",
        vertical_id: str = "banking",
        config: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        **extra: Any,
    ) -> R:
        """``POST /api/os/pipeline``; ``mode`` (default ``full_pipeline``) goes into ``config.mode``."""
        body = _pipeline_request(self._core.tenant_id, region_code, vertical_id, mode, config)
        return self._call("pipeline", {**body, **extra}, request_id)

    def get_pipeline(self, pipeline_id: str, *, request_id: str | None = None) -> R:
        """``GET /api/os/pipeline/{pipeline_id}``: a run's state and results."""
        if not pipeline_id:
            raise ValueError("pipeline_id is required")
        return self._call("pipeline_status", None, request_id, pipeline_id)

    def health(self, *, request_id: str | None = None) -> R:
        """``GET /api/os/health``; raises :class:`OSUnavailableError` when the OS cannot answer."""
        return self._call("health", None, request_id)

    def version(self, *, request_id: str | None = None) -> R:
        """``GET /api/os/version``; raises :class:`OSUnavailableError` when the OS cannot answer."""
        return self._call("version", None, request_id)

    # --- the SaaS's other calls -------------------------------------------------------------------

    def rank(
        self,
        entities: Sequence[Mapping[str, Any]],
        *,
        profile: str | None = None,
        weights: Mapping[str, float] | None = None,
        limit: int | None = None,
        explain: bool | None = None,
        request_id: str | None = None,
        **extra: Any,
    ) -> R:
        """``POST /api/os/rank``: ``entities`` are ``{"id", "scores": {q_score, t_score, l_score, e_score}}``
        (at most 100); answered by the edge. No breaker or fallback: failures raise."""
        options = _compact({"profile": profile, "weights": weights, "limit": limit, "explain": explain})
        body: dict[str, Any] = {"entities": [dict(e) for e in entities], "tenant_id": self._core.tenant_id}
        if options:
            body["options"] = options
        return self._call("rank", {**body, **extra}, request_id)

    def enrich(
        self,
        entity_ids: Sequence[str],
        *,
        tenant_id: str | None = None,
        enrichment_sources: Sequence[str] | None = None,
        request_id: str | None = None,
        **extra: Any,
    ) -> R:
        """``POST /api/os/enrich``: each id (a domain or company id) with its industry and the sources that
        named it. ``tenant_id`` (e.g. ``"system"``, as the SaaS sends) replaces the client's, and then only the
        body names the tenant. No breaker or fallback: failures raise."""
        body: dict[str, Any] = {"tenant_id": tenant_id or self._core.tenant_id, "entity_ids": list(entity_ids)}
        if enrichment_sources is not None:
            body["enrichment_sources"] = list(enrichment_sources)
        own_tenant = tenant_id is None or tenant_id == self._core.tenant_id
        return self._call("enrich", {**body, **extra}, request_id, tenant_header=own_tenant)

    def intelligence_session(
        self,
        leads: Sequence[Mapping[str, Any]],
        *,
        vertical: str = "banking",
        sub_vertical: str = "employee_banking",
        region_code: str = "UAE",
        user_id: str | None = None,
        persona_id: str | None = None,
        user_preferences: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        **extra: Any,
    ) -> R:
        """``POST /api/os/intelligence/session`` (Decision Mode): the answer's fields are at the top level
        (``session_id``, ``primary_recommendation``, ``shortlist``, ``total_available``, ``collapsed_count``)."""
        fields = {
            "tenant_id": self._core.tenant_id,
            "persona_id": persona_id,
            "vertical": vertical,
            "sub_vertical": sub_vertical,
            "region_code": region_code,
            "leads": [dict(lead) for lead in leads],
            "user_id": user_id,
            "user_preferences": user_preferences,
        }
        return self._call("intelligence_session", {**_compact(fields), **extra}, request_id)

    def intelligence_feedback(
        self,
        session_id: str,
        company_id: str,
        action: str,
        *,
        metadata: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        **extra: Any,
    ) -> R:
        """``POST /api/os/intelligence/feedback``: LIKE, DISLIKE, SAVE or DISMISS a session's company."""
        fields = {"session_id": session_id, "company_id": company_id, "action": action, "metadata": metadata}
        return self._call("intelligence_feedback", {**_compact(fields), **extra}, request_id)

    def deal_evaluation(
        self,
        deal_context: Mapping[str, Any],
        *,
        persona_id: str | None = None,
        vertical: str | None = None,
        sub_vertical: str | None = None,
        user_id: str | None = None,
        request_id: str | None = None,
        **extra: Any,
    ) -> R:
        """``POST /api/os/intelligence/deal-evaluation``: ``deal_context`` needs ``company_name``; the answer's
        ``verdict``, ``confidence``, ``reasoning``, ``risk_factors`` and ``decisive_action`` are at the top level."""
        fields = {
            "tenant_id": self._core.tenant_id,
            "persona_id": persona_id,
            "vertical": vertical,
            "sub_vertical": sub_vertical,
            "deal_context": dict(deal_context),
            "user_id": user_id,
        }
        return self._call("deal_evaluation", {**_compact(fields), **extra}, request_id)

    def diag(self, *, request_id: str | None = None) -> R:
        """``GET /api/os/__diag``: version, stages and breakers, configured providers, reachability."""
        return self._call("diag", None, request_id)


class OSClient(_OSClientBase[Awaitable[dict[str, Any]]]):
    """Async client (``httpx.AsyncClient``); use ``async with`` or call :meth:`aclose`.

    ``sleep`` (the wait between retries) and ``now`` (the breakers' monotonic clock) are injectable for tests.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        tenant_id: str,
        user_id: str | None = None,
        bearer_token: str | Callable[[], str] | None = None,
        client_name: str = DEFAULT_CLIENT_NAME,
        *,
        timeouts: Mapping[str, float] | None = None,
        retries: Mapping[str, int] | None = None,
        policies: Mapping[str, BreakerPolicy] | None = None,
        backoff: Backoff | None = None,
        now: Callable[[], float] = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(
            base_url,
            token,
            tenant_id,
            user_id,
            bearer_token,
            client_name,
            timeouts=timeouts,
            retries=retries,
            policies=policies,
            backoff=backoff,
            now=now,
        )
        self._sleep = sleep
        self._http = httpx.AsyncClient(base_url=self.base_url, transport=transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> OSClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _call(
        self,
        endpoint: str,
        body: dict[str, Any] | None,
        request_id: str | None,
        pipeline_id: str | None = None,
        tenant_header: bool = True,
    ) -> Awaitable[dict[str, Any]]:
        return self._run(self._core.prepare(endpoint, body, request_id, pipeline_id, tenant_header))

    async def _run(self, call: _Call) -> dict[str, Any]:
        if not self._core.admit(call):
            return self._core.refused(call)
        outcome: Outcome | None = None
        try:
            outcome = await AsyncRetrying(sleep=self._sleep, **self._core.retrying_kwargs(call))(self._attempt, call)
        finally:
            if outcome is None:  # cancelled, or a non-retryable transport error
                self._core.abandon(call)
        return self._core.finish(call, outcome)

    async def _attempt(self, call: _Call) -> Outcome:
        try:
            return await self._http.request(
                call.method, call.path, headers=call.headers, json=call.body, timeout=call.timeout
            )
        except NETWORK_ERRORS as exc:
            return exc


class SyncOSClient(_OSClientBase[dict[str, Any]]):
    """Sync client (``httpx.Client``), same methods as :class:`OSClient`; use ``with`` or call :meth:`close`."""

    def __init__(
        self,
        base_url: str,
        token: str,
        tenant_id: str,
        user_id: str | None = None,
        bearer_token: str | Callable[[], str] | None = None,
        client_name: str = DEFAULT_CLIENT_NAME,
        *,
        timeouts: Mapping[str, float] | None = None,
        retries: Mapping[str, int] | None = None,
        policies: Mapping[str, BreakerPolicy] | None = None,
        backoff: Backoff | None = None,
        now: Callable[[], float] = time.monotonic,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(
            base_url,
            token,
            tenant_id,
            user_id,
            bearer_token,
            client_name,
            timeouts=timeouts,
            retries=retries,
            policies=policies,
            backoff=backoff,
            now=now,
        )
        self._sleep = sleep
        self._http = httpx.Client(base_url=self.base_url, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SyncOSClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(
        self,
        endpoint: str,
        body: dict[str, Any] | None,
        request_id: str | None,
        pipeline_id: str | None = None,
        tenant_header: bool = True,
    ) -> dict[str, Any]:
        call = self._core.prepare(endpoint, body, request_id, pipeline_id, tenant_header)
        if not self._core.admit(call):
            return self._core.refused(call)
        outcome: Outcome | None = None
        try:
            outcome = Retrying(sleep=self._sleep, **self._core.retrying_kwargs(call))(self._attempt, call)
        finally:
            if outcome is None:
                self._core.abandon(call)
        return self._core.finish(call, outcome)

    def _attempt(self, call: _Call) -> Outcome:
        try:
            return self._http.request(
                call.method, call.path, headers=call.headers, json=call.body, timeout=call.timeout
            )
        except NETWORK_ERRORS as exc:
            return exc
