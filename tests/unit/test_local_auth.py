"""Agent authentication: which routes the template guards, and the local gateway standing in for
API Gateway's JWT authorizer with a bearer token."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from frontdesk_tools.local.gateway import LOCAL_AGENT_CLAIMS, Gateway, http_api_event
from frontdesk_tools.local.stack import agent_token
from frontdesk_tools.local.template import Route, load_template

TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "template.yaml"
TOKEN = "unit-agent-token"

# The shapes the agent API's routes take: an authorizer named on the event, or the API's default.
SAM_TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        Authorizers:
          AgentJwt:
            IdentitySource: $request.header.Authorization
            JwtConfiguration: {issuer: "https://issuer.example.com/", audience: [agents]}
  GuardedApi:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        Authorizers:
          AgentJwt:
            IdentitySource: $request.header.Authorization
            JwtConfiguration: {issuer: "https://issuer.example.com/", audience: [agents]}
        DefaultAuthorizer: AgentJwt
  Function:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.13
      CodeUri: ./function
      Handler: app.handler
      Events:
        Public:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Method: POST, Path: "/forms/{form_id}"}
        Named:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Method: GET, Path: /tickets, Auth: {Authorizer: AgentJwt}}
        Defaulted:
          Type: HttpApi
          Properties: {ApiId: !Ref GuardedApi, Method: PATCH, Path: "/tickets/{reference}"}
        OptedOut:
          Type: HttpApi
          Properties: {ApiId: !Ref GuardedApi, Method: GET, Path: /health, Auth: {Authorizer: NONE}}
"""

# A default in Globals reaches every HTTP API, the one SAM makes for events without ApiId too.
GLOBALS_TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Globals:
  HttpApi:
    Auth:
      Authorizers:
        GlobalJwt:
          IdentitySource: $request.header.Authorization
          JwtConfiguration: {issuer: "https://issuer.example.com/", audience: [global]}
      DefaultAuthorizer: GlobalJwt
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
  Function:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.13
      CodeUri: ./function
      Handler: app.handler
      Events:
        Explicit:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Method: GET, Path: /explicit}
        Implicit:
          Type: HttpApi
          Properties: {Method: GET, Path: /implicit}
        OptedOut:
          Type: HttpApi
          Properties: {Method: GET, Path: /open, Auth: {Authorizer: NONE}}
"""


# -- which routes carry an authorizer ------------------------------------------------------------


def test_a_route_gets_its_events_authorizer_or_the_apis_default(tmp_path: Path):
    path = tmp_path / "template.yaml"
    path.write_text(SAM_TEMPLATE)

    authorizers = {route.route_key: route.authorizer for route in load_template(path).routes}

    assert authorizers == {
        "POST /forms/{form_id}": None,
        "GET /tickets": "AgentJwt",
        "PATCH /tickets/{reference}": "AgentJwt",
        "GET /health": None,  # NONE opts out of the default
    }


def test_a_default_authorizer_in_globals_guards_every_api(tmp_path: Path):
    path = tmp_path / "template.yaml"
    path.write_text(GLOBALS_TEMPLATE)

    authorizers = {route.route_key: route.authorizer for route in load_template(path).routes}

    assert authorizers == {"GET /explicit": "GlobalJwt", "GET /implicit": "GlobalJwt", "GET /open": None}


def test_public_routes_of_the_real_template_stay_open():
    routes = load_template(TEMPLATE).routes
    public = [route for route in routes if route.path.startswith(("/forms/", "/chat/"))]
    assert public
    assert all(route.authorizer is None for route in public), public


def test_agent_routes_of_the_real_template_require_the_agent_authorizer():
    agent_routes = [route for route in load_template(TEMPLATE).routes if route.path.startswith("/tickets")]
    assert len(agent_routes) == 4
    assert {route.authorizer for route in agent_routes} == {"AgentJwt"}, agent_routes


def test_the_agent_authorizer_trusts_the_stacks_user_pool_or_the_given_issuer():
    resources = load_template(TEMPLATE).cloudformation["Resources"]
    schemes = resources["FrontdeskApi"]["Properties"]["Body"]["components"]["securitySchemes"]
    authorizer = schemes["AgentJwt"]["x-amazon-apigateway-authorizer"]
    assert authorizer["type"] == "jwt"
    assert authorizer["identitySource"] == "$request.header.Authorization"
    issuer = authorizer["jwtConfiguration"]["issuer"]["Fn::If"]
    assert issuer[0] == "CreateAgentUserPool"
    assert "${AgentUserPool}" in issuer[1]["Fn::Sub"]
    assert issuer[2] == {"Ref": "AgentTokenIssuer"}
    (audience,) = authorizer["jwtConfiguration"]["audience"]
    assert audience["Fn::If"][1:] == [{"Ref": "AgentUserPoolClient"}, {"Ref": "AgentTokenAudience"}]


def test_the_local_deploy_leaves_out_cognito_but_keeps_the_conditions():
    # moto's CloudFormation has no Cognito: it would report the pool created and create nothing.
    deployable = load_template(TEMPLATE).deployable()
    types = {resource["Type"] for resource in deployable["Resources"].values()}
    assert not {kind for kind in types if kind.startswith(("AWS::Cognito::", "AWS::ApiGatewayV2::"))}
    assert "CreateAgentUserPool" in deployable["Conditions"]
    assert deployable["Parameters"]["AgentTokenIssuer"]["Default"] == ""


# -- the gateway -------------------------------------------------------------------------------


class FakeFunction:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def invoke(self, event: dict[str, Any]) -> Any:
        self.events.append(event)
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}


ROUTES = [
    Route("GET", "/tickets", "AgentFunction", "AgentJwt"),
    Route("PATCH", "/tickets/{reference}", "AgentFunction", "AgentJwt"),
    Route("POST", "/forms/{form_id}", "FormFunction"),
]


@contextmanager
def serve(token: str | None) -> Iterator[tuple[httpx.Client, dict[str, FakeFunction]]]:
    functions = {"AgentFunction": FakeFunction(), "FormFunction": FakeFunction()}
    gateway = Gateway(("127.0.0.1", 0), ROUTES, functions, {}, agent_token=token)
    threading.Thread(target=gateway.serve_forever, daemon=True).start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{gateway.server_address[1]}") as client:
            yield client, functions
    finally:
        gateway.shutdown()
        gateway.server_close()


@pytest.fixture
def gateway() -> Iterator[tuple[httpx.Client, dict[str, FakeFunction]]]:
    with serve(TOKEN) as served:
        yield served


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-header"),
        pytest.param({"Authorization": "Bearer wrong-token"}, id="wrong-token"),
        pytest.param({"Authorization": f"Bearer {TOKEN}x"}, id="longer-token"),
        pytest.param({"Authorization": "Bearer"}, id="empty-token"),
        pytest.param({"Authorization": f"Basic {TOKEN}"}, id="other-scheme"),
        pytest.param({"Authorization": TOKEN}, id="no-scheme"),
        pytest.param({"Authorization": "Bearer tökén"}, id="non-ascii"),
    ],
)
def test_a_guarded_route_refuses_without_the_token_and_never_runs_the_function(
    gateway: tuple[httpx.Client, dict[str, FakeFunction]], headers: dict[str, str]
):
    client, functions = gateway
    raw = {name.encode(): value.encode() for name, value in headers.items()}  # as sent, non-ASCII too
    for method, path in [("GET", "/tickets"), ("PATCH", "/tickets/FD-1")]:
        response = client.request(method, path, headers=raw, json={"status": "solved"})
        assert response.status_code == 401
        assert response.json() == {"message": "Unauthorized"}
    assert functions["AgentFunction"].events == []


def test_the_right_token_reaches_the_function_with_the_agents_claims(
    gateway: tuple[httpx.Client, dict[str, FakeFunction]],
):
    client, functions = gateway
    response = client.get("/tickets", params={"status": "open"}, headers={"Authorization": f"bearer {TOKEN}"})

    assert response.status_code == 200
    (event,) = functions["AgentFunction"].events
    assert event["routeKey"] == "GET /tickets"
    assert event["queryStringParameters"] == {"status": "open"}
    assert event["requestContext"]["authorizer"] == {
        "jwt": {
            "claims": {"sub": "local-agent", "email": "agent@localhost", "iss": "frontdesk-local"},
            "scopes": None,
        }
    }


def test_public_routes_need_no_token_and_carry_no_authorizer(
    gateway: tuple[httpx.Client, dict[str, FakeFunction]],
):
    client, functions = gateway
    assert client.post("/forms/contact", json={}).status_code == 200
    (event,) = functions["FormFunction"].events
    assert "authorizer" not in event["requestContext"]


def test_without_a_token_configured_guarded_routes_refuse_everyone():
    with serve(None) as (client, functions):
        assert client.get("/tickets", headers={"Authorization": "Bearer"}).status_code == 401
        assert client.get("/tickets", headers={"Authorization": "Bearer None"}).status_code == 401
        assert functions["AgentFunction"].events == []


def test_http_api_event_carries_the_claims_it_is_given():
    route = Route("GET", "/tickets/{reference}", "AgentFunction", "AgentJwt")
    claims = {"sub": "agent-7", "email": "ana@example.com"}

    def context(claims: dict[str, str] | None = None) -> dict[str, Any]:
        event = http_api_event(route, {"reference": "FD-1"}, "GET", "/tickets/FD-1", "", {}, b"", "", claims)
        return dict(event["requestContext"])

    assert context(claims)["authorizer"] == {"jwt": {"claims": claims, "scopes": None}}
    assert "authorizer" not in context()
    assert LOCAL_AGENT_CLAIMS["sub"] == "local-agent"


# -- the stack's token ---------------------------------------------------------------------------


def test_the_agent_token_is_the_given_one_then_the_environments_then_random(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FRONTDESK_AGENT_TOKEN", "from-env")
    assert agent_token("given") == "given"
    assert agent_token(None) == "from-env"
    monkeypatch.delenv("FRONTDESK_AGENT_TOKEN")
    first, second = agent_token(None), agent_token(None)
    assert first != second and len(first) >= 32
