"""Chat webhooks over HTTP against `frontdesk dev` (its default configuration's local secrets)."""

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e

TELEGRAM_SECRET = "local-telegram-secret-token"
TWILIO_TOKEN = "local-twilio-auth-token"


def telegram_update(chat_id: int, message_id: int, text: str) -> dict[str, object]:
    person = {"id": chat_id, "is_bot": False, "first_name": "Айгерим", "language_code": "kk"}
    return {
        "update_id": chat_id * 100 + message_id,
        "message": {
            "message_id": message_id,
            "date": 1795420800,
            "chat": {"id": chat_id, "type": "private", "first_name": "Айгерим"},
            "from": person,
            "text": text,
        },
    }


def test_a_telegram_chat_gets_one_ticket_and_one_acknowledgement(http: httpx.Client):
    chat_id = 700_000_000 + uuid.uuid4().int % 1_000_000
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}

    first = http.post(
        "/chat/telegram",
        json=telegram_update(chat_id, 1, "Сәлеметсіз бе, төлем өтпей жатыр."),
        headers=headers,
    )
    second = http.post("/chat/telegram", json=telegram_update(chat_id, 2, "Картам Kaspi."), headers=headers)
    forged = http.post(
        "/chat/telegram",
        json=telegram_update(chat_id, 3, "hi"),
        headers={"X-Telegram-Bot-Api-Secret-Token": "guess"},
    )

    assert first.status_code == 200
    reply = first.json()
    assert reply["method"] == "sendMessage" and reply["chat_id"] in (chat_id, str(chat_id))
    assert "FD-" in reply["text"] and "рахмет" in reply["text"].lower()  # Kazakh, from language_code
    assert second.status_code == 200 and second.json() == {"ok": True}
    assert forged.status_code == 401


def test_a_twilio_sms_gets_twiml_back(http: httpx.Client, local_stack: RunningStack):
    fields = [
        ("MessageSid", f"SM{uuid.uuid4().hex}"),
        ("AccountSid", "AC0001"),
        ("From", "+15550100"),
        ("To", "+15550199"),
        ("Body", "My order 5521 was charged twice."),
        ("NumMedia", "0"),
    ]
    # Twilio signs the URL it called: here the stack's own address, over plain HTTP.
    url = f"{local_stack.url}/chat/twilio"
    signed = url + "".join(name + value for name, value in sorted(fields))
    signature = base64.b64encode(hmac.new(TWILIO_TOKEN.encode(), signed.encode(), hashlib.sha1).digest())

    response = http.post(
        "/chat/twilio",
        content=urlencode(fields),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature.decode(),
        },
    )

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/xml")
    assert "<Response><Message>" in response.text and "FD-" in response.text


def test_a_slack_url_verification_is_answered(http: httpx.Client, local_stack: RunningStack):
    challenge = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    body = json.dumps({"type": "url_verification", "challenge": challenge, "token": "x"})

    def signed(stamp: int) -> dict[str, str]:
        digest = hmac.new(b"local-slack-signing-secret", f"v0:{stamp}:{body}".encode(), hashlib.sha256)
        return {
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": str(stamp),
            "X-Slack-Signature": f"v0={digest.hexdigest()}",
        }

    stack_time = int(local_stack.now().timestamp())  # the stack runs on its --clock
    answered = http.post("/chat/slack", content=body, headers=signed(stack_time))
    stale = http.post("/chat/slack", content=body, headers=signed(stack_time - 3600))

    assert answered.status_code == 200 and answered.text == challenge
    assert stale.status_code == 401


def test_a_slack_message_is_answered_through_the_fake_slack_api(
    http: httpx.Client, local_stack: RunningStack
):
    user = f"U{uuid.uuid4().hex[:8].upper()}"
    payload = {
        "token": "x",
        "team_id": "T0LOCAL",
        "api_app_id": "A0LOCAL",
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex[:10]}",
        "event_time": int(local_stack.now().timestamp()),
        "event": {
            "type": "message",
            "channel": f"D{user}",
            "channel_type": "im",
            "user": user,
            "text": "Hello, I cannot log in since this morning.",
            "ts": f"{int(local_stack.now().timestamp())}.000100",
        },
    }
    body = json.dumps(payload)
    stamp = int(local_stack.now().timestamp())
    digest = hmac.new(
        b"local-slack-signing-secret", f"v0:{stamp}:{body}".encode(), hashlib.sha256
    ).hexdigest()

    response = http.post(
        "/chat/slack",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": str(stamp),
            "X-Slack-Signature": f"v0={digest}",
        },
    )

    assert response.status_code == 200
    deadline = time.monotonic() + 15
    calls: list[dict[str, object]] = []
    while time.monotonic() < deadline and not calls:
        calls = [
            call
            for call in http.get("/_local/chat-outbox").json()
            if call["json"].get("channel") == f"D{user}"
        ]
        time.sleep(0.2)
    assert len(calls) == 1
    sent = calls[0]["json"]
    assert isinstance(sent, dict) and "FD-" in sent["text"] and sent["thread_ts"] == payload["event"]["ts"]  # type: ignore[index]


def test_a_messenger_message_is_answered_through_the_fake_graph_api(
    http: httpx.Client, local_stack: RunningStack
):
    sender = f"PSID{uuid.uuid4().hex[:10]}"
    payload = {
        "object": "page",
        "entry": [
            {
                "id": "PAGE0001",
                "time": 1795420800000,
                "messaging": [
                    {
                        "sender": {"id": sender},
                        "recipient": {"id": "PAGE0001"},
                        "timestamp": 1795420800000,
                        "message": {
                            "mid": f"m_{uuid.uuid4().hex}",
                            "text": "Bonjour, ma commande est bloquée.",
                        },
                    }
                ],
            }
        ],
    }
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(b"local-meta-app-secret", body, hashlib.sha256).hexdigest()

    response = http.post(
        "/chat/meta",
        content=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
    )

    assert response.status_code == 200
    deadline = time.monotonic() + 15
    calls: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not calls:
        outbox = http.get("/_local/chat-outbox").json()
        calls = [call for call in outbox if call["json"].get("recipient", {}).get("id") == sender]
        time.sleep(0.2)
    assert len(calls) == 1
    assert calls[0]["endpoint"] == "PAGE0001/messages"
    assert "FD-" in calls[0]["json"]["message"]["text"]
