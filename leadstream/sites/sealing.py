"""Signing secrets sealed for the sites topic: nothing readable travels or rests in Kafka.

A site's signing secret is encrypted (Fernet: AES-128-CBC with an HMAC-SHA256 tag) with the
first key of ``LEADSTREAM_SITES_KEYS`` before it is published; every key in the list may open
it, so keys rotate by putting a new one first. A process without the key cannot verify the
site's signatures, so it refuses that site's signed requests rather than skip the check.
"""

from __future__ import annotations

import logging
import secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from leadstream.schemas.sites import SiteRecord
from leadstream.settings import Settings

log = logging.getLogger(__name__)


class SealingKeyMissing(ValueError):
    """A secret is to be sealed, and no key is configured."""


def new_key() -> str:
    """A fresh key for ``LEADSTREAM_SITES_KEYS``."""
    return Fernet.generate_key().decode()


def _fernet(settings: Settings) -> MultiFernet | None:
    keys = [Fernet(k.get_secret_value().encode()) for k in settings.sites_keys]
    return MultiFernet(keys) if keys else None


def seal(settings: Settings, site: SiteRecord) -> SiteRecord:
    """The record as published: the secret sealed, never in clear."""
    if site.signing_secret is None:
        return site
    fernet = _fernet(settings)
    if fernet is None:
        raise SealingKeyMissing(
            "a signing secret is sealed before it is published: set LEADSTREAM_SITES_KEYS "
            "(a JSON list of keys, e.g. '[\"<key>\"]'; `leadstream sites new-key` prints one)"
        )
    sealed = fernet.encrypt(site.signing_secret.encode()).decode()
    return site.model_copy(update={"signing_secret": None, "signing_secret_sealed": sealed})


def unseal(settings: Settings, site: SiteRecord) -> SiteRecord:
    """The record as this process uses it. A secret it cannot open becomes one nobody knows, so
    the site's signed requests are refused (fail closed), and the reason is logged."""
    if site.signing_secret_sealed is None:
        return site
    fernet = _fernet(settings)
    try:
        if fernet is None:
            raise InvalidToken
        secret = fernet.decrypt(site.signing_secret_sealed.encode()).decode()
    except InvalidToken:
        log.error(
            "site %s: its signing secret cannot be opened with LEADSTREAM_SITES_KEYS (%s); its signed "
            "requests are refused until the key is configured",
            site.public_id,
            "none set" if fernet is None else "no key fits",
        )
        secret = secrets.token_hex(32)
    return site.model_copy(update={"signing_secret": secret})
