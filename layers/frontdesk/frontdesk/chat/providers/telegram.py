"""Telegram Bot API webhooks (core.telegram.org/bots/api#setwebhook, #update).

Telegram signs nothing: setWebhook(secret_token=...) makes every delivery carry that token in
X-Telegram-Bot-Api-Secret-Token. One Update per request; the answer can ride in the response as
one Bot API call (sendMessage).
"""

from __future__ import annotations

import json
import re

from frontdesk.chat.providers.base import (
    ChatMessage,
    Ignored,
    InlineReply,
    Parsed,
    ProviderSecrets,
    WebhookRequest,
)
from frontdesk.chat.providers.payloads import (
    as_object,
    clean_name,
    clean_text,
    encodable,
    language_tag,
    load_json_object,
    member,
    rejected,
    same,
    signing_key,
    unix_time,
)
from frontdesk.tickets.model import Channel

# sendMessage refuses longer texts, and an inline reply's failure is reported to no one.
MAX_REPLY_CHARS = 4096
_INTEGER = re.compile(r"-?\d{1,20}")
# Updates that are valid but carry no customer message for us, by the field that holds them.
_IGNORED_UPDATES = {
    "edited_message": "edited",  # an edit must neither reopen nor duplicate the ticket
    "edited_channel_post": "channel_post",
    "channel_post": "channel_post",
    "callback_query": "callback_query",
}


def _number(value: object) -> str | None:
    """Telegram's ids are integers (chat ids of groups negative): as text, or None."""
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    # JSON integers have no bound, but table keys do (2 KB): an id of a thousand digits is no
    # Telegram id, and as a key it would fail the write (a 5xx, retried for days).
    text = str(value)
    return text if _INTEGER.fullmatch(text) else None


class TelegramProvider:
    name = "telegram"
    answers_inline = True

    def verify(self, request: WebhookRequest, secrets: ProviderSecrets) -> None:
        signing_key(secrets)  # refuses when no secret_token is configured
        token = request.header("X-Telegram-Bot-Api-Secret-Token")
        if not token:
            raise rejected(401, "missing_signature")
        if not same(secrets.signing_secret, token):
            raise rejected(401, "bad_signature")

    def parse(self, request: WebhookRequest) -> Parsed:
        update = load_json_object(request.body)
        update_id = update.get("update_id")
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            raise rejected(400, "invalid_payload")  # every Update has one: this is not an Update
        if "message" not in update:
            kind = next((field for field in _IGNORED_UPDATES if field in update), None)
            return Ignored(_IGNORED_UPDATES[kind] if kind else "unsupported_update")
        message = as_object(update["message"])
        if message is None:
            raise rejected(400, "invalid_payload")
        return self._message(message, request)

    def _message(self, message: dict[str, object], request: WebhookRequest) -> Parsed:
        sender = as_object(message.get("from"))
        chat = as_object(message.get("chat"))
        if sender is not None and sender.get("is_bot") is True:
            return Ignored("bot")  # other bots in a group (bots talking to bots would loop)
        chat_id = _number(member(chat, "id"))
        message_id = _number(message.get("message_id"))
        user_id = _number(member(sender, "id"))
        if sender is None or chat_id is None or message_id is None or user_id is None:
            return Ignored("incomplete")
        text = clean_text(message.get("text")) or clean_text(message.get("caption"))
        if text is None:
            return Ignored("no_text")  # stickers, voice, photos without a caption
        reply_to = {"chat_id": chat_id}
        thread_id = _number(message.get("message_thread_id"))
        if thread_id is not None and message.get("is_topic_message") is True:
            # A forum topic: answers go there, not to the group's General topic.
            reply_to["message_thread_id"] = thread_id
        chat_message = ChatMessage(
            provider=self.name,
            # Stable across redeliveries; message ids are only unique within a chat.
            event_id=f"message:{chat_id}:{message_id}",
            conversation_id=f"telegram:{chat_id}",
            author_id=f"telegram:{user_id}",
            text=text,
            sent_at=unix_time(message.get("date")) or request.received_at,
            author_name=clean_name(sender.get("first_name"), sender.get("last_name")),
            language_hint=language_tag(sender.get("language_code")),
            channel=Channel.CHAT,
            reply_to=reply_to,
        )
        return [encodable(chat_message)]

    def inline_reply(self, message: ChatMessage, text: str) -> InlineReply | None:
        chat_id = message.reply_to.get("chat_id")
        if not chat_id:
            return None
        # Telegram takes chat ids as integers (or "@channel" names): send them back as they came.
        target: int | str = int(chat_id) if _INTEGER.fullmatch(chat_id) else chat_id
        body: dict[str, object] = {"method": "sendMessage", "chat_id": target, "text": text[:MAX_REPLY_CHARS]}
        if _INTEGER.fullmatch(thread_id := message.reply_to.get("message_thread_id", "")):
            body["message_thread_id"] = int(thread_id)
        return InlineReply(200, json.dumps(body), "application/json")
