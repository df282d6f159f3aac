"""A real HTTP server on 127.0.0.1 that speaks the chat-completions shape, for the AI-option tests.

``mode`` picks the behaviour of the next calls: ``ok`` answers every ref the prompt asks about,
``slow`` answers the same after ``delay_s``, ``error`` is HTTP 500, ``garbage`` is a completion whose
content is not JSON, ``wrong_shape`` a JSON object without the asked keys, ``too_long`` outreach text
over the contract's limits. Every request is recorded (path, headers with lower-case names, JSON body).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def completion(content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "model": "stub",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
    }


def answer_for(request: dict[str, Any], too_long: bool = False) -> dict[str, Any]:
    """What a well-behaved model answers: every ref of the data document, in the asked shape."""
    data = json.loads(request["messages"][-1]["content"])
    if "entities" in data:
        return {
            "explanations": {
                e["ref"]: {
                    key: f"AI: {key} of {e['entity'].get('name', 'this company')} looks right." for key in e["explain"]
                }
                for e in data["entities"]
            }
        }
    body = "word " * 400 if too_long else None
    return {
        "messages": {
            lead["ref"]: {
                "subject": "S" * 80 if too_long else f"AI note for {lead.get('first_name', 'you')}",
                "body": body or f"Hi {lead.get('first_name', 'there')}, an AI-written note.",
            }
            for lead in data["leads"]
        }
    }


class StubLLM:
    def __init__(self) -> None:
        self.mode = "ok"
        self.delay_s = 2.5
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                body = json.loads(raw)
                with stub._lock:
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    stub.requests.append({"path": self.path, "headers": headers, "body": body})
                stub.respond(self, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def respond(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        mode = self.mode
        if mode == "slow":
            time.sleep(self.delay_s)
        if mode == "error":
            status, payload = 500, {"error": {"message": "stub failure"}}
        elif mode == "garbage":
            status, payload = 200, completion("Sure! Here are your messages: {not json")
        elif mode == "wrong_shape":
            status, payload = 200, completion(json.dumps({"text": "hello"}))
        else:
            status, payload = 200, completion(json.dumps(answer_for(body, too_long=mode == "too_long")))
        raw = json.dumps(payload).encode()
        try:
            handler.send_response(status)
            handler.send_header("content-type", "application/json")
            handler.send_header("content-length", str(len(raw)))
            handler.end_headers()
            handler.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            pass

    def take(self) -> list[dict[str, Any]]:
        with self._lock:
            taken, self.requests = self.requests, []
        return taken


@contextmanager
def stub_llm() -> Iterator[StubLLM]:
    stub = StubLLM()
    thread = threading.Thread(target=stub.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        stub.server.shutdown()
        stub.server.server_close()
