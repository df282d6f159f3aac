"""The chat-completions client: the request it sends and every way an answer can fail, against a
real HTTP server on 127.0.0.1."""

from collections.abc import Iterator

import orjson
import pytest

from leadstream.providers.llm import ChatClient, LLMError, completion_json
from leadstream.settings import Settings
from tests.llm_stub import StubLLM, completion, stub_llm

MESSAGES = [
    {"role": "system", "content": "rules"},
    {"role": "user", "content": orjson.dumps({"leads": [{"ref": "1", "first_name": "Ahmed"}]}).decode()},
]


@pytest.mark.parametrize(
    "content",
    ['{"a": 1}', '```json\n{"a": 1}\n```', '```\n{"a": 1}\n```', '  {"a": 1}  '],
)
def test_completion_json_reads_the_first_choice(content: str) -> None:
    assert completion_json(orjson.dumps(completion(content))) == {"a": 1}


@pytest.mark.parametrize(
    "raw",
    [
        b"<html>bad gateway</html>",
        b"[]",
        b'{"choices": []}',
        b'{"choices": [{"message": {}}]}',
        orjson.dumps({"choices": [{"message": {"content": None}}]}),
        orjson.dumps(completion("Sure! {not json")),
        orjson.dumps(completion("[1, 2]")),
    ],
)
def test_completion_json_refuses_anything_else(raw: bytes) -> None:
    with pytest.raises(LLMError):
        completion_json(raw)


def test_not_configured_means_no_client() -> None:
    assert ChatClient.from_settings(Settings(llm_base_url="")) is None
    client = ChatClient.from_settings(Settings(llm_base_url=" http://127.0.0.1:1/v1/ ", llm_timeout_s=2))
    assert client is not None and client.url == "http://127.0.0.1:1/v1/chat/completions" and client.timeout_s == 2


@pytest.fixture
def stub() -> Iterator[StubLLM]:
    with stub_llm() as running:
        yield running


async def test_request_shape_and_answer(stub: StubLLM) -> None:
    client = ChatClient(stub.base_url, "sk-test", "gpt-4o-mini", 5)
    try:
        answer = await client.complete_json(MESSAGES, temperature=0.7, max_tokens=100)
    finally:
        await client.aclose()
    assert answer["messages"]["1"]["subject"] == "AI note for Ahmed"
    [seen] = stub.take()
    assert seen["path"] == "/v1/chat/completions"
    assert seen["headers"]["authorization"] == "Bearer sk-test"
    assert seen["body"] == {
        "model": "gpt-4o-mini",
        "messages": MESSAGES,
        "temperature": 0.7,
        "max_tokens": 100,
        "response_format": {"type": "json_object"},
    }


async def test_no_key_no_authorization_header(stub: StubLLM) -> None:
    client = ChatClient(stub.base_url, "", "m", 5)
    await client.complete_json(MESSAGES)
    await client.aclose()
    assert "authorization" not in stub.take()[0]["headers"]


@pytest.mark.parametrize(("mode", "reason"), [("error", "HTTP 500"), ("garbage", "not JSON"), ("slow", "no answer")])
async def test_failures_are_llm_errors(stub: StubLLM, mode: str, reason: str) -> None:
    stub.mode, stub.delay_s = mode, 1.0
    client = ChatClient(stub.base_url, "k", "m", 0.3)
    with pytest.raises(LLMError, match=reason):
        await client.complete_json(MESSAGES)
    await client.aclose()


async def test_nothing_listening_is_an_llm_error() -> None:
    with stub_llm() as gone:
        url = gone.base_url
    client = ChatClient(url, "k", "m", 1)
    with pytest.raises(LLMError, match="request failed"):
        await client.complete_json(MESSAGES)
    await client.aclose()
