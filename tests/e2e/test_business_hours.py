"""Out-of-hours and in-hours acknowledgements, against `frontdesk dev --clock ...`.

The default configuration's desk keeps Berlin office hours (Mon-Thu 09:00-17:00, Fri to 16:00).
"""

import uuid
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e


def post_form(stack: RunningStack, fields: dict[str, str], headers: dict[str, str]) -> httpx.Response:
    """As a browser posts the form: url-encoded, with its Accept-Language."""
    with httpx.Client(base_url=stack.url, timeout=30) as client:
        return client.post(
            "/forms/contact",
            content=urlencode(fields),
            headers={"Content-Type": "application/x-www-form-urlencoded", **headers},
        )


def acknowledgement(stack: RunningStack, address: str) -> dict[str, Any]:
    (email,) = stack.wait_for_emails(lambda e: address in e["to"], 1)
    return email


def test_on_saturday_night_the_acknowledgement_says_when_the_desk_reopens(closed_stack: RunningStack):
    address = f"sat-{uuid.uuid4().hex[:8]}@example.org"
    fields = {"name": "Олег", "email": address, "message": "Не могу войти в личный кабинет."}

    response = post_form(closed_stack, fields, {"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"})

    assert response.status_code == 303
    email = acknowledgement(closed_stack, address)
    assert email["headers"]["Content-Language"] == "ru"
    text = " ".join(email["text"].split())
    # Monday 09:00 in Berlin, written for a Russian reader, in the desk's time zone.
    assert "понедельник, 30 ноября 2026 г., 09:00 (Центральная Европа, стандартное время)" in text
    assert "+49 30 1234 5678" in text  # the configured urgent note, in Russian
    assert 'id="out-of-hours"' in email["html"]


def test_out_of_hours_times_are_in_the_customers_time_zone_when_known(closed_stack: RunningStack):
    address = f"almaty-{uuid.uuid4().hex[:8]}@example.org"
    payload = {
        "name": "Айгүл",
        "email": address,
        "message": "Менің шотым бұғатталды, көмектесіңізші.",
        "locale": "kk-KZ",
        "time_zone": "Asia/Almaty",
    }
    with httpx.Client(base_url=closed_stack.url, timeout=30) as client:
        assert client.post("/forms/contact", json=payload).status_code == 201

    email = acknowledgement(closed_stack, address)
    assert email["headers"]["Content-Language"] == "kk"
    # Monday 09:00 in Berlin is 13:00 in Almaty (UTC+5).
    assert "2026 ж. 30 қараша, дүйсенбі, 13:00" in " ".join(email["text"].split())


def test_in_office_hours_the_acknowledgement_promises_an_answer(local_stack: RunningStack):
    address = f"wed-{uuid.uuid4().hex[:8]}@example.org"
    fields = {"name": "Ana", "email": address, "message": "My invoice shows the wrong address."}

    response = post_form(local_stack, fields, {"Accept-Language": "en-GB,en;q=0.9"})

    assert response.status_code == 303
    email = acknowledgement(local_stack, address)
    text = " ".join(email["text"].split())
    assert "a member of our team will answer by Monday, November 30, 2026" in text
    assert "away" not in text
    assert 'id="out-of-hours"' not in email["html"]
