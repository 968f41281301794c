"""Script injection, checked where it would run: in Chromium.

A customer's name, subject and message carrying script payloads go through the real handlers of
`frontdesk dev` (the form, a ticket, the acknowledgement the stream consumer sends, an agent's
reply, the survey email and its page, the form and the survey page shown again with errors, mail
over SMTP), and every HTML that comes out is loaded into the browser: pages over HTTP (with
their Content-Security-Policy), and the same pages and every email's HTML part with no policy at
all, as a mail client without one would show them, so escaping alone must hold. No script may
run (window.__xss stays undefined, no dialog opens), no request may reach the attacker's host,
no element may carry an event handler or a javascript: link, and the payloads must read as text.
"""

from __future__ import annotations

import re
import smtplib
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.conftest import AGENT_TOKEN, SURVEY_DELAY_SECONDS, RunningStack, survey_stack

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

SURVEY_URL = re.compile(r"http://\S+/surveys/[A-Za-z0-9._-]+")
AGENT = {"Authorization": f"Bearer {AGENT_TOKEN}"}
ATTACKER = "attacker.invalid"

# One line each: names and subjects are single-line fields. A right-to-left mark and a zero-width
# space are allowed in them; bidi overrides are refused at intake (tests/unit/test_form_rules.py).
NAME = 'Ana\u200f\u200b<img src=x onerror="window.__xss=1">'
SUBJECT = "\"><svg onload=window.__xss=1><script>window.__xss=1</script>'"
MESSAGE_LINES = [
    "<script>window.__xss=1</script>",
    f'<img src="http://{ATTACKER}/pixel.png" onerror="window.__xss=1">',
    '"><svg onload="window.__xss=1">',
    '<a href="javascript:window.__xss=1">click me</a>',
    "javascript:window.__xss=1",
    f'<meta http-equiv="refresh" content="0;url=http://{ATTACKER}/">',
    f'<iframe src="http://{ATTACKER}/"></iframe><style>@import url(http://{ATTACKER}/x.css)</style>',
    "Invoice \u202egnp.exe and a zero\u200bwidth space",
]
MESSAGE = "\n".join(MESSAGE_LINES)
REPLY = "We looked at <script>window.__xss=1</script> and <img src=x onerror=window.__xss=1> for you."
COMMENT = '</textarea><script>window.__xss=1</script><img src=x onerror="window.__xss=1">'

# The elements and attributes a payload would need; none of Frontdesk's templates uses them.
_DANGEROUS = """() => {
  const all = [...document.querySelectorAll('*')];
  return {
    scripts: document.querySelectorAll('script, iframe, object, embed, svg, meta[http-equiv]').length,
    handlers: all.filter(e => [...e.attributes].some(a => a.name.toLowerCase().startsWith('on'))).length,
    javascriptUrls: all.filter(e => ['href', 'src', 'action', 'formaction'].some(
      name => /^\\s*javascript:/i.test(e.getAttribute(name) || ''))).length,
    xss: typeof window.__xss,
  };
}"""


@pytest.fixture(scope="module")
def stack() -> Iterator[RunningStack]:
    with survey_stack() as running:
        yield running


@pytest.fixture
def client(stack: RunningStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.url, timeout=30, follow_redirects=False) as opened:
        yield opened


class Watched:
    """A browser context that records what a payload would do: dialogs and requests."""

    def __init__(self, browser: Browser) -> None:
        self.context: BrowserContext = browser.new_context()
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        self.context.on("request", lambda request: self.requests.append(request.url))
        # Nothing may leave for the attacker's host, even if the network would let it.
        self.context.route(f"**://{ATTACKER}/**", lambda route: route.abort())
        self.page: Page = self.context.new_page()
        self.page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def assert_inert(self, where: str) -> None:
        found = self.page.evaluate(_DANGEROUS)
        assert found == {"scripts": 0, "handlers": 0, "javascriptUrls": 0, "xss": "undefined"}, where
        assert self.dialogs == [], where
        assert [url for url in self.requests if ATTACKER in url] == [], where

    def show(self, html: str, where: str) -> str:
        """Load `html` with no Content-Security-Policy to fall back on; its visible text."""
        self.page.set_content(html, wait_until="load")
        self.assert_inert(where)
        return self.page.locator("body").inner_text()


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    opened = Watched(browser)
    yield opened
    opened.context.close()


def visible(text: str) -> str:
    """Text as the test compares it: white space collapsed (HTML shows runs of it as one)."""
    return " ".join(text.split())


def test_a_hostile_form_post_is_inert_in_every_page_and_email(
    stack: RunningStack, client: httpx.Client, watched: Watched
) -> None:
    page = watched.page
    address = f"xss-{uuid.uuid4().hex[:8]}@example.org"

    # The form, typed into by the customer, with a mistake: the page comes back with the values
    page.goto(f"{stack.url}/forms/contact")
    page.get_by_label("Your name").fill(NAME)
    page.get_by_label("Email address").fill("not-an-address")
    page.get_by_label("Subject (optional)").fill(SUBJECT)
    page.get_by_label("How can we help?").fill(MESSAGE)
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("alert")).to_contain_text("There is a problem")
    watched.assert_inert("the form shown again with errors")
    expect(page.get_by_label("Your name")).to_have_value(NAME)
    expect(page.get_by_label("Subject (optional)")).to_have_value(SUBJECT)
    expect(page.get_by_label("How can we help?")).to_have_value(MESSAGE)

    # The same page without its Content-Security-Policy: escaping alone holds
    echoed = client.post(
        "/forms/contact", data={"name": NAME, "email": "x", "subject": SUBJECT, "message": MESSAGE}
    )
    assert echoed.status_code == 422
    watched.show(echoed.text, "the form with errors, no CSP")
    assert watched.page.get_by_label("Your name").input_value() == NAME
    assert watched.page.get_by_label("How can we help?").input_value() == MESSAGE

    # Corrected and sent: the thank-you page
    page.goto(f"{stack.url}/forms/contact")
    page.get_by_label("Your name").fill(NAME)
    page.get_by_label("Email address").fill(address)
    page.get_by_label("Subject (optional)").fill(SUBJECT)
    page.get_by_label("How can we help?").fill(MESSAGE)
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you, we have your message")
    watched.assert_inert("the thank-you page")
    reference = page.locator("#reference").inner_text()

    # The acknowledgement, sent by the stream consumer
    (ack,) = stack.wait_for_emails(lambda email: address in email["to"], 1)
    assert SUBJECT in ack["subject"]
    text = visible(watched.show(ack["html"], "the acknowledgement"))
    assert visible(f"Hello {NAME},") in text
    for line in MESSAGE_LINES:
        assert visible(line) in text, line

    # An agent's reply quoting the payloads
    replied = client.post(f"/tickets/{reference}/replies", json={"text": REPLY}, headers=AGENT)
    assert replied.status_code == 201, replied.text
    (reply,) = stack.wait_for_emails(
        lambda email: address in email["to"] and email["subject"].startswith("Re: "), 1
    )
    assert SUBJECT in reply["subject"]
    assert visible(REPLY) in visible(watched.show(reply["html"], "the agent's reply"))
    assert watched.page.title() == SUBJECT  # the subject, as the <title>, is text too

    # Resolved: the survey email, and its page
    assert (
        client.patch(f"/tickets/{reference}", json={"status": "resolved"}, headers=AGENT).status_code == 200
    )
    (survey,) = stack.wait_for_emails(
        lambda email: email["subject"] == f"How did we do? [{reference}]", 1, SURVEY_DELAY_SECONDS + 20
    )
    watched.show(survey["html"], "the survey email")
    hrefs = watched.page.eval_on_selector_all("a", "links => links.map(link => link.href)")
    assert hrefs and all(href.startswith(f"{stack.url}/surveys/") for href in hrefs)
    link = SURVEY_URL.search(survey["text"])
    assert link is not None
    url = link.group(0)

    page.goto(url)
    expect(page.get_by_role("heading", name="How did we do?")).to_be_visible()
    watched.assert_inert("the survey page")
    # No score chosen, a hostile comment: the page comes back with the comment, as text
    page.get_by_label("Anything you would like to tell us? (optional)").fill(COMMENT)
    page.get_by_role("button", name="Send my answer").click()
    expect(page.get_by_role("alert")).to_contain_text("Choose how satisfied you are")
    watched.assert_inert("the survey page shown again with errors")
    expect(page.get_by_label("Anything you would like to tell us? (optional)")).to_have_value(COMMENT)

    rejected = client.post(url, data={"comment": COMMENT})
    assert rejected.status_code == 400
    watched.show(rejected.text, "the survey page with errors, no CSP")
    assert (
        watched.page.get_by_label("Anything you would like to tell us? (optional)").input_value() == COMMENT
    )

    page.get_by_label("4 Satisfied", exact=True).check()
    page.get_by_role("button", name="Send my answer").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    watched.assert_inert("the survey's thank-you page")


def test_a_reflected_payload_posted_from_another_site_does_not_run(
    stack: RunningStack, client: httpx.Client, watched: Watched
) -> None:
    """Another site's page posts to the form (allowed: websites post to it by design) with
    payloads in the values and in field names; the error page it lands on must not run them."""
    fields = {
        "name": NAME,
        "email": '"><script>window.__xss=1</script>',
        "message": MESSAGE,
        "<img src=x onerror=window.__xss=1>": "1",
        "javascript:window.__xss=1": "<script>window.__xss=1</script>",
    }
    inputs = "".join(
        f"<input type='hidden' name='{_attribute(name)}' value='{_attribute(value)}'>"
        for name, value in fields.items()
    )
    watched.page.set_content(
        f"<form id='f' method='post' action='{stack.url}/forms/contact'>{inputs}</form>"
        "<script>document.getElementById('f').submit()</script>"
    )
    watched.page.wait_for_url(f"{stack.url}/forms/contact")
    expect(watched.page.get_by_role("alert")).to_contain_text("There is a problem")
    watched.assert_inert("the form's error page, reached from another site")
    expect(watched.page.get_by_role("alert")).to_contain_text("<img src=x onerror=window.__xss=1>")

    echoed = client.post("/forms/contact", content=urlencode(fields), headers=_FORM)
    assert echoed.status_code == 422
    text = watched.show(echoed.text, "the form's error page, no CSP")
    assert "<img src=x onerror=window.__xss=1>" in text
    assert watched.page.get_by_label("Email address").input_value() == fields["email"]

    # The thank-you page echoes only a well-formed reference
    watched.page.goto(
        f"{stack.url}/forms/contact/thanks?reference=" + "%3Cscript%3Ewindow.__xss=1%3C/script%3E"
    )
    watched.assert_inert("the thank-you page with a hostile reference")


_FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _attribute(value: str) -> str:
    return value.replace("&", "&amp;").replace("'", "&#39;").replace("<", "&lt;")


def test_hostile_mail_over_smtp_is_acknowledged_inertly(stack: RunningStack, watched: Watched) -> None:
    address = f"xss-mail-{uuid.uuid4().hex[:8]}@example.org"
    mail = EmailMessage()
    mail["From"] = f'"<img src=x onerror=window.__xss=1>" <{address}>'
    mail["To"] = "support@example.com"
    mail["Subject"] = SUBJECT
    mail["Message-ID"] = make_msgid(domain="mail.example.org")
    mail.set_content(MESSAGE)
    mail.add_alternative(
        "<html><body><p>Hello</p><script>window.__xss=1</script>"
        f"<img src='http://{ATTACKER}/track.png' onerror='window.__xss=1'>"
        "<a href='javascript:window.__xss=1'>click</a></body></html>",
        subtype="html",
    )
    with smtplib.SMTP("127.0.0.1", stack.smtp_port, timeout=30) as smtp:
        smtp.send_message(mail)

    (ack,) = stack.wait_for_emails(lambda email: address in email["to"], 1)
    text = visible(watched.show(ack["html"], "the acknowledgement of hostile mail"))
    assert "Hello <img src=x onerror=window.__xss=1>," in text
    assert visible(MESSAGE_LINES[0]) in text
