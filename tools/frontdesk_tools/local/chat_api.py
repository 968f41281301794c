"""Stand-ins for the chat platforms' APIs (Slack's chat.postMessage, Meta's Send API, Telegram's
sendMessage, Twilio's Messages API) and for a generic receiver's callback URL, served by the local
stack's gateway under /_local/chat-api/<provider>/..., so answers sent through an API can be read
at /_local/chat-outbox, as sent email is read at /_local/outbox.

Each call is listed with its provider, endpoint, whether it carried credentials, and its
parameters as "json" (Twilio's form fields too). Generic callbacks also keep their raw body and
signature headers, so a test can check the signature as a receiver would."""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

PREFIX = "/_local/chat-api/"


class FakeChatApis:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[dict[str, Any]] = []

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        """Record one API call and answer it as the platform would a successful one."""
        provider, _, endpoint = path.removeprefix(PREFIX).partition("/")
        authorization = headers.get("authorization") or ""
        call: dict[str, Any] = {"provider": provider, "endpoint": endpoint}
        try:
            if provider == "twilio":
                payload: dict[str, Any] = dict(parse_qsl(body.decode(), keep_blank_values=True))
            else:
                payload = json.loads(body or b"{}")
        except ValueError:
            return 400, {"error": {"message": "invalid request body", "code": 100}}
        if provider == "telegram":
            # /bot<token>/sendMessage: the token is the credential, and stays out of the outbox.
            token, _, call["endpoint"] = endpoint.partition("/")
            call["authorized"] = token.startswith("bot") and len(token) > 3
        elif provider == "twilio":
            call["authorized"] = authorization.startswith("Basic ")
        elif provider == "generic":
            signed = {
                name: headers.get(name, "") for name in ("x-frontdesk-timestamp", "x-frontdesk-signature")
            }
            call.update(authorized=all(signed.values()), headers=signed, body=body.decode("utf-8", "replace"))
        else:
            call["authorized"] = authorization.startswith("Bearer ")
        call["json"] = payload
        with self._lock:
            self._calls.append(call)
        return _success(provider, payload)

    def calls(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._calls)


def _success(provider: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    sent_id = uuid.uuid4().hex
    if provider == "slack":
        return 200, {"ok": True, "channel": payload.get("channel"), "ts": f"1700000000.{sent_id[:6]}"}
    if provider == "telegram":
        chat = {"id": payload.get("chat_id")}
        result = {"message_id": int(sent_id[:8], 16), "chat": chat, "date": int(time.time())}
        return 200, {"ok": True, "result": {**result, "text": payload.get("text")}}
    if provider == "twilio":
        fields = {"to": payload.get("To"), "from": payload.get("From"), "body": payload.get("Body")}
        return 201, {"sid": f"SM{sent_id}", "status": "queued", **fields}
    if provider == "generic":
        return 200, {"id": sent_id}
    if payload.get("messaging_product") == "whatsapp":
        return 200, {"messaging_product": "whatsapp", "messages": [{"id": f"wamid.{sent_id}"}]}
    return 200, {"recipient_id": payload.get("recipient", {}).get("id"), "message_id": f"m_{sent_id}"}


def point_at_fakes(document: dict[str, Any], base_url: str) -> dict[str, Any]:
    """The configuration with the platforms' API calls (Slack, Meta, Telegram, Twilio) and the
    generic callback sent to the fakes, unless it names an API or a callback of its own."""
    providers = document.get("chat", {}).get("providers", {})
    for name in ("slack", "meta", "telegram", "twilio"):
        if name in providers:
            providers[name].setdefault("api_base_url", f"{base_url}{PREFIX}{name}")
    for name in ("slack", "meta", "telegram"):  # Twilio's credential is its signing_secret
        if name in providers:
            providers[name].setdefault("api_token", "local-api-token")
    if "generic" in providers:
        # A callback must be https or loopback: a stack listening on every address is reached locally.
        local = base_url.replace("://0.0.0.0:", "://127.0.0.1:", 1)
        providers["generic"].setdefault("callback_url", f"{local}{PREFIX}generic")
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
