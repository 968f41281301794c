"""The HTTP edge: API Gateway HTTP API (payload 2.0) events in, proxy responses out."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:  # only pages need Jinja: webhook handlers must not pay for importing it
    from frontdesk.rendering import Page

_PAGE_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


class HttpRequest(NamedTuple):
    route_key: str
    method: str
    path: str
    path_parameters: dict[str, str]
    query: dict[str, str]
    headers: dict[str, str]  # names lower-cased, as HTTP APIs deliver them
    body: bytes
    claims: Mapping[str, Any] = MappingProxyType({})  # a JWT authorizer's, for authorized routes
    source_ip: str = ""  # the client's address as API Gateway saw it
    domain_name: str = ""  # the API's host name the client called (requestContext.domainName)

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> HttpRequest:
        raw_body = event.get("body") or ""
        body = base64.b64decode(raw_body) if event.get("isBase64Encoded") else raw_body.encode("utf-8")
        http = event.get("requestContext", {}).get("http", {})
        authorizer = event.get("requestContext", {}).get("authorizer") or {}
        return cls(
            route_key=str(event.get("routeKey", "")),
            method=str(http.get("method", "")),
            path=str(event.get("rawPath", http.get("path", ""))),
            path_parameters=dict(event.get("pathParameters") or {}),
            query=dict(event.get("queryStringParameters") or {}),
            headers={name.lower(): value for name, value in (event.get("headers") or {}).items()},
            body=body,
            claims=dict(authorizer.get("jwt", {}).get("claims") or {}),
            source_ip=str(http.get("sourceIp") or ""),
            domain_name=str(event.get("requestContext", {}).get("domainName") or ""),
        )

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def own_origin(self) -> str:
        """The origin the client called: <scheme>://<domain>, from API Gateway's domain name (or
        the Host header). HTTPS unless the gateway says the request came over plain HTTP."""
        domain = self.domain_name or self.header("host") or ""
        scheme = "http" if self.header("x-forwarded-proto") == "http" else "https"
        return f"{scheme}://{domain}"

    def prefers_json(self) -> bool:
        """JSON posts get JSON answers; so does a client that asks for JSON first."""
        content_type = (self.header("content-type") or "").lower()
        accept = (self.header("accept") or "").lower()
        return content_type.startswith("application/json") or accept.startswith("application/json")


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store", **(headers or {})},
        "body": json.dumps(body, ensure_ascii=False),
    }


def page_response(status: int, page: Page, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {
            **_PAGE_HEADERS,
            "Content-Security-Policy": page.content_security_policy,
            **(headers or {}),
        },
        "body": page.html,
    }


def redirect_response(location: str) -> dict[str, Any]:
    """303 See Other: after a browser post, the reload button must not post again."""
    return {"statusCode": 303, "headers": {"Location": location, "Cache-Control": "no-store"}, "body": ""}


Route = Callable[[HttpRequest], dict[str, Any]]


def dispatch(routes: Mapping[str, Route], event: dict[str, Any]) -> dict[str, Any]:
    """Answer an API Gateway event with the route its route key names (the function's table of
    the routes infra/template.yaml gives it); 404 for any other."""
    request = HttpRequest.from_event(event)
    route = routes.get(request.route_key)
    if route is None:
        return json_response(404, {"errors": [{"field": "path", "message": "no such route"}]})
    return route(request)
