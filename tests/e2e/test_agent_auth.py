"""The agent API refuses requests without the agent token, before any function runs, while the
public routes stay open."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from tests.e2e.conftest import AGENT_TOKEN, RunningStack

pytestmark = pytest.mark.e2e


def test_the_stack_prints_the_agent_token_it_accepts(local_stack: RunningStack):
    # Printed just after the ready line, which is what the fixture waits for.
    deadline = time.monotonic() + 10
    while f"Agent API token: {AGENT_TOKEN}\n" not in local_stack.output and time.monotonic() < deadline:
        time.sleep(0.1)
    assert f"Agent API token: {AGENT_TOKEN}\n" in local_stack.output


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-token"),
        pytest.param({"Authorization": "Bearer not-the-agent-token"}, id="wrong-token"),
    ],
)
def test_the_ticket_list_refuses_without_the_agent_token(http: httpx.Client, headers: dict[str, str]):
    response = http.get("/tickets", headers=headers)

    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}


def test_public_routes_need_no_token(http: httpx.Client):
    assert http.get("/forms/contact").status_code == 200


def test_an_agent_lists_reads_and_resolves_a_ticket(http: httpx.Client):
    address = f"agent-e2e-{uuid.uuid4().hex[:8]}@example.org"
    created = http.post(
        "/forms/contact", json={"name": "Ana", "email": address, "message": "Printer on fire."}
    )
    reference = created.json()["reference"]
    agent = {"Authorization": f"Bearer {AGENT_TOKEN}"}

    listed = http.get("/tickets", params={"requester": address}, headers=agent)
    read = http.get(f"/tickets/{reference}", headers=agent)
    resolved = http.patch(f"/tickets/{reference}", json={"status": "resolved"}, headers=agent)

    assert [ticket["reference"] for ticket in listed.json()["tickets"]] == [reference]
    assert read.json()["messages"][0]["body_text"] == "Printer on fire."
    assert resolved.status_code == 200 and resolved.json()["ticket"]["status"] == "resolved"


def test_an_agent_reply_reaches_the_customer_in_the_thread(http: httpx.Client, local_stack: RunningStack):
    address = f"agent-reply-{uuid.uuid4().hex[:8]}@example.org"
    message = {"name": "Ana", "email": address, "subject": "Broken charger", "message": "It sparks."}
    reference = http.post("/forms/contact", json=message).json()["reference"]
    (ack,) = local_stack.wait_for_emails(lambda e: address in e["to"], 1)
    agent = {"Authorization": f"Bearer {AGENT_TOKEN}"}

    answer = {"text": "Please stop using it; a replacement is on its way."}
    posted = http.post(f"/tickets/{reference}/replies", json=answer, headers=agent)

    assert posted.status_code == 201
    emails = local_stack.wait_for_emails(lambda e: address in e["to"], 2)
    (reply,) = [email for email in emails if email["message_id"] != ack["message_id"]]
    assert reply["subject"] == f"Re: [{reference}] Broken charger"
    assert reply["headers"]["In-Reply-To"] == ack["message_id"]
    assert "a replacement is on its way" in reply["text"]
