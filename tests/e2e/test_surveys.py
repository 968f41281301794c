"""The survey end to end: an agent answers and resolves over the API, the stack's scheduler sends
the survey after the delay, a customer answers it in Chromium; a second answer, a tampered link
and a reopening before the delay are all refused or cancelled."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import AGENT_TOKEN, SURVEY_DELAY_SECONDS, RunningStack, survey_stack

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

SURVEY_URL = re.compile(r"http://\S+/surveys/[A-Za-z0-9._-]+")
AGENT = {"Authorization": f"Bearer {AGENT_TOKEN}"}


@pytest.fixture(scope="module")
def stack() -> Iterator[RunningStack]:
    with survey_stack() as running:
        yield running


@pytest.fixture
def client(stack: RunningStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.url, timeout=30, follow_redirects=False) as opened:
        yield opened


def answered_ticket(client: httpx.Client, stack: RunningStack, language: str = "en") -> tuple[str, str]:
    """A form ticket with an agent's public reply delivered: (reference, customer address)."""
    address = f"survey-{uuid.uuid4().hex[:8]}@example.org"
    created = client.post(
        "/forms/contact",
        json={"name": "Ana", "email": address, "message": "My invoice is missing.", "locale": language},
    )
    assert created.status_code == 201, created.text
    reference = created.json()["reference"]
    replied = client.post(f"/tickets/{reference}/replies", json={"text": "Sent it again."}, headers=AGENT)
    assert replied.status_code == 201, replied.text
    replies = stack.wait_for_emails(
        lambda email: address in email["to"] and email["subject"].startswith("Re: "), 1
    )
    assert replies and replies[0]["headers"].get("In-Reply-To"), "the agent's reply was not threaded"
    return reference, address


def survey_emails(stack: RunningStack, reference: str, timeout: float) -> list[dict[str, Any]]:
    return stack.wait_for_emails(
        lambda email: email["subject"] == f"How did we do? [{reference}]", 1, timeout
    )


def schedules_of(client: httpx.Client, reference: str) -> list[dict[str, Any]]:
    return [item for item in client.get("/_local/schedules").json() if reference in item["name"]]


def test_a_resolved_ticket_is_surveyed_and_answered_once_in_the_browser(
    client: httpx.Client, stack: RunningStack, page: Page
) -> None:
    reference, _ = answered_ticket(client, stack)
    assert (
        client.patch(f"/tickets/{reference}", json={"status": "resolved"}, headers=AGENT).status_code == 200
    )

    (survey,) = survey_emails(stack, reference, timeout=SURVEY_DELAY_SECONDS + 20)
    assert survey["headers"]["Auto-Submitted"] == "auto-generated"
    link = SURVEY_URL.search(survey["text"])
    assert link is not None
    url = link.group(0)

    # A mail scanner's GET records nothing.
    assert client.get(url).status_code == 200

    page.goto(url)
    expect(page.get_by_role("heading", name="How did we do?")).to_be_visible()
    second_tab = page.context.new_page()
    second_tab.goto(url)
    page.get_by_label("4 Satisfied", exact=True).check()
    page.get_by_label("9", exact=True).check()
    page.get_by_label("Anything you would like to tell us? (optional)").fill(
        "Fast and friendly <b>thanks</b>"
    )
    page.get_by_role("button", name="Send my answer").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()

    # The same survey answered from a tab opened before: refused, the first answer kept.
    second_tab.get_by_label("1 Very dissatisfied").check()
    second_tab.get_by_role("button", name="Send my answer").click()
    expect(second_tab.get_by_role("heading", name="Answer already recorded")).to_be_visible()

    # Back to the questions (the page is never cached): they are not asked again.
    page.go_back()
    expect(page.get_by_role("heading", name="Answer already recorded")).to_be_visible()
    # A second answer posted anyway is refused and the first one kept.
    again = client.post(url, data={"csat": "1"})
    assert again.status_code == 409 and 'data-kind="already"' in again.text

    ticket = client.get(f"/tickets/{reference}", headers=AGENT).json()["ticket"]
    assert ticket["survey"]["csat"] == 4 and ticket["survey"]["nps"] == 9
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        published = [
            event
            for event in client.get("/_local/events").json()
            if event["detail-type"] == "survey.answered"
        ]
        if any(event["detail"]["reference"] == reference for event in published):
            break
        time.sleep(0.2)
    else:
        pytest.fail("survey.answered was not published")


def test_a_tampered_link_is_a_404_and_the_api_needs_a_token(
    client: httpx.Client, stack: RunningStack
) -> None:
    reference, _ = answered_ticket(client, stack)
    client.patch(f"/tickets/{reference}", json={"status": "resolved"}, headers=AGENT)
    (survey,) = survey_emails(stack, reference, timeout=SURVEY_DELAY_SECONDS + 20)
    url = SURVEY_URL.search(survey["text"]).group(0)  # type: ignore[union-attr]

    tampered = url.replace(reference, reference[:-1] + ("A" if not reference.endswith("A") else "B"))
    assert client.get(tampered).status_code == 404
    assert client.post(tampered, data={"csat": "5"}).status_code == 404
    assert client.get(url[:-3]).status_code == 404
    assert client.get(f"/tickets/{reference}").status_code == 401


def test_reopening_before_the_delay_cancels_the_survey(client: httpx.Client, stack: RunningStack) -> None:
    reference, _ = answered_ticket(client, stack)
    client.patch(f"/tickets/{reference}", json={"status": "resolved"}, headers=AGENT)
    deadline = time.monotonic() + 5
    while not schedules_of(client, reference) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert schedules_of(client, reference), "no survey was scheduled"

    assert client.patch(f"/tickets/{reference}", json={"status": "open"}, headers=AGENT).status_code == 200

    deadline = time.monotonic() + 5
    while schedules_of(client, reference) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not schedules_of(client, reference)
    assert survey_emails(stack, reference, timeout=SURVEY_DELAY_SECONDS + 3) == []


def test_another_sites_page_cannot_answer_for_the_customer(
    client: httpx.Client, stack: RunningStack, page: Page
) -> None:
    reference, _ = answered_ticket(client, stack)
    client.patch(f"/tickets/{reference}", json={"status": "resolved"}, headers=AGENT)
    (survey,) = survey_emails(stack, reference, timeout=SURVEY_DELAY_SECONDS + 20)
    url = SURVEY_URL.search(survey["text"]).group(0)  # type: ignore[union-attr]

    # A page elsewhere that knows the link posts a score as soon as it is opened
    page.set_content(
        f"<form id='forged' method='post' action='{url}'><input name='csat' value='1'></form>"
        "<script>document.getElementById('forged').submit()</script>"
    )
    page.wait_for_url(url)
    expect(page.get_by_role("heading", name="Answer not recorded")).to_be_visible()
    ticket = client.get(f"/tickets/{reference}", headers=AGENT).json()["ticket"]
    assert ticket.get("survey") is None

    # The customer, on the survey page itself, still can
    page.goto(url)
    page.get_by_label("5 Very satisfied").check()
    page.get_by_role("button", name="Send my answer").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    ticket = client.get(f"/tickets/{reference}", headers=AGENT).json()["ticket"]
    assert ticket["survey"]["csat"] == 5
