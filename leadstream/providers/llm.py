"""An OpenAI-compatible chat-completions client for the sales-OS AI options (SPEC §5.3).

``POST {base_url}/chat/completions`` in JSON mode (``response_format: {"type": "json_object"}``),
``Authorization: Bearer <key>`` when a key is set (local servers often need none). One whole call,
connecting included, is bounded by a deadline, and the answer by size. Every failure (not configured,
timeout, network, HTTP status, an answer that is not a JSON object) is an :class:`LLMError`, so a
caller has one thing to fall back on.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson

from leadstream.settings import Settings

__all__ = ["MAX_ANSWER_BYTES", "ChatClient", "LLMError", "completion_json"]

MAX_ANSWER_BYTES = 512 * 1024


class LLMError(Exception):
    """The model gave no usable answer; the reason is the message (never the prompt or the answer)."""


def _json_object(text: str | bytes, what: str) -> dict[str, Any]:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise LLMError(f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise LLMError(f"{what} is not a JSON object")
    return value


def _unfenced(content: str) -> str:
    """Content without a Markdown code fence around it (some servers add one even in JSON mode)."""
    text = content.strip()
    if text.startswith("```") and text.endswith("```") and len(text) >= 6:
        text = text[3:-3]
        first_line, _, rest = text.partition("\n")
        return rest if first_line.strip().lower() in ("", "json") else text
    return text


def completion_json(raw: bytes) -> dict[str, Any]:
    """The JSON object in the first choice of a chat-completions answer; :class:`LLMError` otherwise."""
    body = _json_object(raw, "answer")
    try:
        content = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise LLMError("answer is not a chat completion") from None
    if not isinstance(content, str):
        raise LLMError("completion has no text content")
    return _json_object(_unfenced(content), "completion")


class ChatClient:
    """One connection pool to the model server per process; created on first use, in the running loop."""

    def __init__(self, base_url: str, api_key: str, model: str, timeout_s: float) -> None:
        self.url = f"{base_url.rstrip('/')}/chat/completions"
        self.model = model
        self.timeout_s = timeout_s
        self._headers = {"content-type": "application/json", "accept": "application/json"}
        if api_key:
            self._headers["authorization"] = f"Bearer {api_key}"
        self._http: httpx.AsyncClient | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> ChatClient | None:
        """None when no model server is configured (the AI options are off)."""
        if not settings.llm_base_url.strip():
            return None
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else ""
        return cls(settings.llm_base_url.strip(), key, settings.llm_model, settings.llm_timeout_s)

    async def complete_json(
        self,
        messages: list[dict[str, str]],
        *,
        temperature: float = 0.3,
        max_tokens: int = 1500,
        timeout_s: float | None = None,
    ) -> dict[str, Any]:
        """The model's answer as a JSON object, within ``timeout_s`` (default: the configured timeout)."""
        payload = {
            "model": self.model,
            "messages": messages,
            "temperature": temperature,
            "max_tokens": max_tokens,
            "response_format": {"type": "json_object"},
        }
        deadline = self.timeout_s if timeout_s is None else timeout_s
        try:
            async with asyncio.timeout(deadline):
                raw = await self._post(orjson.dumps(payload), deadline)
        except TimeoutError:
            raise LLMError(f"no answer within {deadline:g}s") from None
        except httpx.HTTPError as exc:
            raise LLMError(f"request failed: {type(exc).__name__}") from None
        return completion_json(raw)

    async def _post(self, content: bytes, deadline: float) -> bytes:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=deadline, headers=self._headers)
        async with self._http.stream("POST", self.url, content=content, timeout=deadline) as response:
            if response.status_code != 200:
                raise LLMError(f"HTTP {response.status_code}")
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_ANSWER_BYTES:
                    raise LLMError(f"answer larger than {MAX_ANSWER_BYTES} bytes")
                chunks.append(chunk)
        return b"".join(chunks)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None
