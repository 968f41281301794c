"""Meta webhooks: Messenger, Instagram messaging and the WhatsApp Cloud API
(developers.facebook.com/docs/graph-api/webhooks/getting-started, messenger-platform/webhook-reference,
whatsapp/cloud-api/webhooks).

Subscription: a GET with hub.mode=subscribe, hub.verify_token (ours) and hub.challenge (echoed).
Deliveries: POSTs signed X-Hub-Signature-256 = "sha256=" + hex HMAC-SHA256(app secret, raw body),
without a timestamp (replays are caught by deduplicating on message ids). Deliveries are batched:
every entry, change and message counts. Answers go through the Graph API, never in the response.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from frontdesk.chat.providers.base import (
    ChatMessage,
    Handshake,
    Ignored,
    InlineReply,
    Parsed,
    ProviderSecrets,
    WebhookRequest,
)
from frontdesk.chat.providers.payloads import (
    as_list,
    as_object,
    challenge_token,
    clean_name,
    clean_text,
    encodable,
    hmac_sha256_hex,
    load_json_object,
    member,
    platform_id,
    rejected,
    same,
    signing_key,
    string_id,
    unix_time,
)
from frontdesk.tickets.model import Channel

_PAGE_OBJECTS = {"page": "messenger", "instagram": "instagram"}
_WHATSAPP_OBJECT = "whatsapp_business_account"


@dataclass
class _Batch:
    """What one delivery held: the messages, and whether any customer message lacked text."""

    messages: list[ChatMessage] = field(default_factory=list)
    text_less: bool = False

    def result(self) -> Parsed:
        if self.messages:
            return self.messages
        # Statuses, receipts, postbacks, echoes of our own sends: nothing to act on.
        return Ignored("no_text" if self.text_less else "no_messages")


class MetaProvider:
    name = "meta"
    answers_inline = False

    def verify(self, request: WebhookRequest, secrets: ProviderSecrets) -> None:
        if request.method.upper() == "GET":
            token = request.query.get("hub.verify_token")
            expected = secrets.verify_token
            if request.query.get("hub.mode") != "subscribe" or not expected or not token:
                raise rejected(403, "bad_verify_token")
            if not same(expected, token):
                raise rejected(403, "bad_verify_token")
            return
        key = signing_key(secrets)
        signature = request.header("X-Hub-Signature-256")  # not the legacy SHA-1 X-Hub-Signature
        if not signature:
            raise rejected(401, "missing_signature")
        if not same("sha256=" + hmac_sha256_hex(key, request.body), signature):
            raise rejected(401, "bad_signature")

    def parse(self, request: WebhookRequest) -> Parsed:
        if request.method.upper() == "GET":
            challenge = challenge_token(request.query.get("hub.challenge"))
            if request.query.get("hub.mode") != "subscribe" or challenge is None:
                raise rejected(400, "invalid_handshake")
            return Handshake(challenge, "text/plain")
        payload = load_json_object(request.body)
        kind = payload.get("object")
        entries = payload.get("entry")
        if not isinstance(kind, str) or not isinstance(entries, list):
            raise rejected(400, "invalid_payload")
        batch = _Batch()
        if kind in _PAGE_OBJECTS:
            for entry in entries:
                if isinstance(entry, dict):
                    _page_entry(_PAGE_OBJECTS[kind], entry, batch, request)
        elif kind == _WHATSAPP_OBJECT:
            for entry in entries:
                changes = entry.get("changes") if isinstance(entry, dict) else None
                for change in as_list(changes):
                    if isinstance(change, dict) and change.get("field") == "messages":
                        _whatsapp_value(as_object(change.get("value")), batch, request)
        else:
            return Ignored("unsupported_object")
        return batch.result()

    def inline_reply(self, message: ChatMessage, text: str) -> InlineReply | None:
        return None  # Meta takes answers through the Graph API only


def _page_entry(platform: str, entry: dict[str, Any], batch: _Batch, request: WebhookRequest) -> None:
    """Messenger or Instagram: entry.messaging[] holds messages, postbacks, reads, deliveries,
    referrals and handovers. entry.standby[] is for the app that does not own the thread: skipped."""
    for item in as_list(entry.get("messaging")):
        event = as_object(item)
        message = as_object(event.get("message")) if event else None
        if event is None or message is None or message.get("is_echo") is True:
            continue  # not a message, or an echo of what a page sent
        sender = platform_id(member(event.get("sender"), "id"))
        page = platform_id(entry.get("id")) or platform_id(member(event.get("recipient"), "id"))
        mid = string_id(message.get("mid"))
        if sender is None or page is None or mid is None:
            continue
        text = clean_text(message.get("text"))
        if text is None:
            batch.text_less = True  # attachments, stickers, reactions
            continue
        batch.messages.append(
            encodable(
                ChatMessage(
                    provider="meta",
                    event_id=f"{platform}:{mid}",
                    conversation_id=f"{platform}:{page}:{sender}",
                    author_id=f"{platform}:{sender}",  # page-scoped ids: unique across pages
                    text=text,
                    sent_at=unix_time(event.get("timestamp"), millis=True) or request.received_at,
                    channel=Channel.SOCIAL,
                    reply_to={"platform": platform, "page_id": page, "recipient_id": sender},
                )
            )
        )


def _whatsapp_value(value: dict[str, Any] | None, batch: _Batch, request: WebhookRequest) -> None:
    """One WhatsApp "messages" change: value.messages[] are the customers' (value.statuses[],
    delivery receipts of ours, are skipped), value.contacts[] their profile names."""
    if value is None:
        return
    phone_number_id = string_id(member(value.get("metadata"), "phone_number_id"))
    if phone_number_id is None:
        return
    names: dict[str, str | None] = {}
    for contact in as_list(value.get("contacts")):
        if isinstance(contact, dict) and (wa_id := string_id(contact.get("wa_id"))):
            names[wa_id] = clean_name(member(contact.get("profile"), "name"))
    for item in as_list(value.get("messages")):
        message = as_object(item)
        if message is None:
            continue
        sender = string_id(message.get("from"))
        wamid = string_id(message.get("id"))
        if sender is None or wamid is None:
            continue
        # Only type "text": media, reactions, locations, edits, revocations and system notices
        # carry no text of the customer's (captions are left for when media are handled).
        text = clean_text(member(message.get("text"), "body"))
        if message.get("type") != "text" or text is None:
            batch.text_less = True
            continue
        batch.messages.append(
            encodable(
                ChatMessage(
                    provider="meta",
                    event_id=f"whatsapp:{wamid}",
                    conversation_id=f"whatsapp:{phone_number_id}:{sender}",
                    author_id=f"whatsapp:{sender}",
                    text=text,
                    sent_at=unix_time(message.get("timestamp")) or request.received_at,
                    author_name=names.get(sender),
                    channel=Channel.SOCIAL,
                    reply_to={
                        "platform": "whatsapp",
                        "phone_number_id": phone_number_id,
                        "recipient_id": sender,
                    },
                )
            )
        )
