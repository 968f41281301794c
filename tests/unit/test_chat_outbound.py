"""Answers through platform APIs: the requests sent, and which failures are worth a retry."""

import io
import json
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any

import pytest

from frontdesk.chat.outbound import ChatSender, PermanentChatError, TransientChatError
from frontdesk.config import ChatProviderSettings
from frontdesk.tickets.model import Channel, Requester, Ticket

NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
SETTINGS = ChatProviderSettings.model_validate(
    {"signing_secret": "s3cret-s3cret", "api_token": "xoxb-token", "api_base_url": "http://127.0.0.1:9/api"}
)


def ticket(source: str, reply_to: dict[str, str]) -> Ticket:
    return Ticket(
        reference="FD-7K3M-Q9TX",
        channel=Channel.CHAT if source == "slack" else Channel.SOCIAL,
        source=source,
        subject="Help",
        requester=Requester(handle=f"{source}:someone"),
        language="en",
        created_at=NOW,
        updated_at=NOW,
        conversation_id=f"{source}:conversation",
        reply_to=reply_to,
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
        (request,) = self.requests
        assert isinstance(request.data, bytes)
        return request.full_url, json.loads(request.data), dict(request.header_items())


def http_error(code: int) -> urllib.error.HTTPError:
    return urllib.error.HTTPError("http://x", code, "error", {}, None)  # type: ignore[arg-type]


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
