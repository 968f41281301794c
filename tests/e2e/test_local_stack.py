"""The quick-start promise, over HTTP against `frontdesk dev`."""

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e


def request(tag: str) -> dict[str, str]:
    return {
        "name": "Олег Петров",
        "email": f"{tag}@example.org",
        "message": f"Заказ {tag} не пришёл. Помогите!",
    }


def test_health_and_form_page(http: httpx.Client):
    assert http.get("/_local/health").json() == {"status": "ok"}
    page = http.get("/forms/contact")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<form method="post" action="/forms/contact"' in page.text


def test_unknown_route_is_404(http: httpx.Client):
    assert http.get("/nowhere").status_code == 404
    assert http.delete("/forms/contact").status_code == 404


def test_a_post_creates_one_ticket_and_one_acknowledgement(http: httpx.Client, local_stack: RunningStack):
    tag = f"one-{uuid.uuid4().hex[:8]}"
    key = {"Idempotency-Key": str(uuid.uuid4())}

    first = http.post("/forms/contact", json=request(tag), headers=key)
    repeat = http.post("/forms/contact", json=request(tag), headers=key)

    assert first.status_code == 201
    reference = first.json()["reference"]
    assert repeat.status_code == 200 and repeat.json()["reference"] == reference
    emails = local_stack.wait_for_emails(lambda e: f"{tag}@example.org" in e["to"], 1)
    assert len(emails) == 1
    (email,) = emails
    assert reference in email["subject"]
    assert email["message_id"] == email["headers"]["Message-ID"]
    assert "Заказ" in email["text"]
    # nothing more arrives for the repeat
    assert len(local_stack.wait_for_emails(lambda e: f"{tag}@example.org" in e["to"], 2, timeout=2)) == 1


def test_twenty_concurrent_posts_make_twenty_tickets(http: httpx.Client, local_stack: RunningStack):
    batch = uuid.uuid4().hex[:6]
    tags = [f"crowd-{batch}-{n}" for n in range(20)]

    def post(tag: str) -> httpx.Response:
        with httpx.Client(base_url=local_stack.url, timeout=60) as client:
            return client.post("/forms/contact", json=request(tag))

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(post, tags))

    assert [response.status_code for response in responses] == [201] * 20
    references = {response.json()["reference"] for response in responses}
    assert len(references) == 20
    emails = local_stack.wait_for_emails(lambda e: f"crowd-{batch}-" in e["to"][0], 20, timeout=30)
    assert len(emails) == 20
    assert {next(ref for ref in references if ref in email["subject"]) for email in emails} == references


BAD_POSTS = [
    pytest.param({"name": "Ana", "message": "hi"}, 422, "email", id="missing-email"),
    pytest.param(
        {"name": "Ana", "email": "ana@@example", "message": "hi"}, 422, "email", id="malformed-email"
    ),
    pytest.param(
        {"name": "Ana", "email": "ana@example.org", "message": ""}, 422, "message", id="empty-message"
    ),
    pytest.param(
        {"name": "Ana\r\nBcc: all@example.com", "email": "ana@example.org", "message": "hi"},
        422,
        "name",
        id="crlf-in-name",
    ),
    pytest.param(
        {"name": "Ana", "email": "ana@example.org", "message": "x" * (1024 * 1024)},
        413,
        "body",
        id="one-megabyte-message",
    ),
]


@pytest.mark.parametrize(("payload", "status", "field"), BAD_POSTS)
def test_bad_posts_are_refused_and_send_nothing(
    http: httpx.Client, local_stack: RunningStack, payload, status, field
):
    before = len(local_stack.outbox())
    response = http.post("/forms/contact", json=payload)
    assert response.status_code == status
    assert field in [error["field"] for error in response.json()["errors"]]
    assert len(local_stack.wait_for_emails(lambda e: True, before + 1, timeout=1.5)) == before


def test_malformed_json_is_400(http: httpx.Client):
    response = http.post(
        "/forms/contact", content=b'{"name": "Ana",', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == {"errors": [{"field": "body", "message": "is not valid JSON"}]}


def test_browser_style_post_redirects_to_thanks(http: httpx.Client):
    tag = f"browser-{uuid.uuid4().hex[:8]}"
    response = http.post("/forms/contact", data={**request(tag), "submission_id": tag})
    assert response.status_code == 303
    thanks = http.get(response.headers["location"])
    assert thanks.status_code == 200
    reference = response.headers["location"].rsplit("=", 1)[1]
    assert f'id="reference">{reference}<' in thanks.text
