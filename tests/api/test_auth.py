"""OS edge authentication (SPEC §5.1): the x-pr-os-token table and, when a key is configured, the
``Authorization: Bearer`` JWT (RS256 keys and HS256 secrets made here, in the test)."""

from __future__ import annotations

import time
from typing import Any

import jwt
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from leadstream.api.auth import AUTH_DENIED, AUTH_FAILED, TENANT_REQUIRED, BearerVerifier, OSAuthError, TokenTable
from leadstream.settings import Settings
from tests.edge_fixtures import EdgeFactory

TOKENS = orjson.dumps({"os-token": ["acme"]}).decode()
SECRET = "an-hs256-shared-secret-of-32-bytes-or-more"
AUDIENCE, ISSUER = "https://os.example", "https://accounts.example"


def rsa_pair() -> tuple[rsa.RSAPrivateKey, str]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public.decode()


PRIVATE, PUBLIC_PEM = rsa_pair()
OTHER_PRIVATE, _ = rsa_pair()


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": "saas", "aud": AUDIENCE, "iss": ISSUER, "iat": now, "exp": now + 300, **overrides}


def rs256(key: Any = PRIVATE, **overrides: Any) -> str:
    return jwt.encode(claims(**overrides), key, algorithm="RS256")


def hs256(secret: str = SECRET, **overrides: Any) -> str:
    return jwt.encode(claims(**overrides), secret, algorithm="HS256")


def without(name: str) -> dict[str, Any]:
    return {k: v for k, v in claims().items() if k != name}


RS_VERIFIER = BearerVerifier(PUBLIC_PEM, "RS256", AUDIENCE, ISSUER)
HS_VERIFIER = BearerVerifier(SECRET, "HS256", AUDIENCE, ISSUER)


def headers(bearer: str | None = None, token: str = "os-token", tenant: str = "acme") -> dict[str, str]:
    out = {"x-pr-os-token": token, "x-tenant-id": tenant}
    if bearer is not None:
        out["authorization"] = bearer
    return out


# --- the verifier ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verifier", "token"),
    [(RS_VERIFIER, rs256()), (HS_VERIFIER, hs256())],
    ids=["rs256", "hs256"],
)
def test_valid_tokens(verifier: BearerVerifier, token: str) -> None:
    assert verifier.verify(f"Bearer {token}")["sub"] == "saas"
    assert verifier.verify(f"bearer  {token} ")["sub"] == "saas"  # scheme case and spaces do not matter


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("Bearer", id="no-token"),
        pytest.param(f"Basic {rs256()}", id="not-bearer"),
        pytest.param("Bearer not.a.jwt", id="malformed"),
        pytest.param("Bearer abc", id="garbage"),
        pytest.param(f"Bearer {rs256(exp=int(time.time()) - 60)}", id="expired"),
        pytest.param(f"Bearer {jwt.encode(without('exp'), PRIVATE, algorithm='RS256')}", id="no-exp"),
        pytest.param(f"Bearer {rs256(aud='https://someone-else.example')}", id="wrong-audience"),
        pytest.param(f"Bearer {jwt.encode(without('aud'), PRIVATE, algorithm='RS256')}", id="no-audience"),
        pytest.param(f"Bearer {rs256(iss='https://evil.example')}", id="wrong-issuer"),
        pytest.param(f"Bearer {rs256(OTHER_PRIVATE)}", id="wrong-key"),
        pytest.param(f"Bearer {rs256()[:-4]}AAAA", id="bad-signature"),
        pytest.param(f"Bearer {hs256()}", id="hs256-not-allowed"),
        pytest.param(f"Bearer {jwt.encode(claims(), None, algorithm='none')}", id="alg-none"),
    ],
)
def test_rs256_refusals(authorization: str | None) -> None:
    with pytest.raises(OSAuthError) as refused:
        RS_VERIFIER.verify(authorization)
    assert refused.value is AUTH_FAILED


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(hs256("another-secret-that-is-long-enough-too"), id="wrong-secret"),
        pytest.param(hs256(exp=int(time.time()) - 1), id="expired"),
        pytest.param(hs256(aud="other"), id="wrong-audience"),
        pytest.param(rs256(), id="rs256-not-allowed"),
    ],
)
def test_hs256_refusals(token: str) -> None:
    with pytest.raises(OSAuthError):
        HS_VERIFIER.verify(f"Bearer {token}")


def test_a_remembered_token_still_expires() -> None:
    verifier = BearerVerifier(SECRET, "HS256", AUDIENCE, ISSUER)
    token = f"Bearer {hs256(exp=int(time.time()) + 1)}"
    assert verifier.verify(token)["sub"] == "saas"
    assert verifier.verify(token)["sub"] == "saas"  # from memory
    time.sleep(max(0.0, jwt.decode(token[7:], options={"verify_signature": False})["exp"] - time.time()) + 0.05)
    with pytest.raises(OSAuthError):
        verifier.verify(token)


@pytest.mark.parametrize(("audience", "issuer"), [("", ISSUER), (AUDIENCE, ""), ("", ""), (" ", ISSUER)])
def test_a_key_needs_an_audience_and_an_issuer(audience: str, issuer: str) -> None:
    with pytest.raises(ValueError, match="LEADSTREAM_OS_JWT_AUDIENCE and LEADSTREAM_OS_JWT_ISSUER"):
        BearerVerifier(PUBLIC_PEM, "RS256", audience, issuer)


def test_no_issuer_claim_is_refused() -> None:
    with pytest.raises(OSAuthError):
        RS_VERIFIER.verify(f"Bearer {jwt.encode(without('iss'), PRIVATE, algorithm='RS256')}")


def test_pem_on_one_line_with_escaped_newlines() -> None:
    one_line = PUBLIC_PEM.replace("\n", "\\n")
    assert BearerVerifier(one_line, "RS256", AUDIENCE, ISSUER).verify(f"Bearer {rs256()}")["sub"] == "saas"


@pytest.mark.parametrize(
    ("key", "algorithms"),
    [
        (SECRET, "RS256"),  # a secret is no RSA key
        (PUBLIC_PEM, "HS256"),  # a public key used as an HMAC secret: the algorithm-confusion attack
        (PUBLIC_PEM, "none"),
        (PUBLIC_PEM, "RS256,none"),
        (PUBLIC_PEM, ""),
        (PUBLIC_PEM, "XS999"),
    ],
)
def test_unusable_configuration_is_refused_at_start(key: str, algorithms: str) -> None:
    with pytest.raises(ValueError, match="LEADSTREAM_OS_JWT"):
        BearerVerifier(key, algorithms, AUDIENCE, ISSUER)


def test_from_settings() -> None:
    assert BearerVerifier.from_settings(Settings(os_jwt_key="")) is None
    assert BearerVerifier.from_settings(Settings()) is None
    verifier = BearerVerifier.from_settings(
        Settings(os_jwt_key=SECRET, os_jwt_algorithms="HS256", os_jwt_audience=AUDIENCE, os_jwt_issuer=ISSUER)
    )
    assert verifier is not None and verifier.verify(f"Bearer {hs256()}")["aud"] == AUDIENCE


# --- the token table -------------------------------------------------------------------------------


def test_without_a_key_bearer_is_accepted_unchecked() -> None:
    table = TokenTable(TOKENS)
    assert table.authorize(headers()) == "acme"
    assert table.authorize(headers("Bearer whatever")) == "acme"


@pytest.mark.parametrize(
    ("hdrs", "error"),
    [
        (headers(f"Bearer {rs256()}"), None),
        (headers(), AUTH_FAILED),  # with a key configured, Bearer is required
        (headers(f"Bearer {rs256(OTHER_PRIVATE)}"), AUTH_FAILED),
        (headers(f"Bearer {rs256()}", token="wrong"), AUTH_FAILED),
        (headers(f"Bearer {rs256()}", tenant=""), TENANT_REQUIRED),
        (headers(f"Bearer {rs256()}", tenant="globex"), AUTH_DENIED),
    ],
)
def test_table_with_a_key(hdrs: dict[str, str], error: OSAuthError | None) -> None:
    table = TokenTable(TOKENS, RS_VERIFIER)
    if error is None:
        assert table.authorize(hdrs) == "acme"
    else:
        with pytest.raises(OSAuthError) as refused:
            table.authorize(hdrs)
        assert refused.value is error


# --- through the edge ------------------------------------------------------------------------------


@pytest.mark.integration
async def test_edge_verifies_bearer_tokens(edge: EdgeFactory, settings: Settings) -> None:
    client = await edge(
        os_tokens=TOKENS, os_jwt_key=PUBLIC_PEM, os_jwt_audience=AUDIENCE, os_jwt_issuer=ISSUER, os_reply_timeout_s=1
    )
    body = {"entity_data": {"name": "Acme"}}
    for bearer in (None, f"Bearer {rs256(OTHER_PRIVATE)}", f"Bearer {rs256(exp=int(time.time()) - 5)}"):
        r = await client.post("/api/os/score", json=body, headers=headers(bearer))
        assert r.status_code == 401
        assert {k: v for k, v in r.json().items() if k != "meta"} == {
            "success": False,
            "error": "Invalid or missing x-pr-os-token",
            "error_code": "OS_AUTH_FAILED",
        }
    # a valid token gets past authentication (no worker here: the answer is the fallback)
    ok = await client.post("/api/os/score", json=body, headers=headers(f"Bearer {rs256()}"))
    assert ok.status_code == 200 and ok.json()["success"] is True
    for path in ("health", "version"):  # still open
        assert (await client.get(f"/api/os/{path}")).status_code == 200


def test_tenant_from_the_header_or_else_the_body() -> None:
    from leadstream.api.auth import TENANT_MISMATCH, tenant_of

    acme = frozenset({"acme"})
    assert tenant_of(acme, "acme", None) == "acme"
    assert tenant_of(acme, None, "acme") == "acme"  # the SaaS's pipeline route: no header
    assert tenant_of(acme, "acme", "acme") == "acme"
    assert tenant_of(frozenset({"*"}), "", " globex ") == "globex"
    for header, body, error in [
        (None, None, TENANT_REQUIRED),
        ("  ", "", TENANT_REQUIRED),
        (None, "globex", AUTH_DENIED),  # same rule as the header
        ("globex", None, AUTH_DENIED),
        ("acme", "globex", TENANT_MISMATCH),
    ]:
        with pytest.raises(OSAuthError) as exc:
            tenant_of(acme, header, body)
        assert exc.value is error
    assert TENANT_MISMATCH.status == 400 and TENANT_MISMATCH.error_code == "OS_TENANT_MISMATCH"
