"""Stand-ins for the chat platforms' APIs (Slack's chat.postMessage, Meta's Send API), served by
the local stack's gateway under /_local/chat-api/<provider>/..., so answers sent through an API
can be read at /_local/chat-outbox, as sent email is read at /_local/outbox."""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PREFIX = "/_local/chat-api/"


class FakeChatApis:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[dict[str, Any]] = []

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        """Record one API call and answer it as the platform would a successful one."""
        provider, _, endpoint = path.removeprefix(PREFIX).partition("/")
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            return 400, {"error": {"message": "invalid JSON", "code": 100}}
        authorized = (headers.get("authorization") or "").startswith("Bearer ")
        with self._lock:
            self._calls.append(
                {"provider": provider, "endpoint": endpoint, "authorized": authorized, "json": payload}
            )
        sent_id = uuid.uuid4().hex
        if provider == "slack":
            return 200, {"ok": True, "channel": payload.get("channel"), "ts": f"1700000000.{sent_id[:6]}"}
        if payload.get("messaging_product") == "whatsapp":
            return 200, {"messaging_product": "whatsapp", "messages": [{"id": f"wamid.{sent_id}"}]}
        return 200, {"recipient_id": payload.get("recipient", {}).get("id"), "message_id": f"m_{sent_id}"}

    def calls(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._calls)


def point_at_fakes(document: dict[str, Any], base_url: str) -> dict[str, Any]:
    """The configuration with Slack's and Meta's API calls sent to the fakes, unless it names an
    API of its own."""
    providers = document.get("chat", {}).get("providers", {})
    for name in ("slack", "meta"):
        if name in providers:
            providers[name].setdefault("api_base_url", f"{base_url}{PREFIX}{name}")
            providers[name].setdefault("api_token", "local-api-token")
    return document


class FakeChatApiServer(ThreadingHTTPServer):
    """The fakes on their own port (the integration tests, which run no gateway)."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int]) -> None:
        self.apis = FakeChatApis()
        super().__init__(address, _FakeHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class _FakeHandler(BaseHTTPRequestHandler):
    server: FakeChatApiServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {name.lower(): value for name, value in self.headers.items()}
        status, payload = self.server.apis.answer(self.path, headers, body)
        encoded = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(encoded)))
        self.end_headers()
        self.wfile.write(encoded)
