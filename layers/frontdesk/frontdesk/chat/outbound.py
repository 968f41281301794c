"""Messages that go back through a platform's API (Slack, Meta, Telegram, Twilio) or to the
generic scheme's callback URL: one HTTPS call each.

The base URL is configurable per provider, so tests and the local stack send to a fake API on
localhost. Failures are sorted the way the stream consumer needs them: a timeout, a 429 or a 5xx
may succeed later (TransientChatError: the record is retried); any other refusal will not
(PermanentChatError: the message is recorded as failed).

Whether a message can reach the customer at all (a configured provider, a recipient, a messaging
app's customer-service window) is decided in reach.py, before anything is sent.

The generic callback is signed as inbound generic webhooks are (see providers/generic.py)::

    POST <callback_url>
    Content-Type: application/json; charset=utf-8
    X-Frontdesk-Timestamp: 1767261600
    X-Frontdesk-Signature: v1=<hex HMAC-SHA256(signing_secret, timestamp + "." + raw body)>

    {"conversation_id": "chat-5521", "text": "...", "reference": "FD-7K3M-Q9TX", "message_id": "..."}

Any 2xx answer means delivered; a JSON answer's "id" is kept as the sent message's id.
"""

from __future__ import annotations

import base64
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from frontdesk.chat.reach import DEFAULT_API_BASE_URLS, generic_conversation, missing_for_sending

if TYPE_CHECKING:
    from frontdesk.chat.settings import ChatProviderSettings
    from frontdesk.tickets.model import Ticket

# Acknowledged through the API by the stream consumer; Telegram, Twilio and generic tickets get
# their acknowledgement in the webhook's response instead.
ANSWERED_BY_API = frozenset({"slack", "meta"})
TIMEOUT_SECONDS = 5.0
MAX_ANSWER_BYTES = 1024 * 1024
_TELEGRAM_INTEGER = re.compile(r"-?\d{1,20}")

Opener = Callable[..., Any]


class PermanentChatError(Exception):
    """The platform refused the message and would refuse it again; `code` says why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class TransientChatError(Exception):
    """The platform could not take the message now (timeout, throttling, its own error)."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirected POST would be repeated as a GET without its body, and a 200 to that would
    count as delivered: a redirect is an HTTPError (3xx, a refusal) instead."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@cache
def _opener() -> urllib.request.OpenerDirector:
    # Built on the first send, not at import: from Python 3.13 (Lambda's) its HTTPS handler loads
    # the system's CA certificates when it is made (about 25 ms), which the stream consumer and
    # the survey sender would pay at every cold start for email they send through SES.
    return urllib.request.build_opener(_NoRedirects())


def _open_without_redirects(*args: Any, **kwargs: Any) -> Any:
    return _opener().open(*args, **kwargs)


class ChatSender:
    def __init__(
        self,
        opener: Opener = _open_without_redirects,
        timeout: float = TIMEOUT_SECONDS,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._open = opener
        self._timeout = timeout
        # Signed timestamps are checked by the receiver against its own clock: real time, never
        # the desk's clock (which the local stack may have moved).
        self._wall_clock = wall_clock

    def send(
        self, ticket: Ticket, text: str, provider: ChatProviderSettings, *, message_id: str | None = None
    ) -> str:
        """Post `text` into the ticket's conversation; the platform's id of the sent message.
        `message_id` (Frontdesk's) lets a generic receiver drop a repeat."""
        if missing := missing_for_sending(ticket, provider):
            raise PermanentChatError(missing)
        if ticket.source == "generic":
            request = self._generic_request(ticket, text, provider, message_id)
        else:
            request = _API_REQUESTS[ticket.source](ticket, text, provider)
        return _ANSWERS[ticket.source](self._call(request, ticket.source))

    def _generic_request(
        self, ticket: Ticket, text: str, provider: ChatProviderSettings, message_id: str | None
    ) -> urllib.request.Request:
        payload = {
            "conversation_id": generic_conversation(ticket),
            "text": text,
            "reference": ticket.reference,
        }
        if message_id:
            payload["message_id"] = message_id
        body = json.dumps(payload).encode()
        timestamp = str(int(self._wall_clock()))
        # Imported here: the adapters' helpers bring the inbound payload models with them, which
        # functions sending email acknowledgements and surveys would otherwise build for nothing.
        from frontdesk.chat.providers.payloads import hmac_sha256_hex

        key = provider.signing_secret.get_secret_value().encode("utf-8")
        signature = "v1=" + hmac_sha256_hex(key, timestamp.encode("ascii") + b"." + body)
        headers = {"X-Frontdesk-Timestamp": timestamp, "X-Frontdesk-Signature": signature}
        return _post(str(provider.callback_url), body, "application/json; charset=utf-8", headers)

    def _call(self, request: urllib.request.Request, source: str) -> bytes:
        try:
            with self._open(request, timeout=self._timeout) as response:
                return bytes(response.read(MAX_ANSWER_BYTES))
        except urllib.error.HTTPError as error:
            if error.code == 429 or error.code >= 500:
                raise TransientChatError(f"http_{error.code}") from None
            raise PermanentChatError(_refusal_code(source, error)) from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise TransientChatError(type(error).__name__) from None


def _base(ticket: Ticket, provider: ChatProviderSettings) -> str:
    return (provider.api_base_url or DEFAULT_API_BASE_URLS[ticket.source]).rstrip("/")


def _token(provider: ChatProviderSettings) -> str:
    assert provider.api_token is not None  # checked by missing_for_sending
    return provider.api_token.get_secret_value()


def _post(url: str, body: bytes, content_type: str, headers: dict[str, str]) -> urllib.request.Request:
    return urllib.request.Request(  # noqa: S310 - https, or a localhost fake configured by the operator
        url, data=body, method="POST", headers={"Content-Type": content_type, **headers}
    )


def _post_json(url: str, payload: dict[str, Any], headers: dict[str, str]) -> urllib.request.Request:
    return _post(url, json.dumps(payload).encode(), "application/json; charset=utf-8", headers)


def _slack_request(ticket: Ticket, text: str, provider: ChatProviderSettings) -> urllib.request.Request:
    to = ticket.reply_to
    payload: dict[str, Any] = {"channel": to["channel"], "text": text}
    if to.get("thread_ts"):
        payload["thread_ts"] = to["thread_ts"]
    bearer = {"Authorization": f"Bearer {_token(provider)}"}
    return _post_json(f"{_base(ticket, provider)}/chat.postMessage", payload, bearer)


def _meta_request(ticket: Ticket, text: str, provider: ChatProviderSettings) -> urllib.request.Request:
    to = ticket.reply_to
    base = _base(ticket, provider)
    bearer = {"Authorization": f"Bearer {_token(provider)}"}
    if to.get("platform") == "whatsapp":
        payload: dict[str, Any] = {"messaging_product": "whatsapp", "to": to["recipient_id"], "type": "text"}
        payload["text"] = {"body": text, "preview_url": False}
        return _post_json(f"{base}/{quote(to['phone_number_id'], safe='')}/messages", payload, bearer)
    # Messenger and Instagram: the Send API, as an answer to the customer's message.
    payload = {
        "recipient": {"id": to["recipient_id"]},
        "messaging_type": "RESPONSE",
        "message": {"text": text},
    }
    return _post_json(f"{base}/{quote(to.get('page_id', 'me'), safe='')}/messages", payload, bearer)


def _telegram_request(ticket: Ticket, text: str, provider: ChatProviderSettings) -> urllib.request.Request:
    to = ticket.reply_to
    chat_id = to["chat_id"]
    # Telegram takes chat ids as integers (or "@channel" names): sent back as they came.
    payload: dict[str, Any] = {
        "chat_id": int(chat_id) if _TELEGRAM_INTEGER.fullmatch(chat_id) else chat_id,
        "text": text,
    }
    thread = to.get("message_thread_id", "")
    if _TELEGRAM_INTEGER.fullmatch(thread):
        payload["message_thread_id"] = int(thread)  # the forum topic the customer wrote in
    # The bot token is part of the path: the Bot API has no other way to take it.
    url = f"{_base(ticket, provider)}/bot{quote(_token(provider), safe=':')}/sendMessage"
    return _post_json(url, payload, {})


def _twilio_request(ticket: Ticket, text: str, provider: ChatProviderSettings) -> urllib.request.Request:
    to = ticket.reply_to
    account = to["account_sid"]
    secret = provider.signing_secret.get_secret_value()
    credentials = base64.b64encode(f"{account}:{secret}".encode()).decode("ascii")
    # From is our number as the customer wrote to it, "whatsapp:" prefix included.
    body = urlencode({"To": to["to"], "From": to["from"], "Body": text}).encode()
    url = f"{_base(ticket, provider)}/2010-04-01/Accounts/{quote(account, safe='')}/Messages.json"
    return _post(url, body, "application/x-www-form-urlencoded", {"Authorization": f"Basic {credentials}"})


_API_REQUESTS: dict[str, Callable[[Ticket, str, ChatProviderSettings], urllib.request.Request]] = {
    "slack": _slack_request,
    "meta": _meta_request,
    "telegram": _telegram_request,
    "twilio": _twilio_request,
}


def _json_answer(body: bytes) -> dict[str, Any]:
    try:
        answer = json.loads(body or b"{}")
    except ValueError:
        raise TransientChatError("unreadable_answer") from None
    return answer if isinstance(answer, dict) else {}


def _slack_sent(body: bytes) -> str:
    answer = _json_answer(body)
    # Slack answers 200 with ok=false for refusals; only its rate limit is worth a retry.
    if not answer.get("ok"):
        error = str(answer.get("error") or "not_ok")
        raise (TransientChatError(error) if error == "ratelimited" else PermanentChatError(error))
    return str(answer.get("ts") or "")


def _meta_sent(body: bytes) -> str:
    answer = _json_answer(body)
    if "error" in answer:
        raise PermanentChatError(
            str(answer["error"].get("code", "error") if isinstance(answer["error"], dict) else "error")
        )
    messages = answer.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[0], dict):
        return str(messages[0].get("id") or "")
    return str(answer.get("message_id") or "")


def _telegram_sent(body: bytes) -> str:
    answer = _json_answer(body)
    if answer.get("ok") is not True:
        code = answer.get("error_code")
        code = code if isinstance(code, int) and not isinstance(code, bool) else 0
        if code == 429 or code >= 500:
            raise TransientChatError(f"http_{code}")
        raise PermanentChatError(f"http_{code}" if code else "not_ok")
    result = answer.get("result")
    return str(result.get("message_id") or "") if isinstance(result, dict) else ""


def _twilio_sent(body: bytes) -> str:
    return str(_json_answer(body).get("sid") or "")


def _generic_sent(body: bytes) -> str:
    # Any 2xx is delivered: the receiver owes us no particular body.
    try:
        answer = json.loads(body)
    except ValueError:
        return ""
    sent_id = answer.get("id") if isinstance(answer, dict) else None
    return str(sent_id) if isinstance(sent_id, str | int) and not isinstance(sent_id, bool) else ""


_ANSWERS: dict[str, Callable[[bytes], str]] = {
    "slack": _slack_sent,
    "meta": _meta_sent,
    "telegram": _telegram_sent,
    "twilio": _twilio_sent,
    "generic": _generic_sent,
}


def _refusal_code(source: str, error: urllib.error.HTTPError) -> str:
    """A permanent refusal's failure code: Twilio's own error code where its answer has one (e.g.
    twilio_21610, the customer unsubscribed), else the HTTP status."""
    if source == "twilio":
        try:
            answer = json.loads(error.read(64 * 1024) or b"{}")
        except (ValueError, OSError):
            answer = None
        code = answer.get("code") if isinstance(answer, dict) else None
        if isinstance(code, int) and not isinstance(code, bool):
            return f"twilio_{code}"
    return f"http_{error.code}"
