"""Answers that go back through a platform's API (Slack, Meta): one HTTPS call each.

The base URL is configurable per provider, so tests and the local stack send to a fake API on
localhost. Failures are sorted the way the stream consumer needs them: a timeout, a 429 or a 5xx
may succeed later (TransientChatError: the record is retried); any other refusal will not
(PermanentChatError: the acknowledgement is recorded as failed).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from frontdesk.config import ChatProviderSettings
from frontdesk.tickets.model import Ticket

DEFAULT_API_BASE_URLS = {"slack": "https://slack.com/api", "meta": "https://graph.facebook.com/v21.0"}
TIMEOUT_SECONDS = 5.0
ANSWERED_BY_API = frozenset(DEFAULT_API_BASE_URLS)

Opener = Callable[..., Any]


class PermanentChatError(Exception):
    """The platform refused the message and would refuse it again; `code` says why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class TransientChatError(Exception):
    """The platform could not take the message now (timeout, throttling, its own error)."""


class ChatSender:
    def __init__(self, opener: Opener = urllib.request.urlopen, timeout: float = TIMEOUT_SECONDS) -> None:
        self._open = opener
        self._timeout = timeout

    def send(self, ticket: Ticket, text: str, provider: ChatProviderSettings) -> str:
        """Post `text` into the ticket's conversation; the platform's id of the sent message."""
        if provider.api_token is None:
            raise PermanentChatError("no_api_token")
        base = (provider.api_base_url or DEFAULT_API_BASE_URLS[ticket.source]).rstrip("/")
        url, payload = _request(ticket, text, base)
        request = urllib.request.Request(  # noqa: S310 - https, or a localhost fake configured by the operator
            url,
            data=json.dumps(payload).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Authorization": f"Bearer {provider.api_token.get_secret_value()}",
            },
        )
        answer = self._call(request)
        return _sent_id(ticket.source, answer)

    def _call(self, request: urllib.request.Request) -> dict[str, Any]:
        try:
            with self._open(request, timeout=self._timeout) as response:
                body = response.read(1024 * 1024)
        except urllib.error.HTTPError as error:
            if error.code == 429 or error.code >= 500:
                raise TransientChatError(f"http_{error.code}") from None
            raise PermanentChatError(f"http_{error.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise TransientChatError(type(error).__name__) from None
        try:
            answer = json.loads(body or b"{}")
        except ValueError:
            raise TransientChatError("unreadable_answer") from None
        return answer if isinstance(answer, dict) else {}


def _request(ticket: Ticket, text: str, base: str) -> tuple[str, dict[str, Any]]:
    to = ticket.reply_to
    if ticket.source == "slack":
        payload: dict[str, Any] = {"channel": to.get("channel", ""), "text": text}
        if to.get("thread_ts"):
            payload["thread_ts"] = to["thread_ts"]
        return f"{base}/chat.postMessage", payload
    if to.get("platform") == "whatsapp":
        payload = {"messaging_product": "whatsapp", "to": to.get("recipient_id", ""), "type": "text"}
        payload["text"] = {"body": text, "preview_url": False}
        return f"{base}/{quote(to.get('phone_number_id', ''), safe='')}/messages", payload
    # Messenger and Instagram: the Send API, as an answer to the customer's message.
    payload = {
        "recipient": {"id": to.get("recipient_id", "")},
        "messaging_type": "RESPONSE",
        "message": {"text": text},
    }
    return f"{base}/{quote(to.get('page_id', 'me'), safe='')}/messages", payload


def _sent_id(provider: str, answer: dict[str, Any]) -> str:
    if provider == "slack":
        # Slack answers 200 with ok=false for refusals; only its rate limit is worth a retry.
        if not answer.get("ok"):
            error = str(answer.get("error") or "not_ok")
            raise (TransientChatError(error) if error == "ratelimited" else PermanentChatError(error))
        return str(answer.get("ts") or "")
    if "error" in answer:
        raise PermanentChatError(
            str(answer["error"].get("code", "error") if isinstance(answer["error"], dict) else "error")
        )
    messages = answer.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[0], dict):
        return str(messages[0].get("id") or "")
    return str(answer.get("message_id") or "")
