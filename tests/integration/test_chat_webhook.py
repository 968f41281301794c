"""Chat webhooks against moto: one ticket per conversation, acknowledged once, in the response."""

import base64
import hashlib
import hmac
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from botocore.exceptions import ClientError

from frontdesk import clock, runtime
from frontdesk.tickets.model import Channel, MessageKind, TicketStatus
from functions.chat_webhook import app as chat_webhook
from tests.integration.conftest import Aws, api_event, move, settle

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "webhooks"
TELEGRAM_SECRET = "local-telegram-secret-token"
TWILIO_TOKEN = "local-twilio-auth-token"
GENERIC_SECRET = "local-generic-secret-not-secret"


def post(
    context: Any, provider: str, body: bytes, headers: dict[str, str], query: str = ""
) -> dict[str, Any]:
    event = api_event("POST", "POST /chat/{provider}", f"/chat/{provider}", body, headers)
    event["rawQueryString"] = query
    return chat_webhook.lambda_handler(event, context)  # type: ignore[no-any-return]


def telegram_update(chat_id: int, message_id: int, text: str, language: str | None = "ru") -> bytes:
    update = json.loads((CORPUS / "telegram/telegram-bot-api-docs/message-text.json").read_text())
    update["update_id"] = message_id
    update["message"].update(message_id=message_id, text=text)
    update["message"]["chat"]["id"] = chat_id
    update["message"]["from"]["id"] = chat_id
    update["message"]["date"] = int(clock.now().timestamp())
    if language:
        update["message"]["from"]["language_code"] = language
    return json.dumps(update).encode()


def telegram(context: Any, body: bytes, secret: str = TELEGRAM_SECRET) -> dict[str, Any]:
    return post(
        context,
        "telegram",
        body,
        {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret},
    )


def conversation_ticket(chat_id: int):
    reference = runtime.ticket_store().find_conversation(f"telegram:{chat_id}")
    assert reference is not None
    found = runtime.ticket_store().get_ticket_with_messages(reference)
    assert found is not None
    return found


def test_a_telegram_message_creates_a_ticket_acknowledged_in_the_response(aws: Aws, stream, lambda_context):
    response = telegram(
        lambda_context, telegram_update(5550001, 1, "Здравствуйте, не могу оплатить заказ картой.")
    )
    settle(stream)

    assert response["statusCode"] == 200
    reply = json.loads(response["body"])
    assert (reply["method"], str(reply["chat_id"])) == ("sendMessage", "5550001")
    ticket, messages = conversation_ticket(5550001)
    assert ticket.reference in reply["text"]
    assert "Спасибо" in reply["text"]  # the platform's language code, Russian
    assert (ticket.channel, ticket.source, ticket.language) == (Channel.CHAT, "telegram", "ru")
    assert ticket.requester.handle == "telegram:5550001"
    assert ticket.acknowledgement is not None and ticket.acknowledgement.sent_at is not None
    assert [m.kind for m in messages] == [MessageKind.CUSTOMER]  # no email went anywhere
    assert not [email for email in aws.sent() if ticket.reference in email["subject"]]


def test_the_next_message_joins_the_ticket_without_another_acknowledgement(aws: Aws, stream, lambda_context):
    first = telegram(lambda_context, telegram_update(5550002, 1, "My parcel has not arrived."))
    second = telegram(lambda_context, telegram_update(5550002, 2, "Order number 7781, sent on Monday."))
    repeat = telegram(lambda_context, telegram_update(5550002, 2, "Order number 7781, sent on Monday."))
    settle(stream)

    assert "sendMessage" in first["body"]
    assert json.loads(second["body"]) == {"ok": True} == json.loads(repeat["body"])
    _, messages = conversation_ticket(5550002)
    assert [m.body_text for m in messages] == [
        "My parcel has not arrived.",
        "Order number 7781, sent on Monday.",
    ]


def test_after_resolution_a_new_message_starts_a_linked_ticket(aws: Aws, stream, lambda_context):
    telegram(lambda_context, telegram_update(5550003, 1, "The app crashes on start."))
    old, _ = conversation_ticket(5550003)
    move(old.reference, TicketStatus.RESOLVED, clock.now())

    response = telegram(lambda_context, telegram_update(5550003, 2, "It crashes again since today."))

    new, _ = conversation_ticket(5550003)
    assert new.reference != old.reference
    assert new.linked_reference == old.reference
    assert new.reference in json.loads(response["body"])["text"]


def test_a_conversation_whose_ticket_is_gone_starts_a_new_ticket(aws: Aws, function_env, lambda_context):
    telegram(lambda_context, telegram_update(5550004, 1, "Please delete my account."))
    old, _ = conversation_ticket(5550004)
    aws.client("dynamodb").delete_item(
        TableName=aws.table_name, Key={"pk": {"S": f"TICKET#{old.reference}"}, "sk": {"S": "TICKET"}}
    )

    response = telegram(lambda_context, telegram_update(5550004, 2, "Are you still there?"))

    new, messages = conversation_ticket(5550004)
    assert response["statusCode"] == 200
    assert new.reference != old.reference and new.linked_reference is None
    assert [m.body_text for m in messages] == ["Are you still there?"]


@pytest.mark.parametrize("secret", ["wrong-secret-token", ""])
def test_a_wrong_telegram_secret_is_refused_and_nothing_stored(
    aws: Aws, function_env, lambda_context, secret: str
):
    before = len(aws.items())

    response = telegram(lambda_context, telegram_update(5550004, 1, "Hello"), secret=secret)

    assert response["statusCode"] == 401
    assert len(aws.items()) == before


def test_concurrent_first_messages_of_one_chat_make_one_ticket(aws: Aws, function_env, lambda_context):
    bodies = [telegram_update(5550005, number, f"message {number} about my refund") for number in range(1, 7)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(lambda body: telegram(lambda_context, body), bodies))

    assert all(response["statusCode"] == 200 for response in responses)
    assert sum("sendMessage" in response["body"] for response in responses) == 1
    _, messages = conversation_ticket(5550005)
    assert len(messages) == 6
    tickets = [item for item in aws.items() if item.get("conversation_id", {}).get("S") == "telegram:5550005"]
    assert len(tickets) == 1


# -- Twilio ---------------------------------------------------------------------------------------


def twilio_signature(url: str, fields: list[tuple[str, str]], token: str = TWILIO_TOKEN) -> str:
    signed = url + "".join(name + value for name, value in sorted(fields))
    return base64.b64encode(hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()).decode()


def test_a_twilio_sms_gets_twiml_with_the_acknowledgement(aws: Aws, function_env, lambda_context):
    fields = parse_qsl(
        (CORPUS / "twilio/botbuilder-dotnet/NoMediaPayload.txt").read_text().strip(), keep_blank_values=True
    )
    fields = [
        (name, "Hello, my order 3333 never came." if name == "Body" else value) for name, value in fields
    ]
    body = urlencode(fields).encode()
    url = "http://localhost/chat/twilio"  # as rebuilt from the event: Host and X-Forwarded-Proto

    response = post(
        lambda_context,
        "twilio",
        body,
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": twilio_signature(url, fields),
            "Host": "localhost",
        },
    )

    assert response["statusCode"] == 200, response["body"]
    assert response["headers"]["Content-Type"] == "text/xml"
    assert response["body"].startswith('<?xml version="1.0" encoding="UTF-8"?><Response><Message>')
    assert "FD-" in response["body"]


def test_a_twilio_request_signed_for_another_url_is_refused(aws: Aws, function_env, lambda_context):
    fields = [
        ("MessageSid", "SM-other-url"),
        ("From", "+15550001"),
        ("To", "+15550002"),
        ("Body", "hi there"),
    ]
    signature = twilio_signature("https://attacker.example/chat/twilio", fields)

    response = post(
        lambda_context,
        "twilio",
        urlencode(fields).encode(),
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
            "Host": "localhost",
        },
    )

    assert response["statusCode"] == 401


# -- generic --------------------------------------------------------------------------------------


def generic_headers(
    body: bytes, timestamp: int | None = None, secret: str = GENERIC_SECRET
) -> dict[str, str]:
    stamp = str(timestamp if timestamp is not None else int(clock.now().timestamp()))
    digest = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-Frontdesk-Timestamp": stamp,
        "X-Frontdesk-Signature": f"v1={digest}",
    }


def generic_body(event_id: str, text: str = "Where is my invoice for October?") -> bytes:
    payload = {
        "event_id": event_id,
        "conversation_id": f"site-chat-{event_id}",
        "author": {"id": "visitor-42", "name": "Ana", "email": "ana@example.org"},
        "text": text,
        "locale": "en-GB",
    }
    return json.dumps(payload).encode()


def test_a_generic_message_is_answered_in_json_and_not_again_by_email(aws: Aws, stream, lambda_context):
    body = generic_body("evt-1001")

    response = post(lambda_context, "generic", body, generic_headers(body))
    settle(stream)

    assert response["statusCode"] == 200
    reply = json.loads(response["body"])["reply"]
    reference = runtime.ticket_store().find_conversation("generic:site-chat-evt-1001") or ""
    assert reference and reference in reply
    # The requester has an email address, but the chat already got its acknowledgement.
    assert not [
        email for email in aws.sent() if "ana@example.org" in email["to"] and reference in email["subject"]
    ]


def test_a_replayed_generic_request_is_refused(aws: Aws, function_env, lambda_context):
    body = generic_body("evt-1002")
    headers = generic_headers(body)

    assert post(lambda_context, "generic", body, headers)["statusCode"] == 200
    before = len(aws.items())
    replayed = post(lambda_context, "generic", body, headers)

    assert replayed["statusCode"] == 401
    assert json.loads(replayed["body"])["error"] == "replayed"
    assert len(aws.items()) == before


def test_a_request_that_failed_is_taken_when_the_platform_sends_it_again(
    aws: Aws, function_env, lambda_context, monkeypatch
):
    # Found by the reliability drill (bench/reliability.py): the request was remembered before its
    # message was stored, so the platform's retry of a 503 was refused as a replay, and lost.
    body = generic_body("evt-retried")
    headers = generic_headers(body)
    store = runtime.ticket_store()
    with monkeypatch.context() as patch:
        patch.setattr(
            type(store), "create_ticket", lambda *args, **kwargs: (_ for _ in ()).throw(throttled())
        )
        assert post(lambda_context, "generic", body, headers)["statusCode"] == 503

    assert post(lambda_context, "generic", body, headers)["statusCode"] == 200
    assert store.find_conversation("generic:site-chat-evt-retried")
    # Handled now: the same signed request again is a replay.
    replayed = post(lambda_context, "generic", body, headers)
    assert (replayed["statusCode"], json.loads(replayed["body"])["error"]) == (401, "replayed")


def test_a_repeat_delivery_signed_anew_is_stored_once_and_then_refused_as_a_replay(
    aws: Aws, function_env, lambda_context
):
    body = generic_body("evt-resigned")
    assert post(lambda_context, "generic", body, generic_headers(body))["statusCode"] == 200
    before = len(aws.items())
    # The platform's retry, signed a second later: its message is known, so nothing is stored,
    # but the request itself is new to Frontdesk and is remembered on its own.
    resigned = generic_headers(body, int(clock.now().timestamp()) + 1)

    assert post(lambda_context, "generic", body, resigned)["statusCode"] == 200
    assert len(aws.items()) == before + 1  # that request's replay item, nothing else
    replayed = post(lambda_context, "generic", body, resigned)
    assert (replayed["statusCode"], json.loads(replayed["body"])["error"]) == (401, "replayed")


def throttled() -> ClientError:
    return ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "TransactWriteItems"
    )


@pytest.mark.parametrize("skew", [-301, 301])
def test_a_stale_generic_request_is_refused(aws: Aws, function_env, lambda_context, skew: int):
    body = generic_body(f"evt-stale{skew}")
    before = len(aws.items())

    response = post(
        lambda_context, "generic", body, generic_headers(body, int(clock.now().timestamp()) + skew)
    )

    assert response["statusCode"] == 401
    assert len(aws.items()) == before


def test_a_tampered_generic_body_is_refused(aws: Aws, function_env, lambda_context):
    body = generic_body("evt-1003")
    headers = generic_headers(body)

    response = post(lambda_context, "generic", body.replace(b"October", b"Octobre"), headers)

    assert response["statusCode"] == 401


def test_a_malformed_generic_payload_is_a_400(aws: Aws, function_env, lambda_context):
    body = json.dumps({"event_id": "evt-1004", "text": ""}).encode()

    response = post(lambda_context, "generic", body, generic_headers(body))

    assert response["statusCode"] == 400


@pytest.mark.parametrize("provider", ["whatsapp", "intercom", ""])
def test_an_unknown_provider_is_a_404(aws: Aws, function_env, lambda_context, provider: str):
    assert post(lambda_context, provider, b"{}", {"Content-Type": "application/json"})["statusCode"] == 404


def test_an_oversized_request_is_a_413_and_nothing_stored(aws: Aws, function_env, lambda_context):
    before = len(aws.items())

    response = post(
        lambda_context, "telegram", b"x" * (300 * 1024), {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    )

    assert response["statusCode"] == 413
    assert len(aws.items()) == before


# -- Slack and Meta: answers through their APIs, sent by the stream consumer -------------------------

SLACK_SECRET = "local-slack-signing-secret"
META_SECRET = "local-meta-app-secret"


def slack_event(event_id: str, user: str, text: str) -> bytes:
    payload = json.loads((CORPUS / "slack/botbuilder-dotnet/MessageBody.json").read_text())
    payload["event_id"] = event_id
    sent = f"{clock.now().timestamp():.6f}"
    payload["event"].update(
        user=user, text=text, channel=f"D{user}", channel_type="im", ts=sent, event_ts=sent
    )
    payload["event_time"] = int(clock.now().timestamp())
    payload["event"].pop("bot_id", None)
    payload["event"].pop("subtype", None)
    return json.dumps(payload).encode()


def slack_headers(body: bytes, later: int = 0) -> dict[str, str]:
    stamp = str(int(clock.now().timestamp()) + later)
    digest = hmac.new(SLACK_SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
    }


def test_a_slack_message_is_acknowledged_through_the_api_once(aws: Aws, stream, lambda_context):
    body = slack_event("Ev-ack-1", "U0SLACK1", "Hi, the export button does nothing.")

    response = post(lambda_context, "slack", body, slack_headers(body))
    retry = post(lambda_context, "slack", body, slack_headers(body, later=2))  # a retry is signed afresh
    settle(stream)

    assert response["statusCode"] == 200 and retry["statusCode"] == 200
    calls = [call for call in aws.chat_apis.calls() if call["json"].get("channel") == "DU0SLACK1"]
    assert len(calls) == 1
    (call,) = calls
    assert call["endpoint"] == "chat.postMessage" and call["authorized"]
    assert "FD-" in call["json"]["text"] and call["json"]["thread_ts"]
    reference = call["json"]["text"].split("FD-", 1)[1][:9]
    found = runtime.ticket_store().get_ticket_with_messages("FD-" + reference)
    assert found is not None
    ticket, messages = found
    assert ticket.acknowledgement is not None and ticket.acknowledgement.state.value == "sent"
    assert [m.kind for m in messages] == [MessageKind.CUSTOMER, MessageKind.ACKNOWLEDGEMENT]


def test_a_whatsapp_message_is_acknowledged_through_the_graph_api(aws: Aws, stream, lambda_context):
    payload = json.loads((CORPUS / "whatsapp/pywa/message.json").read_text())["text"]  # samples by type
    value = payload["entry"][0]["changes"][0]["value"]
    value["messages"][0]["id"] = "wamid.integration-1"
    value["messages"][0]["text"]["body"] = "Olá, meu pedido não chegou."
    value["messages"][0]["timestamp"] = str(int(clock.now().timestamp()))
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(META_SECRET.encode(), body, hashlib.sha256).hexdigest()

    response = post(
        lambda_context, "meta", body, {"Content-Type": "application/json", "X-Hub-Signature-256": signature}
    )
    settle(stream)

    assert response["statusCode"] == 200
    recipient = value["messages"][0]["from"]
    calls = [call for call in aws.chat_apis.calls() if call["json"].get("to") == recipient]
    assert len(calls) == 1
    assert calls[0]["json"]["messaging_product"] == "whatsapp"
    assert calls[0]["endpoint"] == f"{value['metadata']['phone_number_id']}/messages"
    assert "FD-" in calls[0]["json"]["text"]["body"]


def test_a_meta_subscription_handshake(aws: Aws, function_env, lambda_context):
    def verify(token: str) -> dict[str, Any]:
        query = {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "1158201444"}
        event = api_event("GET", "GET /chat/{provider}", "/chat/meta", query=query)
        return chat_webhook.lambda_handler(event, lambda_context)  # type: ignore[no-any-return]

    assert verify("local-meta-verify-token")["body"] == "1158201444"
    assert verify("guessed-token")["statusCode"] == 403


def forged(provider: str) -> tuple[bytes, dict[str, str]]:
    """A well-formed request of `provider` signed with the wrong secret."""
    if provider == "slack":
        body = slack_event("Ev-forged", "U0FORGED", "hello")
        stamp = str(int(clock.now().timestamp()))
        digest = hmac.new(b"wrong-secret", f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
        return body, {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}
    if provider == "meta":
        body = json.dumps(json.loads((CORPUS / "whatsapp/pywa/message.json").read_text())["text"]).encode()
        return body, {"X-Hub-Signature-256": "sha256=" + hmac.new(b"wrong", body, hashlib.sha256).hexdigest()}
    if provider == "twilio":
        fields = [("MessageSid", "SM-forged"), ("From", "+15550001"), ("To", "+15550002"), ("Body", "hi")]
        url = "http://localhost/chat/twilio"
        return urlencode(fields).encode(), {
            "X-Twilio-Signature": twilio_signature(url, fields, token="wrong")
        }
    if provider == "generic":
        body = generic_body("evt-forged")
        return body, generic_headers(body, secret="wrong-secret")
    return telegram_update(5550099, 1, "hello"), {"X-Telegram-Bot-Api-Secret-Token": "wrong"}


@pytest.mark.parametrize("provider", ["generic", "telegram", "slack", "meta", "twilio"])
def test_a_request_signed_with_the_wrong_secret_stores_nothing(
    aws: Aws, function_env, lambda_context, provider: str
):
    body, headers = forged(provider)
    content_type = "application/x-www-form-urlencoded" if provider == "twilio" else "application/json"
    before = len(aws.items())

    response = post(
        lambda_context, provider, body, {"Content-Type": content_type, "Host": "localhost", **headers}
    )

    assert response["statusCode"] == 401
    assert len(aws.items()) == before


def test_a_telegram_message_from_weeks_ago_is_refused_as_a_replay(aws: Aws, function_env, lambda_context):
    update = json.loads(telegram_update(5550006, 1, "an old message, captured and sent again"))
    update["message"]["date"] = int(clock.now().timestamp()) - 20 * 86400
    before = len(aws.items())

    response = telegram(lambda_context, json.dumps(update).encode())

    assert response["statusCode"] == 401
    assert json.loads(response["body"])["error"] == "stale_message"
    assert len(aws.items()) == before


def test_a_replayed_slack_request_is_refused(aws: Aws, function_env, lambda_context):
    body = slack_event("Ev-replayed", "U0REPLAY", "Is the API down?")
    headers = slack_headers(body)

    assert post(lambda_context, "slack", body, headers)["statusCode"] == 200
    before = len(aws.items())
    replayed = post(lambda_context, "slack", body, headers)

    assert (replayed["statusCode"], json.loads(replayed["body"])["error"]) == (401, "replayed")
    assert len(aws.items()) == before
