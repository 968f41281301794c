"""Slack Events API webhooks (api.slack.com/authentication/verifying-requests-from-slack,
api.slack.com/events/url_verification).

Requests are signed: X-Slack-Signature = "v0=" + hex HMAC-SHA256(signing secret,
"v0:" + X-Slack-Request-Timestamp + ":" + raw body), timestamps within five minutes. Answers go
through chat.postMessage, never in the response.
"""

from __future__ import annotations

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
    as_object,
    challenge_token,
    checked_timestamp,
    clean_text,
    encodable,
    form_fields,
    hmac_sha256_hex,
    load_json_object,
    media_type,
    rejected,
    same,
    signing_key,
    string_id,
    unix_time,
)
from frontdesk.tickets.model import Channel


class SlackProvider:
    name = "slack"
    answers_inline = False

    def verify(self, request: WebhookRequest, secrets: ProviderSecrets) -> None:
        key = signing_key(secrets)
        signature = request.header("X-Slack-Signature")
        if not signature:
            raise rejected(401, "missing_signature")
        # Checked first: cheap, and a replay is refused whatever it carries.
        timestamp = checked_timestamp(request.header("X-Slack-Request-Timestamp"), request.received_at)
        expected = "v0=" + hmac_sha256_hex(key, b"v0:" + timestamp.encode("ascii") + b":" + request.body)
        if not same(expected, signature):
            raise rejected(401, "bad_signature")

    def parse(self, request: WebhookRequest) -> Parsed:
        if media_type(request.header("Content-Type")) == "application/x-www-form-urlencoded":
            # Slash commands and interactive components post forms, signed the same way: not
            # Events API, nothing for the ticket intake.
            form_fields(request.body)  # still 400 when it is not a form at all
            return Ignored("not_an_event")
        payload = load_json_object(request.body)
        kind = payload.get("type")
        if not isinstance(kind, str):
            raise rejected(400, "invalid_payload")
        if kind == "url_verification":
            if (challenge := challenge_token(payload.get("challenge"))) is None:
                raise rejected(400, "invalid_payload")
            return Handshake(challenge, "text/plain")
        if kind != "event_callback":
            return Ignored("not_an_event")  # app_rate_limited and the like
        event = as_object(payload.get("event"))
        event_id = string_id(payload.get("event_id"))
        if event is None or event_id is None:
            raise rejected(400, "invalid_payload")
        return self._message(payload, event, event_id, request)

    def _message(
        self, payload: dict[str, Any], event: dict[str, Any], event_id: str, request: WebhookRequest
    ) -> Parsed:
        if event.get("type") != "message":
            return Ignored("not_a_message")  # reactions, app_mention (the message event has it too)
        if event.get("bot_id") is not None:
            return Ignored("bot")  # our own posts and other apps': no loops
        if event.get("subtype") is not None:
            return Ignored("subtype")  # edits, deletions, joins, file shares
        team_id = string_id(payload.get("team_id")) or string_id(event.get("team"))
        channel = string_id(event.get("channel"))
        user = string_id(event.get("user"))
        ts = string_id(event.get("ts"))
        if team_id is None or channel is None or user is None or ts is None:
            return Ignored("incomplete")
        text = clean_text(event.get("text"))
        if text is None:
            return Ignored("no_text")
        message = ChatMessage(
            provider=self.name,
            event_id=event_id,
            conversation_id=f"slack:{team_id}:{channel}",
            author_id=f"slack:{team_id}:{user}",
            text=text,
            sent_at=unix_time(ts) or unix_time(payload.get("event_time")) or request.received_at,
            channel=Channel.CHAT,
            reply_to={
                "channel": channel,
                # Answer in the message's thread, or start one under it.
                "thread_ts": string_id(event.get("thread_ts")) or ts,
                "team_id": team_id,
            },
        )
        return [encodable(message)]

    def inline_reply(self, message: ChatMessage, text: str) -> InlineReply | None:
        return None  # Slack takes answers through chat.postMessage only
