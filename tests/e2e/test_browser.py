"""A person with a browser: Playwright driving Debian's Chromium against `frontdesk dev`."""

import uuid

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import RunningStack

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_submit_the_form_and_get_an_acknowledgement(page: Page, local_stack: RunningStack):
    email = f"browser-{uuid.uuid4().hex[:8]}@example.org"
    page.goto(f"{local_stack.url}/forms/contact")

    # Keyboard only, by the labels people see.
    page.get_by_label("Your name").fill("Zahra Ahmadi")
    page.keyboard.press("Tab")
    page.keyboard.type(email)
    page.get_by_label("Subject (optional)").fill("Billing question")
    page.get_by_label("How can we help?").fill("I was charged twice for order 5521.")
    page.get_by_label("How can we help?").press("Tab")
    page.keyboard.press("Enter")  # focus is on Send: the hidden honeypot is out of the tab order

    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you, we have your message")
    reference = page.locator("#reference").inner_text()
    assert reference.startswith("FD-")
    emails = local_stack.wait_for_emails(lambda e: email in e["to"], 1)
    assert len(emails) == 1
    assert reference in emails[0]["subject"]
    assert "charged twice" in emails[0]["text"]


def test_errors_are_shown_next_to_the_fields(page: Page, local_stack: RunningStack):
    page.goto(f"{local_stack.url}/forms/contact")
    page.get_by_label("Your name").fill("<img src=x onerror=alert(1)>")
    page.get_by_label("Email address").fill("not-an-address")
    page.get_by_role("button", name="Send").click()

    expect(page.get_by_role("alert")).to_contain_text("There is a problem")
    email_field = page.get_by_label("Email address")
    expect(email_field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#email-error")).to_contain_text("Enter an email address")
    expect(page.locator("#message-error")).to_contain_text("Enter your message")
    assert "email-error" in (email_field.get_attribute("aria-describedby") or "")
    # What was typed comes back as text, never as markup.
    expect(page.get_by_label("Your name")).to_have_value("<img src=x onerror=alert(1)>")
    assert page.locator("img").count() == 0
    # The summary links take keyboard users to the field.
    page.get_by_role("link", name="Enter your message").click()
    expect(page.get_by_label("How can we help?")).to_be_focused()


def test_the_form_fits_a_phone_screen(browser: Browser, local_stack: RunningStack):
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True
    )
    phone = context.new_page()
    phone.goto(f"{local_stack.url}/forms/contact")
    scroll_width = phone.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 360
    box = phone.get_by_role("button", name="Send").bounding_box()
    assert box is not None and box["height"] >= 44  # a comfortable touch target
    phone.screenshot(path="test-results/form-phone.png", full_page=True)
    context.close()


def test_a_persian_visitor_gets_a_right_to_left_form_and_a_persian_answer(
    browser: Browser, local_stack: RunningStack
):
    email = f"fa-{uuid.uuid4().hex[:8]}@example.org"
    context = browser.new_context(locale="fa-IR")  # the browser sends Accept-Language: fa-IR
    page = context.new_page()
    try:
        page.goto(f"{local_stack.url}/forms/contact")
        assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
        expect(page.locator("html")).to_have_attribute("lang", "fa")

        page.get_by_label("نام شما").fill("زهرا احمدی")
        page.get_by_label("نشانی ایمیل").fill(email)
        page.get_by_role("button", name="ارسال").click()  # no message yet
        expect(page.get_by_role("alert")).to_contain_text("مشکلی پیش آمده است")
        expect(page.get_by_role("alert")).to_contain_text("پیام خود را بنویسید")

        page.get_by_label("چگونه می‌توانیم به شما کمک کنیم؟").fill("Order 5521 was charged twice.")
        page.get_by_role("button", name="ارسال").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("سپاسگزاریم، پیام شما را دریافت کردیم")
        assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    finally:
        context.close()

    # The page's language went along with the post, though the message itself is in English.
    (ack,) = local_stack.wait_for_emails(lambda e: email in e["to"], 1)
    assert ack["headers"]["Content-Language"] == "fa"
    assert '<html lang="fa" dir="rtl">' in ack["html"]
