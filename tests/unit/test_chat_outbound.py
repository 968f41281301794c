"""Answers through platform APIs: the requests sent, which failures are worth a retry, and when
a messaging app's customer-service window lets a message through."""

import base64
import io
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest

from frontdesk.chat.outbound import ChatSender, PermanentChatError, TransientChatError
from frontdesk.chat.providers import PROVIDERS
from frontdesk.chat.providers.base import ProviderSecrets, WebhookRejectedError, WebhookRequest
from frontdesk.chat.reach import can_reach, reply_window_closes_at
from frontdesk.chat.settings import ChatProviderSettings
from frontdesk.config import Settings
from frontdesk.tickets.model import Channel, Requester, Ticket

NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
SETTINGS = ChatProviderSettings.model_validate(
    {"signing_secret": "s3cret-s3cret", "api_token": "xoxb-token", "api_base_url": "http://127.0.0.1:9/api"}
)
TELEGRAM = ChatProviderSettings.model_validate(
    {
        "signing_secret": "webhook-secret-token",
        "api_token": "123456:ABC-DEF",
        "api_base_url": "http://127.0.0.1:9",
    }
)
TWILIO = ChatProviderSettings.model_validate(
    {"signing_secret": "twilio-auth-token", "api_base_url": "http://127.0.0.1:9/"}
)
GENERIC = ChatProviderSettings.model_validate(
    {"signing_secret": "generic-shared-secret", "callback_url": "https://chat.example.com/frontdesk?site=1"}
)
SIGNED_AT = 1_795_000_000.0  # the wall clock a generic callback is signed at


def ticket(
    source: str,
    reply_to: dict[str, str],
    *,
    conversation: str = "conversation",
    wrote_at: datetime | None = None,
    email: str | None = None,
) -> Ticket:
    return Ticket(
        reference="FD-7K3M-Q9TX",
        channel=Channel.CHAT if source in ("slack", "telegram", "generic") else Channel.SOCIAL,
        source=source,
        subject="Help",
        requester=Requester(handle=f"{source}:someone", email=email),
        language="en",
        created_at=NOW,
        updated_at=NOW,
        conversation_id=f"{source}:{conversation}",
        reply_to=reply_to,
        customer_wrote_at=wrote_at,
    )


class Recorder:
    """Stands in for urlopen: records the request, answers with `answer` or raises it."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.requests: list[urllib.request.Request] = []

    def __call__(self, request: urllib.request.Request, timeout: float) -> Any:
        self.requests.append(request)
        if isinstance(self.answer, Exception):
            raise self.answer
        return io.BytesIO(json.dumps(self.answer).encode())

    def sent(self) -> tuple[str, dict[str, Any], dict[str, str]]:
        url, body, headers = self.raw()
        return url, json.loads(body), headers

    def raw(self) -> tuple[str, bytes, dict[str, str]]:
        (request,) = self.requests
        assert isinstance(request.data, bytes)
        return request.full_url, request.data, dict(request.header_items())


def http_error(code: int, answer: dict[str, Any] | None = None) -> urllib.error.HTTPError:
    body = io.BytesIO(json.dumps(answer).encode()) if answer is not None else None
    return urllib.error.HTTPError("http://x", code, "error", {}, body)  # type: ignore[arg-type]


def test_slack_gets_chat_post_message_in_the_thread_with_the_bot_token():
    opener = Recorder({"ok": True, "ts": "1700000000.000200"})

    sent_id = ChatSender(opener).send(
        ticket("slack", {"channel": "D01", "thread_ts": "1.5"}), "Thanks!", SETTINGS
    )

    url, payload, headers = opener.sent()
    assert sent_id == "1700000000.000200"
    assert url == "http://127.0.0.1:9/api/chat.postMessage"
    assert payload == {"channel": "D01", "text": "Thanks!", "thread_ts": "1.5"}
    assert headers["Authorization"] == "Bearer xoxb-token"


def test_whatsapp_gets_a_text_message_from_its_phone_number():
    opener = Recorder({"messages": [{"id": "wamid.X"}]})
    reply_to = {"platform": "whatsapp", "phone_number_id": "1122", "recipient_id": "97298"}

    assert ChatSender(opener).send(ticket("meta", reply_to), "Olá", SETTINGS) == "wamid.X"

    url, payload, _ = opener.sent()
    assert url == "http://127.0.0.1:9/api/1122/messages"
    assert payload == {
        "messaging_product": "whatsapp",
        "to": "97298",
        "type": "text",
        "text": {"body": "Olá", "preview_url": False},
    }


def test_messenger_gets_a_response_through_the_send_api():
    opener = Recorder({"recipient_id": "PSID", "message_id": "m_1"})
    reply_to = {"platform": "messenger", "page_id": "PAGE", "recipient_id": "PSID"}

    assert ChatSender(opener).send(ticket("meta", reply_to), "Hi", SETTINGS) == "m_1"

    url, payload, _ = opener.sent()
    assert url == "http://127.0.0.1:9/api/PAGE/messages"
    assert payload == {"recipient": {"id": "PSID"}, "messaging_type": "RESPONSE", "message": {"text": "Hi"}}


@pytest.mark.parametrize(
    "answer",
    [http_error(429), http_error(500), http_error(503), urllib.error.URLError("refused"), TimeoutError()],
)
def test_throttling_server_errors_and_timeouts_are_worth_a_retry(answer: Exception):
    with pytest.raises(TransientChatError):
        ChatSender(Recorder(answer)).send(ticket("slack", {"channel": "D01"}), "x", SETTINGS)


@pytest.mark.parametrize("code", [400, 401, 403, 404])
def test_refusals_are_final(code: int):
    with pytest.raises(PermanentChatError) as refused:
        ChatSender(Recorder(http_error(code))).send(ticket("slack", {"channel": "D01"}), "x", SETTINGS)
    assert refused.value.code == f"http_{code}"


def test_slack_says_no_with_ok_false_and_only_its_rate_limit_is_retried():
    with pytest.raises(PermanentChatError) as refused:
        ChatSender(Recorder({"ok": False, "error": "channel_not_found"})).send(
            ticket("slack", {"channel": "D01"}), "x", SETTINGS
        )
    assert refused.value.code == "channel_not_found"
    with pytest.raises(TransientChatError):
        ChatSender(Recorder({"ok": False, "error": "ratelimited"})).send(
            ticket("slack", {"channel": "D01"}), "x", SETTINGS
        )


def test_without_an_api_token_nothing_is_sent():
    opener = Recorder({"ok": True})
    no_token = ChatProviderSettings.model_validate({"signing_secret": "s3cret-s3cret"})

    with pytest.raises(PermanentChatError):
        ChatSender(opener).send(ticket("slack", {"channel": "D01"}), "x", no_token)
    assert opener.requests == []


# -- Telegram ---------------------------------------------------------------------------------------


def test_telegram_gets_send_message_with_the_bot_token_in_the_path():
    opener = Recorder({"ok": True, "result": {"message_id": 4711, "chat": {"id": -100123}}})

    sent_id = ChatSender(opener).send(ticket("telegram", {"chat_id": "-100123"}), "Привет!", TELEGRAM)

    url, payload, headers = opener.sent()
    assert sent_id == "4711"
    assert url == "http://127.0.0.1:9/bot123456:ABC-DEF/sendMessage"
    assert payload == {"chat_id": -100123, "text": "Привет!"}  # an integer, as Telegram sent it
    assert headers["Content-type"].startswith("application/json")
    assert "Authorization" not in headers  # the webhook's secret_token is never sent
    assert "webhook-secret-token" not in url


def test_telegram_answers_in_the_forum_topic_the_customer_wrote_in():
    opener = Recorder({"ok": True, "result": {"message_id": 1}})

    ChatSender(opener).send(
        ticket("telegram", {"chat_id": "-1001", "message_thread_id": "7"}), "Hi", TELEGRAM
    )

    assert opener.sent()[1] == {"chat_id": -1001, "text": "Hi", "message_thread_id": 7}


def test_telegram_refusals_are_final_and_its_throttling_is_retried():
    blocked = http_error(
        403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
    )
    with pytest.raises(PermanentChatError) as refused:
        ChatSender(Recorder(blocked)).send(ticket("telegram", {"chat_id": "1"}), "x", TELEGRAM)
    assert refused.value.code == "http_403"

    for answer in (
        http_error(429, {"ok": False, "error_code": 429, "parameters": {"retry_after": 3}}),
        {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 3"},
        {"ok": False, "error_code": 502, "description": "Bad Gateway"},
    ):
        with pytest.raises(TransientChatError):
            ChatSender(Recorder(answer)).send(ticket("telegram", {"chat_id": "1"}), "x", TELEGRAM)
    with pytest.raises(PermanentChatError) as refused:
        ChatSender(
            Recorder({"ok": False, "error_code": 400, "description": "Bad Request: chat not found"})
        ).send(ticket("telegram", {"chat_id": "1"}), "x", TELEGRAM)
    assert refused.value.code == "http_400"


def test_telegram_without_a_bot_token_sends_nothing():
    opener = Recorder({"ok": True})
    webhook_only = ChatProviderSettings.model_validate({"signing_secret": "webhook-secret-token"})

    with pytest.raises(PermanentChatError) as refused:
        ChatSender(opener).send(ticket("telegram", {"chat_id": "1"}), "x", webhook_only)

    assert refused.value.code == "no_api_token" and opener.requests == []


# -- Twilio -----------------------------------------------------------------------------------------

TWILIO_WHATSAPP = {"to": "whatsapp:+4915112345678", "from": "whatsapp:+14155238886", "account_sid": "AC0123"}


def test_twilio_gets_a_form_post_with_basic_auth_from_our_number():
    opener = Recorder({"sid": "SM9f8e", "status": "queued"})

    sent_id = ChatSender(opener).send(ticket("twilio", TWILIO_WHATSAPP), "Olá & até já", TWILIO)

    url, body, headers = opener.raw()
    assert sent_id == "SM9f8e"
    assert url == "http://127.0.0.1:9/2010-04-01/Accounts/AC0123/Messages.json"
    assert headers["Content-type"] == "application/x-www-form-urlencoded"
    assert parse_qsl(body.decode()) == [
        ("To", "whatsapp:+4915112345678"),
        ("From", "whatsapp:+14155238886"),
        ("Body", "Olá & até já"),
    ]
    scheme, _, credentials = headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(credentials).decode() == "AC0123:twilio-auth-token"


@pytest.mark.parametrize("code", [429, 500, 503])
def test_twilio_throttling_and_server_errors_are_retried(code: int):
    with pytest.raises(TransientChatError):
        ChatSender(Recorder(http_error(code, {"code": 20429}))).send(
            ticket("twilio", TWILIO_WHATSAPP), "x", TWILIO
        )


def test_a_twilio_refusal_is_final_with_its_error_code():
    invalid = http_error(400, {"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400})
    with pytest.raises(PermanentChatError) as refused:
        ChatSender(Recorder(invalid)).send(ticket("twilio", TWILIO_WHATSAPP), "x", TWILIO)
    assert refused.value.code == "twilio_21211"

    with pytest.raises(PermanentChatError) as refused:
        ChatSender(Recorder(http_error(401))).send(ticket("twilio", TWILIO_WHATSAPP), "x", TWILIO)
    assert refused.value.code == "http_401"  # no Twilio body: the status


def test_a_twilio_ticket_without_its_account_sends_nothing():
    opener = Recorder({"sid": "SM1"})
    before_account_sids = {"to": "+15550001", "from": "+15550002"}

    with pytest.raises(PermanentChatError) as refused:
        ChatSender(opener).send(ticket("twilio", before_account_sids), "x", TWILIO)

    assert refused.value.code == "no_account_sid" and opener.requests == []


# -- generic ----------------------------------------------------------------------------------------


def test_a_generic_callback_is_signed_so_the_inbound_verifier_accepts_it():
    opener = Recorder({"id": "site-msg-1"})
    sender = ChatSender(opener, wall_clock=lambda: SIGNED_AT)

    sent_id = sender.send(
        ticket("generic", {}, conversation="chat-5521"), "Your invoice is attached.", GENERIC, message_id="m1"
    )

    url, body, headers = opener.raw()
    assert sent_id == "site-msg-1"
    assert url == "https://chat.example.com/frontdesk?site=1"
    assert json.loads(body) == {
        "conversation_id": "chat-5521",  # the site's own id, as its webhook sent it
        "text": "Your invoice is attached.",
        "reference": "FD-7K3M-Q9TX",
        "message_id": "m1",
    }
    assert headers["X-frontdesk-timestamp"] == str(int(SIGNED_AT))
    received = WebhookRequest(
        method="POST",
        url=url,
        headers={name.lower(): value for name, value in headers.items()},
        query={},
        body=body,
        received_at=datetime.fromtimestamp(SIGNED_AT + 30, UTC),
    )
    PROVIDERS["generic"].verify(received, ProviderSecrets("generic-shared-secret"))  # raises if not
    with pytest.raises(WebhookRejectedError):
        PROVIDERS["generic"].verify(received, ProviderSecrets("another-sites-secret"))


@pytest.mark.parametrize(("answer", "sent_id"), [(b"OK", ""), (b"", ""), (b'{"id": 42}', "42"), (b"[1]", "")])
def test_any_2xx_from_a_generic_receiver_is_delivered(answer: bytes, sent_id: str):
    def opener(request: urllib.request.Request, timeout: float) -> io.BytesIO:
        return io.BytesIO(answer)

    assert ChatSender(opener).send(ticket("generic", {}), "x", GENERIC) == sent_id


def test_generic_refusals_and_outages():
    with pytest.raises(PermanentChatError) as refused:
        ChatSender(Recorder(http_error(410))).send(ticket("generic", {}), "x", GENERIC)
    assert refused.value.code == "http_410"
    with pytest.raises(TransientChatError):
        ChatSender(Recorder(http_error(503))).send(ticket("generic", {}), "x", GENERIC)


def test_without_a_callback_url_a_generic_ticket_sends_nothing():
    opener = Recorder({})
    no_callback = ChatProviderSettings.model_validate({"signing_secret": "generic-shared-secret"})

    with pytest.raises(PermanentChatError) as refused:
        ChatSender(opener).send(ticket("generic", {}), "x", no_callback)

    assert refused.value.code == "no_callback_url" and opener.requests == []


@pytest.mark.parametrize(
    "url",
    ["http://chat.example.com/cb", "ftp://chat.example.com/cb", "https://user:pw@chat.example.com/", "cb"],
)
def test_a_callback_url_is_https_or_local(url: str):
    with pytest.raises(ValueError, match="https"):
        ChatProviderSettings.model_validate({"signing_secret": "generic-shared-secret", "callback_url": url})
    for local in (
        "http://127.0.0.1:8000/_local/chat-api/generic",
        "http://localhost/cb",
        "http://[::1]:9/cb",
    ):
        ChatProviderSettings.model_validate(
            {"signing_secret": "generic-shared-secret", "callback_url": local}
        )


@pytest.fixture
def redirecting_server() -> Iterator[str]:
    class Redirect(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.send_response(302)
            self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/callback"
    server.shutdown()


def test_a_redirected_callback_is_not_followed_as_a_get(redirecting_server: str):
    provider = ChatProviderSettings.model_validate(
        {"signing_secret": "generic-shared-secret", "callback_url": redirecting_server}
    )

    with pytest.raises(PermanentChatError) as refused:
        ChatSender().send(ticket("generic", {}), "x", provider)

    assert refused.value.code == "http_302"


# -- customer-service windows -----------------------------------------------------------------------

DESK = Settings.model_validate(
    {
        "sender_address": "support@example.com",
        "support_domain": "example.com",
        "tickets_table_name": "tickets",
        "chat": {
            "providers": {
                "meta": {"signing_secret": "meta-app-secret", "api_token": "EAAG"},
                "twilio": {"signing_secret": "twilio-auth-token"},
                "telegram": {"signing_secret": "webhook-secret-token", "api_token": "123456:ABC-DEF"},
                "slack": {"signing_secret": "slack-signing-secret", "api_token": "xoxb-token"},
                "generic": {"signing_secret": "generic-shared-secret"},  # no callback_url
            }
        },
    }
)
WHATSAPP = {"platform": "whatsapp", "phone_number_id": "1122", "recipient_id": "97298"}
MESSENGER = {"platform": "messenger", "page_id": "PAGE", "recipient_id": "PSID"}
INSTAGRAM = {"platform": "instagram", "page_id": "IGPAGE", "recipient_id": "IGSID"}


@pytest.mark.parametrize(
    ("source", "reply_to"),
    [("meta", WHATSAPP), ("meta", MESSENGER), ("meta", INSTAGRAM), ("twilio", TWILIO_WHATSAPP)],
)
def test_messaging_apps_take_messages_for_24_hours_after_the_customers_last(
    source: str, reply_to: dict[str, str]
):
    wrote_at = NOW + timedelta(hours=30)  # a later message than the first
    chat = ticket(source, reply_to, wrote_at=wrote_at)

    assert reply_window_closes_at(chat) == wrote_at + timedelta(hours=24)
    assert can_reach(chat, DESK, wrote_at + timedelta(hours=23, minutes=59))
    assert not can_reach(chat, DESK, wrote_at + timedelta(hours=24))
    assert not can_reach(chat, DESK, wrote_at + timedelta(days=3))


def test_a_ticket_from_before_customer_wrote_at_counts_from_its_creation():
    chat = ticket("meta", WHATSAPP)

    assert reply_window_closes_at(chat) == NOW + timedelta(hours=24)
    assert not can_reach(chat, DESK, NOW + timedelta(hours=25))


@pytest.mark.parametrize(
    ("source", "reply_to"),
    [
        ("telegram", {"chat_id": "1"}),
        ("slack", {"channel": "D01"}),
        ("twilio", {"to": "+15550001", "from": "+15550002", "account_sid": "AC1"}),  # SMS
    ],
)
def test_telegram_slack_and_sms_have_no_window(source: str, reply_to: dict[str, str]):
    chat = ticket(source, reply_to, wrote_at=NOW)

    assert reply_window_closes_at(chat) is None
    assert can_reach(chat, DESK, NOW + timedelta(days=30))


def test_email_has_no_window_and_needs_an_address():
    mailed = ticket("contact", {}, wrote_at=NOW, email="ana@example.org").model_copy(
        update={"conversation_id": None, "channel": Channel.WEB_FORM}
    )

    assert reply_window_closes_at(mailed) is None
    assert can_reach(mailed, DESK, NOW + timedelta(days=30))
    assert not can_reach(mailed.model_copy(update={"requester": Requester(handle="x")}), DESK, NOW)


def test_a_channel_is_reachable_only_with_what_sending_needs():
    assert not can_reach(ticket("generic", {}), DESK, NOW)  # no callback_url
    with_callback = DESK.with_sections(
        chat=DESK.chat.model_copy(update={"providers": {**DESK.chat.providers, "generic": GENERIC}})
    )
    assert can_reach(ticket("generic", {}), with_callback, NOW)
    assert not can_reach(ticket("twilio", {"to": "+15550001", "from": "+15550002"}), DESK, NOW)  # no account
    assert not can_reach(ticket("telegram", {}), DESK, NOW)  # no chat id
    unconfigured = DESK.with_sections(chat=DESK.chat.model_copy(update={"providers": {}}))
    assert not can_reach(ticket("telegram", {"chat_id": "1"}), unconfigured, NOW)
