"""Phone / WhatsApp target normalisation (SPEC §3.4).

- ``tel:`` URIs and plain numbers: digits, with a leading ``+`` kept; a ``00`` prefix becomes
  ``+``. ``tel:`` parameters (``;ext=``, ``;phone-context=``) are dropped so their digits never
  join the number.
- WhatsApp links (``wa.me/<n>``, ``api.whatsapp.com/send?phone=<n>``, ``whatsapp:<n>``,
  ``whatsapp://send?phone=<n>``; with or without http(s)) become ``whatsapp:+<digits>``.
- ``chat.whatsapp.com/<code>`` becomes ``whatsapp:joinchat/<code>``.
- Anything else, including a number-shaped value with letters or without digits, is kept trimmed.

The result is stable: normalising a normalised value returns it unchanged.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote, urlsplit

# Visual separators people put in numbers (RFC 3966 allows "-", ".", "(", ")"; people add more).
_NUMBER = re.compile(r"[\s\-.()/\u2010-\u2015]*\+?[\s\-.()/\u2010-\u2015\d]*")
_HAS_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_BARE_HOST = re.compile(r"^(?:www\.)?(?:wa\.me|(?:api|web|chat)\.whatsapp\.com|whatsapp\.com)(?:[/?#]|$)", re.I)
_WHATSAPP_SEND_HOSTS = frozenset({"api.whatsapp.com", "web.whatsapp.com", "whatsapp.com", "www.whatsapp.com"})


def normalize_phone(raw: str) -> str:
    text = raw.strip()
    lower = text.lower()
    if lower.startswith("whatsapp:"):
        result = _whatsapp_uri(text)
    elif lower.startswith("tel:"):
        number = unquote(text[4:].split(";", 1)[0]).removeprefix("//")
        result = _number(number)
    elif lower.startswith(("http://", "https://")) or _BARE_HOST.match(text):
        result = _whatsapp_link(text)
    else:
        result = _number(text)
    return result if result is not None else text


def _number(text: str) -> str | None:
    """``+<digits>`` or ``<digits>`` when ``text`` is only a number and separators, else None."""
    if not _NUMBER.fullmatch(text):
        return None
    digits = _ascii_digits(text)
    if "+" in text:
        return "+" + digits if digits else None
    if digits.startswith("00"):
        return "+" + digits[2:] if len(digits) > 2 else None
    return digits or None


def _whatsapp_number(text: str) -> str | None:
    number = _number(text.strip())
    if number is None:
        return None
    return "whatsapp:" + (number if number.startswith("+") else "+" + number)


def _whatsapp_uri(text: str) -> str | None:
    rest = text[len("whatsapp:") :]
    if rest.lower().startswith("joinchat/"):
        code = rest[len("joinchat/") :]
        return f"whatsapp:joinchat/{code}" if _is_code(code) else None
    if rest.startswith("//"):  # whatsapp://send?phone=<n>
        phone = _query_value(text, "phone")
        return _whatsapp_number(phone) if phone is not None else None
    return _whatsapp_number(unquote(rest))


def _whatsapp_link(text: str) -> str | None:
    url = text if _HAS_SCHEME.match(text) else "https://" + text
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return None
    segments = [s for s in parts.path.split("/") if s]
    if host == "wa.me":
        return _whatsapp_number(unquote(segments[0])) if len(segments) == 1 else None
    if host in _WHATSAPP_SEND_HOSTS and segments in (["send"], []):
        phone = _query_value(url, "phone")
        return _whatsapp_number(phone) if phone is not None else None
    if host == "chat.whatsapp.com":
        if segments[:1] == ["invite"]:  # the older chat.whatsapp.com/invite/<code> form
            segments = segments[1:]
        if len(segments) == 1 and _is_code(segments[0]):
            return f"whatsapp:joinchat/{segments[0]}"
    return None


def _query_value(url: str, name: str) -> str | None:
    # parse_qs turns a literal "+" into a space; WhatsApp numbers are international either way.
    try:
        values = parse_qs(urlsplit(url).query).get(name)
    except ValueError:
        return None
    return values[0] if values else None


def _is_code(code: str) -> bool:
    return bool(code) and code.isascii() and code.isalnum()


def _ascii_digits(text: str) -> str:
    """Digits only, any script (Arabic-Indic digits are common in the UAE) mapped to ASCII."""
    return "".join(str(int(ch)) for ch in text if ch.isdecimal())
