"""The agent API's handler against moto: list from indexes, read, and move tickets only where
their status allows. (The authorizer in front of it is tested with the local gateway.)"""

import hashlib
import hmac
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest

from frontdesk import clock, runtime
from frontdesk.chat.providers import PROVIDERS
from frontdesk.chat.providers.base import ProviderSecrets, WebhookRequest
from frontdesk.tickets.model import DeliveryState, Direction, Message, MessageKind, TicketStatus
from functions.agent_api import app as agent_api
from functions.web_form import app as web_form
from tests.integration.conftest import Aws, api_event, move, settle


def create_ticket(context: Any, tag: str, **fields: str) -> str:
    body = json.dumps(
        {"name": "Ana", "email": f"{tag}@example.org", "message": f"Help with {tag}.", **fields}
    )
    event = api_event(
        "POST", "POST /forms/{form_id}", "/forms/contact", body.encode(), {"Content-Type": "application/json"}
    )
    return str(json.loads(web_form.lambda_handler(event, context)["body"])["reference"])


def call(
    context: Any, method: str, route: str, path: str, body: Any = None, query: dict[str, str] | None = None
):
    raw = json.dumps(body).encode() if body is not None else b""
    event = api_event(method, f"{method} {route}", path, raw, {"Content-Type": "application/json"}, query)
    response = agent_api.lambda_handler(event, context)
    return response["statusCode"], json.loads(response["body"])


def test_a_ticket_is_read_with_its_messages(aws: Aws, function_env, lambda_context):
    reference = create_ticket(lambda_context, "agent-read")

    status, body = call(lambda_context, "GET", "/tickets/{reference}", f"/tickets/{reference.lower()}")

    assert status == 200
    assert body["ticket"]["reference"] == reference
    assert [message["body_text"] for message in body["messages"]] == ["Help with agent-read."]
    assert "email_message_ids" not in body["ticket"]


def test_an_unknown_ticket_is_a_404(aws: Aws, function_env, lambda_context):
    assert call(lambda_context, "GET", "/tickets/{reference}", "/tickets/FD-0000-0000")[0] == 404


def test_the_new_queue_pages_oldest_first_with_a_cursor(aws: Aws, function_env, lambda_context):
    references = [create_ticket(lambda_context, f"agent-page-{n}", subject=f"page {n}") for n in range(5)]

    seen: list[str] = []
    cursor = None
    while True:
        query = {"status": "new", "limit": "2", **({"cursor": cursor} if cursor else {})}
        status, body = call(lambda_context, "GET", "/tickets", "/tickets", query=query)
        assert status == 200 and len(body["tickets"]) <= 2
        seen += [ticket["reference"] for ticket in body["tickets"]]
        cursor = body["next_cursor"]
        if not cursor:
            break

    assert [reference for reference in seen if reference in references] == references


def test_a_requesters_tickets_are_listed_by_address(aws: Aws, function_env, lambda_context):
    first = create_ticket(lambda_context, "agent-requester", subject="one")
    second = create_ticket(lambda_context, "agent-requester", subject="two")

    status, body = call(
        lambda_context, "GET", "/tickets", "/tickets", query={"requester": "AGENT-requester@example.org"}
    )

    assert status == 200
    assert [ticket["reference"] for ticket in body["tickets"]] == [second, first]  # newest first


@pytest.mark.parametrize(
    "query",
    [
        {"status": "lost"},
        {"limit": "0"},
        {"limit": "1000"},
        {"cursor": "bm90LWEtY3Vyc29y"},
        {"channel": "fax"},
        {"colour": "red"},
    ],
)
def test_bad_listing_parameters_are_400_with_the_field(
    aws: Aws, function_env, lambda_context, query: dict[str, str]
):
    status, body = call(lambda_context, "GET", "/tickets", "/tickets", query=query)

    assert status == 400
    assert body["errors"][0]["field"] in {*query, "cursor"}


def test_a_cursor_of_another_listing_is_refused(aws: Aws, function_env, lambda_context):
    for n in range(3):
        create_ticket(lambda_context, f"agent-cursor-{n}")
    _, body = call(lambda_context, "GET", "/tickets", "/tickets", query={"status": "new", "limit": "1"})

    status, _ = call(
        lambda_context, "GET", "/tickets", "/tickets", query={"status": "open", "cursor": body["next_cursor"]}
    )

    assert status == 400


def test_resolving_records_when_and_reopening_clears_it(aws: Aws, function_env, lambda_context):
    reference = create_ticket(lambda_context, "agent-resolve")
    path = f"/tickets/{reference}"

    status, body = call(
        lambda_context, "PATCH", "/tickets/{reference}", path, {"status": "resolved", "assignee": "maria"}
    )
    assert status == 200
    assert body["ticket"]["status"] == "resolved" and body["ticket"]["resolved_at"]
    assert body["ticket"]["assignee"] == "maria"

    status, body = call(
        lambda_context, "PATCH", "/tickets/{reference}", path, {"status": "open", "assignee": None}
    )
    assert status == 200
    assert body["ticket"]["status"] == "open" and body["ticket"]["resolved_at"] is None
    assert body["ticket"]["assignee"] is None
    # The status index follows: the ticket is in the open queue now.
    open_tickets = runtime.ticket_store().page_of_tickets(status=TicketStatus.OPEN, limit=100).tickets
    assert reference in [ticket.reference for ticket in open_tickets]


def test_a_closed_ticket_stays_closed(aws: Aws, function_env, lambda_context):
    reference = create_ticket(lambda_context, "agent-closed")
    path = f"/tickets/{reference}"
    assert call(lambda_context, "PATCH", "/tickets/{reference}", path, {"status": "closed"})[0] == 200

    status, body = call(lambda_context, "PATCH", "/tickets/{reference}", path, {"status": "open"})

    assert status == 409
    assert body["errors"][0]["field"] == "status"


def test_a_ticket_moved_meanwhile_is_a_409(
    aws: Aws, function_env, lambda_context, monkeypatch: pytest.MonkeyPatch
):
    reference = create_ticket(lambda_context, "agent-race")
    store = runtime.ticket_store()
    stale = store.get_ticket(reference)
    move(reference, TicketStatus.PENDING, clock.now())  # another agent, just now
    monkeypatch.setattr(type(store), "get_ticket", lambda self, ref: stale)

    status, _ = call(
        lambda_context, "PATCH", "/tickets/{reference}", f"/tickets/{reference}", {"status": "resolved"}
    )

    assert status == 409


@pytest.mark.parametrize(
    "change",
    [{"status": "done"}, {"priority": "asap"}, {"tags": ["Not A Tag"]}, {"colour": "red"}, ["status"]],
)
def test_bad_changes_are_400(aws: Aws, function_env, lambda_context, change: Any):
    reference = create_ticket(lambda_context, "agent-bad-change")

    status, body = call(lambda_context, "PATCH", "/tickets/{reference}", f"/tickets/{reference}", change)

    assert status == 400 and body["errors"]


# -- replies and notes ------------------------------------------------------------------------------


def test_a_public_reply_is_mailed_in_the_thread_and_counts_as_the_first_response(
    aws: Aws, stream, lambda_context
):
    reference = create_ticket(lambda_context, "agent-reply", subject="Invoice 77")
    settle(stream)
    (ack,) = [email for email in aws.sent() if "agent-reply@example.org" in email["to"]]

    status, body = call(
        lambda_context,
        "POST",
        "/tickets/{reference}/replies",
        f"/tickets/{reference}/replies",
        {"text": "Hello Ana,\nthe corrected invoice is on its way."},
    )
    settle(stream)

    assert status == 201 and body["message"]["kind"] == "agent_reply"
    (reply,) = [
        e for e in aws.sent() if "agent-reply@example.org" in e["to"] and e["message_id"] != ack["message_id"]
    ]
    assert reply["subject"] == f"Re: [{reference}] Invoice 77"
    assert reply["headers"]["In-Reply-To"] == ack["message_id"]
    assert ack["message_id"] in reply["headers"]["References"]
    assert "Auto-Submitted" not in reply["headers"]
    assert "the corrected invoice is on its way." in reply["text"]
    store = runtime.ticket_store()
    ticket, messages = store.get_ticket_with_messages(reference)  # type: ignore[misc]
    assert ticket.status is TicketStatus.OPEN and ticket.first_responded_at is not None
    (sent,) = [m for m in messages if m.kind.value == "agent_reply"]
    assert (
        sent.delivery is not None
        and sent.delivery.value == "sent"
        and sent.email_message_id == reply["message_id"]
    )
    # The customer's answer to it will thread: its Message-ID is indexed.
    assert store.find_reference_by_email_message_id(reply["message_id"]) == reference
    assert store.first_response_samples(
        clock.now() - timedelta(minutes=5), clock.now() + timedelta(minutes=1)
    )


def test_two_first_replies_at_once_leave_one_first_response_sample(aws: Aws, function_env, lambda_context):
    reference = create_ticket(lambda_context, "two-first-replies", subject="Invoice 78")

    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = list(pool.map(lambda text: reply(lambda_context, reference, text)[0], ["One.", "Two."]))

    assert statuses == [201, 201]  # the slower one was told the ticket changed, and tried again
    (sample,) = [
        item
        for item in aws.items()
        if item.get("entity", {}).get("S") == "response_sample" and item["sk"]["S"].endswith(reference)
    ]
    assert int(sample["seconds"]["N"]) >= 0


def test_an_internal_note_is_never_sent(aws: Aws, stream, lambda_context):
    reference = create_ticket(lambda_context, "agent-note")
    settle(stream)
    before = len(aws.sent())

    status, body = call(
        lambda_context,
        "POST",
        "/tickets/{reference}/replies",
        f"/tickets/{reference}/replies",
        {"text": "Customer is a reseller; check the contract.", "public": False},
    )
    settle(stream)

    assert status == 201 and body["message"]["kind"] == "note"
    assert len(aws.sent()) == before
    ticket = runtime.ticket_store().get_ticket(reference)
    assert ticket is not None and ticket.first_responded_at is None and ticket.status is TicketStatus.NEW


@pytest.mark.parametrize(
    "body", [{"text": "   "}, {"text": "x" * 20_001}, {"public": True}, {"text": "a\x00b"}]
)
def test_an_empty_or_broken_reply_is_a_400(aws: Aws, function_env, lambda_context, body: dict[str, Any]):
    reference = create_ticket(lambda_context, "agent-bad-reply")

    status, _ = call(
        lambda_context, "POST", "/tickets/{reference}/replies", f"/tickets/{reference}/replies", body
    )

    assert status == 400


def test_a_reply_to_a_slack_conversation_goes_through_its_api(aws: Aws, stream, lambda_context):
    from tests.integration.test_chat_webhook import post, slack_event, slack_headers

    body = slack_event("Ev-agent-reply", "U0AGENT1", "Can you reset my 2FA?")
    post(lambda_context, "slack", body, slack_headers(body))
    settle(stream)
    reference = runtime.ticket_store().find_conversation("slack:teamId:DU0AGENT1") or ""
    assert reference

    status, _ = call(
        lambda_context,
        "POST",
        "/tickets/{reference}/replies",
        f"/tickets/{reference}/replies",
        {"text": "Done: try again."},
    )
    settle(stream)

    assert status == 201
    texts = [c["json"]["text"] for c in aws.chat_apis.calls() if c["json"].get("channel") == "DU0AGENT1"]
    assert texts[-1] == "Done: try again." and len(texts) == 2  # the acknowledgement, then the reply


def reply(context: Any, reference: str, text: str, public: bool = True) -> tuple[int, Any]:
    path = f"/tickets/{reference}/replies"
    status, body = call(
        context, "POST", "/tickets/{reference}/replies", path, {"text": text, "public": public}
    )
    return int(status), body


def delivered(reference: str, text: str) -> Message:
    _, messages = runtime.ticket_store().get_ticket_with_messages(reference)  # type: ignore[misc]
    (sent,) = [m for m in messages if m.kind is MessageKind.AGENT_REPLY and m.body_text == text]
    return sent


def whatsapp_message(context: Any, sender: str, text: str) -> str:
    """A WhatsApp Cloud API message from `sender`, posted now; its ticket's reference."""
    from tests.integration.test_chat_webhook import CORPUS, META_SECRET, post

    payload = json.loads((CORPUS / "whatsapp/pywa/message.json").read_text())["text"]
    value = payload["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["wa_id"] = sender
    value["messages"][0].update(
        {
            "from": sender,
            "id": f"wamid.{sender}.{clock.now().timestamp()}",
            "timestamp": str(int(clock.now().timestamp())),
        }
    )
    value["messages"][0]["text"]["body"] = text
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(META_SECRET.encode(), body, hashlib.sha256).hexdigest()
    post(context, "meta", body, {"Content-Type": "application/json", "X-Hub-Signature-256": signature})
    reference = runtime.ticket_store().find_conversation(
        f"whatsapp:{value['metadata']['phone_number_id']}:{sender}"
    )
    assert reference
    return reference


def test_a_telegram_reply_goes_through_the_bot_api(aws: Aws, stream, lambda_context):
    from tests.integration.test_chat_webhook import telegram, telegram_update

    telegram(lambda_context, telegram_update(5550777, 1, "Where is my parcel?"))
    settle(stream)
    reference = runtime.ticket_store().find_conversation("telegram:5550777") or ""

    public = reply(lambda_context, reference, "On its way.")
    note = reply(lambda_context, reference, "Check DHL.", public=False)
    settle(stream)

    assert public[0] == 201 and note[0] == 201
    calls = [
        c
        for c in aws.chat_apis.calls()
        if c["provider"] == "telegram" and c["json"].get("chat_id") == 5550777
    ]
    assert [(c["endpoint"], c["authorized"], c["json"]["text"]) for c in calls] == [
        ("sendMessage", True, "On its way.")  # the acknowledgement went in the webhook's response
    ]
    assert delivered(reference, "On its way.").delivery is DeliveryState.SENT


def test_a_twilio_whatsapp_reply_goes_through_the_messages_api(aws: Aws, stream, lambda_context):
    from tests.integration.test_chat_webhook import CORPUS, post, twilio_signature

    fields = parse_qsl((CORPUS / "twilio/botbuilder-dotnet/NoMediaPayload.txt").read_text().strip(), True)
    changes = {"From": "whatsapp:+4915100077701", "To": "whatsapp:+14155238886", "MessageSid": "SM-agent-1"}
    fields = [(name, changes.get(name, value)) for name, value in fields]
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": twilio_signature("http://localhost/chat/twilio", fields),
        "Host": "localhost",
    }
    assert post(lambda_context, "twilio", urlencode(fields).encode(), headers)["statusCode"] == 200
    reference = runtime.ticket_store().find_conversation(
        "twilio:whatsapp:+14155238886:whatsapp:+4915100077701"
    )
    assert reference

    status, _ = reply(lambda_context, reference, "Your order ships today.")
    settle(stream)

    assert status == 201
    (sent,) = [c for c in aws.chat_apis.calls() if c["json"].get("To") == "whatsapp:+4915100077701"]
    assert sent["endpoint"] == "2010-04-01/Accounts/4444/Messages.json" and sent["authorized"]
    assert sent["json"] == {
        "To": "whatsapp:+4915100077701",
        "From": "whatsapp:+14155238886",
        "Body": "Your order ships today.",
    }
    assert delivered(reference, "Your order ships today.").delivery is DeliveryState.SENT


def test_a_generic_reply_is_posted_to_the_callback_signed(aws: Aws, stream, lambda_context):
    from tests.integration.test_chat_webhook import GENERIC_SECRET, generic_body, generic_headers, post

    body = generic_body("evt-agent-reply")
    assert post(lambda_context, "generic", body, generic_headers(body))["statusCode"] == 200
    reference = runtime.ticket_store().find_conversation("generic:site-chat-evt-agent-reply") or ""

    status, _ = reply(lambda_context, reference, "The October invoice is in your account.")
    settle(stream)

    assert status == 201
    (sent,) = [
        c for c in aws.chat_apis.calls() if c["json"].get("conversation_id") == "site-chat-evt-agent-reply"
    ]
    message = delivered(reference, "The October invoice is in your account.")
    assert sent["json"] == {
        "conversation_id": "site-chat-evt-agent-reply",
        "text": "The October invoice is in your account.",
        "reference": reference,
        "message_id": message.message_id,
    }
    # The receiver checks it as Frontdesk checks its webhooks (signed with the real time).
    received = WebhookRequest(
        "POST", "http://site.example/replies", sent["headers"], {}, sent["body"].encode(), datetime.now(UTC)
    )
    PROVIDERS["generic"].verify(received, ProviderSecrets(GENERIC_SECRET))
    assert message.delivery is DeliveryState.SENT


def test_no_whatsapp_reply_after_the_24_hour_window(aws: Aws, function_env, set_clock, lambda_context):
    now = clock.now()
    set_clock(now - timedelta(hours=25))
    reference = whatsapp_message(lambda_context, "4915100025025", "Is my refund on its way?")
    set_clock(now)

    public = reply(lambda_context, reference, "Yes, it is.")
    note = reply(lambda_context, reference, "Refund approved yesterday.", public=False)

    assert public[0] == 422
    (error,) = public[1]["errors"]
    assert error["field"] == "public" and "WhatsApp's 24-hour window has passed" in error["message"]
    assert note[0] == 201


def test_a_whatsapp_reply_is_taken_until_the_window_closes(aws: Aws, function_env, set_clock, lambda_context):
    now = clock.now()
    set_clock(now - timedelta(hours=23, minutes=59))
    reference = whatsapp_message(lambda_context, "4915100023059", "Can I change my address?")
    set_clock(now)

    assert reply(lambda_context, reference, "Yes: send us the new one.")[0] == 201


def test_a_reply_whose_window_closed_before_it_was_sent_fails_without_a_call(
    aws: Aws, function_env, set_clock, lambda_context
):
    from frontdesk.config import get_settings
    from frontdesk.notify.replies import DeliveryOutcome, deliver_reply

    now = clock.now()
    set_clock(now - timedelta(hours=25))
    reference = whatsapp_message(lambda_context, "4915100025026", "Hello?")
    set_clock(now)
    store = runtime.ticket_store()
    ticket = store.get_ticket(reference)
    assert ticket is not None
    written = now - timedelta(hours=1, minutes=30)  # while the window was open; the send came late
    message = Message(
        message_id="late-reply-1",
        reference=reference,
        direction=Direction.OUTBOUND,
        kind=MessageKind.AGENT_REPLY,
        author="agent",
        body_text="Sorry for the wait.",
        created_at=written,
        delivery=DeliveryState.PENDING,
    )
    store.add_agent_message(ticket, message, written)
    before = len(aws.chat_apis.calls())

    outcome = deliver_reply(
        message,
        store=store,
        mailer=runtime.mailer(),
        chat_sender=runtime.chat_sender(),
        settings=get_settings(),
        now=clock.now(),
    )

    assert outcome is DeliveryOutcome.FAILED
    failed = delivered(reference, "Sorry for the wait.")
    assert (failed.delivery, failed.delivery_failure) == (DeliveryState.FAILED, "reply_window_closed")
    assert len(aws.chat_apis.calls()) == before


def test_customer_wrote_at_follows_the_customers_messages(aws: Aws, function_env, set_clock, lambda_context):
    from tests.integration.test_chat_webhook import conversation_ticket, telegram, telegram_update

    start = clock.now()
    telegram(lambda_context, telegram_update(5550778, 1, "My card was charged twice."))
    first, _ = conversation_ticket(5550778)
    assert first.customer_wrote_at == first.created_at

    assert reply(lambda_context, first.reference, "Looking into it.")[0] == 201  # ours does not count
    set_clock(start + timedelta(hours=3))
    telegram(lambda_context, telegram_update(5550778, 2, "Any news?"))
    later, messages = conversation_ticket(5550778)

    assert later.customer_wrote_at is not None and later.customer_wrote_at >= start + timedelta(hours=3)
    assert later.customer_wrote_at == messages[-1].created_at
    form_ticket = runtime.ticket_store().get_ticket(create_ticket(lambda_context, "agent-wrote-at"))
    assert form_ticket is not None and form_ticket.customer_wrote_at == form_ticket.created_at
