"""Who the sales-OS edge lets in.

* With a JWT key and no audience configured, a token minted for another audience was accepted (any
  service's ID token from the same issuer would do). A key now needs an audience and an issuer, or the
  settings refuse to load, naming the variables; every token needs ``exp``, ``aud`` and ``iss``.
* ``LEADSTREAM_OS_TOKENS`` with a string where a list belongs was read letter by letter
  (``{"tok": "acme"}`` granted tenants 'a', 'c', 'm', 'e'). It is now typed (token -> list of tenants),
  and a bad value stops the process with a message that names the variable and never a token.
* The JWT key is a secret: never shown in the settings' repr or in a settings error.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import ValidationError

from leadstream.api.auth import AUTH_DENIED, BearerVerifier, OSAuthError, TokenTable
from leadstream.settings import Settings, settings_problems
from tests.edge_fixtures import EdgeFactory

AUDIENCE, ISSUER = "https://os.example/api", "https://accounts.example"
OTHER_AUDIENCE = "https://someone-elses-service.example"
_PRIVATE = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC_PEM = (
    _PRIVATE.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)
SECRET_TOKEN = "os-token-do-not-print-3f9a"


def token(**claims: Any) -> str:
    now = int(time.time())
    base = {"sub": "saas", "aud": AUDIENCE, "iss": ISSUER, "iat": now, "exp": now + 300}
    body = {k: v for k, v in {**base, **claims}.items() if v is not None}
    return jwt.encode(body, _PRIVATE, algorithm="RS256")


def problems(**values: Any) -> list[str]:
    with pytest.raises(ValidationError) as refused:
        Settings(**values)
    return settings_problems(refused.value)


# --- the JWT's audience, issuer and expiry -----------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "missing"),
    [
        ({}, "LEADSTREAM_OS_JWT_AUDIENCE and LEADSTREAM_OS_JWT_ISSUER"),
        ({"os_jwt_issuer": ISSUER}, "LEADSTREAM_OS_JWT_AUDIENCE"),
        ({"os_jwt_audience": AUDIENCE}, "LEADSTREAM_OS_JWT_ISSUER"),
    ],
)
def test_a_key_without_audience_or_issuer_refuses_to_load(extra: dict[str, str], missing: str) -> None:
    [line] = problems(os_jwt_key=PUBLIC_PEM, **extra)
    assert f"so {missing} must be set too" in line
    assert "BEGIN PUBLIC KEY" not in line and "MII" not in line


def test_the_verifier_alone_refuses_a_key_without_audience_or_issuer() -> None:
    for audience, issuer in [("", ""), (AUDIENCE, ""), ("", ISSUER)]:
        with pytest.raises(ValueError, match="LEADSTREAM_OS_JWT_AUDIENCE"):
            BearerVerifier(PUBLIC_PEM, ["RS256"], audience, issuer)


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"aud": OTHER_AUDIENCE}, id="another-audience"),
        pytest.param({"aud": None}, id="no-audience"),
        pytest.param({"iss": "https://evil.example"}, id="another-issuer"),
        pytest.param({"iss": None}, id="no-issuer"),
        pytest.param({"exp": None}, id="no-expiry"),
        pytest.param({"exp": int(time.time()) - 30}, id="expired"),
    ],
)
def test_tokens_need_the_configured_audience_and_issuer_and_an_expiry(claims: dict[str, Any]) -> None:
    settings = Settings(os_jwt_key=PUBLIC_PEM, os_jwt_audience=AUDIENCE, os_jwt_issuer=ISSUER)
    verifier = BearerVerifier.from_settings(settings)
    assert verifier is not None
    assert verifier.verify(f"Bearer {token()}")["aud"] == AUDIENCE
    with pytest.raises(OSAuthError):
        verifier.verify(f"Bearer {token(**claims)}")


def test_an_audience_list_holding_ours_is_accepted() -> None:
    verifier = BearerVerifier(PUBLIC_PEM, ["RS256"], AUDIENCE, ISSUER)
    assert verifier.verify(f"Bearer {token(aud=[OTHER_AUDIENCE, AUDIENCE])}")["sub"] == "saas"


@pytest.mark.integration
async def test_the_edge_refuses_a_token_minted_for_another_audience(edge: EdgeFactory) -> None:
    http = await edge(
        os_tokens=orjson.dumps({SECRET_TOKEN: ["acme"]}).decode(),
        os_jwt_key=PUBLIC_PEM,
        os_jwt_audience=AUDIENCE,
        os_jwt_issuer=ISSUER,
        os_reply_timeout_s=0.2,
    )
    headers = {"x-pr-os-token": SECRET_TOKEN, "x-tenant-id": "acme"}
    body = {"entity_data": {"name": "Acme"}}
    for bad in (token(aud=OTHER_AUDIENCE), token(iss=None), token(exp=None)):
        r = await http.post("/api/os/score", json=body, headers={**headers, "authorization": f"Bearer {bad}"})
        assert r.status_code == 401 and r.json()["error_code"] == "OS_AUTH_FAILED"
    ok = await http.post("/api/os/score", json=body, headers={**headers, "authorization": f"Bearer {token()}"})
    assert ok.status_code == 200  # past authentication (no worker: the fallback)


def test_the_key_is_a_secret_and_algorithms_a_list() -> None:
    settings = Settings(
        os_jwt_key=PUBLIC_PEM, os_jwt_audience=AUDIENCE, os_jwt_issuer=ISSUER, os_jwt_algorithms="RS256, ES256"
    )
    assert "BEGIN PUBLIC KEY" not in repr(settings)
    assert settings.os_jwt_algorithms == ["RS256", "ES256"]
    assert Settings(os_jwt_key="  ").os_jwt_key is None  # blank: no key, Bearer not checked
    assert Settings(os_jwt_algorithms='["RS256"]').os_jwt_algorithms == ["RS256"]


# --- the token table ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (f'{{"{SECRET_TOKEN}": "acme"}}', "its tenants are a JSON str, not a list"),
        (f'{{"{SECRET_TOKEN}": {{"acme": true}}}}', "its tenants are a JSON dict, not a list"),
        (f'{{"{SECRET_TOKEN}": ["acme", 7]}}', "must be non-empty strings"),
        (f'{{"{SECRET_TOKEN}": []}}', "must be non-empty strings"),
        (f'["{SECRET_TOKEN}"]', "is a JSON list"),
        (f"{SECRET_TOKEN}=acme", "is not valid JSON"),
    ],
)
def test_a_bad_token_table_stops_the_process_naming_the_variable(
    value: str, says: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADSTREAM_OS_TOKENS", value)
    [line] = problems()
    assert line.startswith("invalid setting LEADSTREAM_OS_TOKENS:") and says in line
    assert 'expected a JSON object of token -> list of tenants, e.g. {"<token>": ["acme", "globex"]}' in line
    assert SECRET_TOKEN not in line


def test_a_string_where_the_list_belongs_never_grants_its_letters() -> None:
    with pytest.raises(ValueError, match="not a list"):
        TokenTable(orjson.dumps({SECRET_TOKEN: "acme"}).decode())
    table = TokenTable({SECRET_TOKEN: ["acme"]})
    assert table.tenants_for(SECRET_TOKEN) == frozenset({"acme"})
    for letter in "acme":
        with pytest.raises(OSAuthError) as refused:
            table.authorize({"x-pr-os-token": SECRET_TOKEN, "x-tenant-id": letter})
        assert refused.value is AUTH_DENIED


def test_the_table_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADSTREAM_OS_TOKENS", orjson.dumps({SECRET_TOKEN: [" acme ", "*"]}).decode())
    settings = Settings()
    assert settings.os_tokens == {SECRET_TOKEN: ["acme", "*"]}
    assert TokenTable(settings.os_tokens).tenants_for(SECRET_TOKEN) == frozenset({"acme", "*"})
    monkeypatch.delenv("LEADSTREAM_OS_TOKENS")
    assert Settings().os_tokens == {}
