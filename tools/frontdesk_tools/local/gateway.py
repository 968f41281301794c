"""The HTTP API, played locally: requests become API Gateway HTTP API (payload 2.0) events for
the functions the template routes them to, and their proxy responses become HTTP responses."""

from __future__ import annotations

import base64
import hmac
import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from frontdesk import clock
from frontdesk_tools.local.chat_api import PREFIX as CHAT_API_PREFIX
from frontdesk_tools.local.chat_api import FakeChatApis
from frontdesk_tools.local.functions import FunctionError, FunctionTimeoutError
from frontdesk_tools.local.template import Route

# API Gateway's own payload limit; anything under it reaches the function, which sets its own.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
# HTTP APIs pass these content types through as text; any other body is base64-encoded.
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")
# Who a request the local agent token authorizes comes from, as a JWT authorizer would pass on the
# token's claims (API Gateway gives every claim as a string).
LOCAL_AGENT_CLAIMS: dict[str, str] = {
    "sub": "local-agent",
    "email": "agent@localhost",
    "iss": "frontdesk-local",
}


class Invocable(Protocol):
    """What the gateway invokes: a LocalFunction, or a test's stand-in."""

    def invoke(self, event: dict[str, Any]) -> Any: ...


@dataclass(frozen=True)
class CompiledRoute:
    route: Route
    pattern: re.Pattern[str]
    literal_segments: int


def compile_routes(routes: list[Route]) -> list[CompiledRoute]:
    compiled = []
    for route in routes:
        regex = ""
        for segment in route.path.strip("/").split("/"):
            if segment.endswith("+}"):
                regex += rf"/(?P<{segment[1:-2]}>.+)"
            elif segment.startswith("{"):
                regex += rf"/(?P<{segment[1:-1]}>[^/]+)"
            else:
                regex += "/" + re.escape(segment)
        literal = sum(1 for segment in route.path.split("/") if segment and not segment.startswith("{"))
        compiled.append(CompiledRoute(route, re.compile(regex + "/?"), literal))
    # Like API Gateway, the most specific route wins.
    return sorted(compiled, key=lambda item: -item.literal_segments)


def http_api_event(
    route: Route,
    path_parameters: dict[str, str],
    method: str,
    raw_path: str,
    raw_query: str,
    headers: dict[str, str],
    body: bytes,
    source_ip: str,
    claims: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The payload 2.0 event for a request; `claims`, when given, are those of the JWT the route's
    authorizer accepted (requestContext.authorizer.jwt, as API Gateway passes them on)."""
    content_type = headers.get("content-type", "")
    is_text = content_type.startswith(_TEXT_TYPES)
    now = clock.now()
    # As API Gateway does, whatever the client sent: how the request reached the gateway.
    headers = {**headers, "x-forwarded-proto": "http", "x-forwarded-for": source_ip}
    query: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": headers.get("host", "localhost"),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route.route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": bool(body) and not is_text,
    }
    if claims is not None:
        # A JWT authorizer has no scopes to pass on unless the route requires some.
        event["requestContext"]["authorizer"] = {"jwt": {"claims": dict(claims), "scopes": None}}
    if "cookie" in headers:
        event["cookies"] = [cookie.strip() for cookie in headers["cookie"].split(";")]
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body:
        event["body"] = base64.b64encode(body).decode() if not is_text else body.decode("utf-8", "replace")
    return event


def event_for_route(
    route_key: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    raw_query: str = "",
    *,
    claims: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The event API Gateway sends for `path` matched by `route_key` ("POST /forms/{form_id}"), its
    path parameters taken from the path (and `claims`, an authorizer's): for tests and benchmarks
    that call handlers directly."""
    method, _, template_path = route_key.partition(" ")
    parameters = {
        name[1:-1]: value
        for name, value in zip(template_path.split("/"), path.split("/"), strict=False)
        if name.startswith("{")
    }
    lowered = {name.lower(): value for name, value in (headers or {}).items()}
    route = Route(method, template_path, "direct")
    return http_api_event(route, parameters, method, path, raw_query, lowered, body, "127.0.0.1", claims)


class Gateway(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog is 5: twenty clients at once on a busy machine had their
    # connections reset before the accept loop came round.
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        routes: list[Route],
        functions: Mapping[str, Invocable],
        local_routes: dict[str, Callable[[], tuple[int, Any]]],
        chat_apis: FakeChatApis | None = None,
        agent_token: str | None = None,
    ) -> None:
        self.routes = compile_routes(routes)
        self.functions = functions
        # Stands in for every JWT authorizer the template declares; None: such routes refuse all.
        self.agent_token = agent_token
        self.local_routes = local_routes
        self.chat_apis = chat_apis
        super().__init__(address, _GatewayHandler)


class _GatewayHandler(BaseHTTPRequestHandler):
    server: Gateway
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the functions log what matters; the gateway stays quiet

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _send(
        self, status: int, headers: dict[str, str], body: bytes, cookies: list[str] | None = None
    ) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        for cookie in cookies or []:
            self.send_header("Set-Cookie", cookie)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, payload: Any) -> None:
        self._send(status, {"Content-Type": "application/json"}, json.dumps(payload).encode())

    def _handle(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_PAYLOAD_BYTES:
            self.close_connection = True
            self._send_json(413, {"message": "Request Entity Too Large"})
            return
        body = self.rfile.read(length) if length else b""
        if self.command == "GET" and url.path in self.server.local_routes:
            status, payload = self.server.local_routes[url.path]()
            self._send_json(status, payload)
            return
        if self.command == "POST" and url.path.startswith(CHAT_API_PREFIX) and self.server.chat_apis:
            lowered = {name.lower(): value for name, value in self.headers.items()}
            status, payload = self.server.chat_apis.answer(url.path, lowered, body)
            self._send_json(status, payload)
            return
        for compiled in self.server.routes:
            if compiled.route.method != self.command:
                continue
            if match := compiled.pattern.fullmatch(url.path):
                self._invoke(compiled.route, match.groupdict(), url.path, url.query, body)
                return
        self._send_json(404, {"message": "Not Found"})

    def _authorized(self) -> bool:
        """Whether the request carries the stack's agent token, where API Gateway would check a JWT."""
        expected = self.server.agent_token
        scheme, _, token = (self.headers.get("Authorization") or "").strip().partition(" ")
        if not expected or scheme.lower() != "bearer" or not token.strip():
            return False
        # Constant time, on bytes: compare_digest refuses non-ASCII str.
        return hmac.compare_digest(token.strip().encode("utf-8", "surrogateescape"), expected.encode("utf-8"))

    def _invoke(self, route: Route, parameters: dict[str, str], path: str, query: str, body: bytes) -> None:
        claims = None
        if route.authorizer is not None:
            if not self._authorized():
                # API Gateway's answer; the function never runs.
                self._send_json(401, {"message": "Unauthorized"})
                return
            claims = LOCAL_AGENT_CLAIMS
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]},{value}" if key in headers else value
        event = http_api_event(
            route, parameters, self.command, path, query, headers, body, self.client_address[0], claims
        )
        try:
            result = self.server.functions[route.function].invoke(event)
        except FunctionTimeoutError:
            self._send_json(503, {"message": "Service Unavailable"})
            return
        except FunctionError:
            self._send_json(500, {"message": "Internal Server Error"})
            return
        self._respond(result)

    def _respond(self, result: Any) -> None:
        if not isinstance(result, dict) or "statusCode" not in result:
            # Payload 2.0 infers a 200 JSON response from anything else.
            self._send_json(200, result)
            return
        raw = result.get("body") or ""
        body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode("utf-8")
        headers = {str(name): str(value) for name, value in (result.get("headers") or {}).items()}
        self._send(int(result["statusCode"]), headers, body, result.get("cookies"))
