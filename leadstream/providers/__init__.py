"""Discovery source connectors (SPEC §5.3): the ``apollo`` and ``linkedin`` providers' HTTP APIs.

The I/O side of discovery: :func:`search_providers` asks every requested provider that has
credentials, concurrently, each within ``provider_timeout_s`` (retries included), and says for each
one that could not be asked or did not answer why. What they found goes to the pure
:func:`leadstream.salesos.stages.discover`, which merges it after the tenant's own companies.
Nothing found here is stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import httpx

from leadstream.providers import apollo, linkedin
from leadstream.providers.base import ProviderError, ProviderQuery, ProviderResult, env_var
from leadstream.salesos.breaker import BreakerPolicy, BreakerRegistry
from leadstream.settings import Settings

__all__ = [
    "CONNECTORS",
    "Connector",
    "ProviderError",
    "ProviderQuery",
    "ProviderResult",
    "provider_breakers",
    "search_providers",
]

log = logging.getLogger(__name__)
# A connector may use at most this share of the edge's reply deadline, whatever ``provider_timeout_s`` says:
# the rest of the chain has to answer in time too.
SHARE_OF_REPLY_TIMEOUT = 0.6


@dataclass(frozen=True, slots=True)
class Connector:
    name: str
    credential: str  # the Settings field holding the key or token
    search: Callable[[httpx.AsyncClient, Settings, ProviderQuery], Awaitable[ProviderResult]]

    @property
    def env_var(self) -> str:
        return env_var(self.credential)

    def configured(self, settings: Settings) -> bool:
        return bool(getattr(settings, self.credential))


CONNECTORS: dict[str, Connector] = {
    apollo.NAME: Connector(apollo.NAME, apollo.CREDENTIAL, apollo.search),
    linkedin.NAME: Connector(linkedin.NAME, linkedin.CREDENTIAL, linkedin.search),
}


# The reference orchestrator's per-source breaker: open after 3 failures in a row, try again after 60 s.
# Retries and the timeout are the connector's own (provider_retries, budget_s); these fields are unused.
PROVIDER_POLICY = BreakerPolicy(failure_threshold=3, reset_timeout_s=60.0, retries=0, request_timeout_s=0.0)


def provider_breakers() -> BreakerRegistry:
    """A breaker per (provider, tenant): a provider failing for one tenant's searches (its filters, its
    volume) is still asked for every other tenant's."""
    return BreakerRegistry(dict.fromkeys(CONNECTORS, PROVIDER_POLICY))


def budget_s(settings: Settings) -> float:
    """How long one connector call may take, retries included."""
    return min(settings.provider_timeout_s, SHARE_OF_REPLY_TIMEOUT * settings.os_reply_timeout_s)


async def search_providers(
    settings: Settings, names: Iterable[str], query: ProviderQuery, breakers: BreakerRegistry | None = None
) -> tuple[dict[str, ProviderResult], dict[str, str]]:
    """``(found, failed)``: each named provider's result, or the reason it has none; :func:`budget_s` each.

    Names that are not providers are left out of both (the caller decides what they are). With
    ``breakers`` (:func:`provider_breakers`), a provider whose breaker for ``query.tenant`` is open is not
    asked: it fails at once, saying so.
    """
    connectors = [CONNECTORS[n] for n in dict.fromkeys(names) if n in CONNECTORS]
    failed = {c.name: f"no credentials: set {c.env_var}" for c in connectors if not c.configured(settings)}
    asked = []
    for connector in (c for c in connectors if c.name not in failed):
        if breakers is None or breakers.get(connector.name, query.tenant).allow():
            asked.append(connector)
        else:
            failed[connector.name] = "circuit open: it failed 3 times in a row; asked again within 60 s"
    if not asked:
        return {}, failed
    async with httpx.AsyncClient(timeout=budget_s(settings), follow_redirects=False) as http:
        try:
            outcomes = await asyncio.gather(*(_bounded(c, http, settings, query) for c in asked))
        except BaseException:  # cancelled: no verdict on the providers
            for connector in asked:
                if breakers is not None:
                    breakers.get(connector.name, query.tenant).release()
            raise
    found = {}
    for connector, outcome in zip(asked, outcomes, strict=True):
        if isinstance(outcome, ProviderResult):
            found[connector.name] = outcome
        else:
            failed[connector.name] = outcome
        if breakers is not None:
            breaker = breakers.get(connector.name, query.tenant)
            if isinstance(outcome, ProviderResult):
                breaker.record_success()
            else:
                breaker.record_failure()
            breakers.observe(connector.name, query.tenant)
    return found, failed


async def _bounded(
    connector: Connector, http: httpx.AsyncClient, settings: Settings, query: ProviderQuery
) -> ProviderResult | str:
    """The connector's result, or why there is none; never raises (one provider must not sink the rest)."""
    budget = budget_s(settings)
    try:
        async with asyncio.timeout(budget):
            return await connector.search(http, settings, query)
    except TimeoutError:
        reason = f"timeout after {budget} s"
    except ProviderError as exc:
        reason = str(exc)
    except Exception as exc:  # a bug in a mapping, or an answer of a shape nobody foresaw
        log.exception("discovery connector %s failed", connector.name)
        reason = f"connector error: {type(exc).__name__}"
    log.warning("discovery source %s failed: %s", connector.name, reason)
    return reason
