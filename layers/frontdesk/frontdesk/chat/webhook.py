"""POST (and GET) /chat/{provider}: verify, parse, store, and answer in the response when the
platform allows it.

Answers: 404 unknown or unconfigured provider; 413 too large; 401 bad, missing or stale
signature, or a replayed signed request; 403 a failed subscription handshake; 400 malformed
payload; 200 for everything valid, including events Frontdesk does not handle (so platforms stop
retrying) and repeat deliveries (stored once). Nothing is stored before the signature checks
pass. A request signed with a timestamp is remembered once handled, in the transaction that
stores its last message: an exact replay is refused (and, its messages' ids being taken, stores
nothing), while the platform's retry of a request that failed goes through.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from frontdesk.chat.intake import ChatOutcome, ChatResult, receive_chat
from frontdesk.chat.providers import PROVIDERS
from frontdesk.chat.providers.base import (
    MAX_WEBHOOK_BYTES,
    TIMESTAMP_TOLERANCE_SECONDS,
    ChatMessage,
    Handshake,
    Ignored,
    InlineReply,
    Provider,
    ProviderSecrets,
    WebhookRejectedError,
    WebhookRequest,
)
from frontdesk.chat.settings import ChatProviderSettings
from frontdesk.config import Settings
from frontdesk.http import HttpRequest, json_response
from frontdesk.observability import logger, metrics
from frontdesk.tickets.store import ReplayedRequestError, SignedRequestSighting, TicketStore

# Providers that sign a timestamp: a request seen once within the tolerance window is refused
# the second time. (The others are replay-safe by message id: a repeat is stored once while its
# id is remembered, and a message older than MAX_MESSAGE_AGE is refused outright, so a captured
# request cannot come back once its id is forgotten.)
MAX_MESSAGE_AGE = timedelta(days=10)  # platforms retry for days, never this long
# Remembered past the tolerance window, after which the timestamp check refuses a request anyway.
_REMEMBERED = timedelta(seconds=2 * TIMESTAMP_TOLERANCE_SECONDS)
SIGNED_TIMESTAMP_HEADERS = {
    "generic": ("x-frontdesk-timestamp", "x-frontdesk-signature"),
    "slack": ("x-slack-request-timestamp", "x-slack-signature"),
}


def public_url(request: HttpRequest, event: dict[str, Any], settings: Settings) -> str:
    """The URL the platform called, as Twilio signs it: the configured public base URL, else
    <scheme>://<domain><path> from the API Gateway event, with the query string."""
    base = settings.chat.public_base_url
    url = (base.rstrip("/") if base else request.own_origin()) + request.path
    raw_query = str(event.get("rawQueryString") or "")
    return f"{url}?{raw_query}" if raw_query else url


def handle_webhook(
    request: HttpRequest, url: str, *, settings: Settings, store: TicketStore, now: datetime
) -> dict[str, Any]:
    name = request.path_parameters.get("provider", "")
    provider = PROVIDERS.get(name)
    configured = settings.chat.providers.get(name)
    if provider is None or configured is None:
        return _refused(404, "unknown_provider", name)
    if len(request.body) > MAX_WEBHOOK_BYTES:
        return _refused(413, "too_large", name)
    webhook = WebhookRequest(
        method=request.method,
        url=url,
        headers=request.headers,
        query=request.query,
        body=request.body,
        received_at=now,
    )
    try:
        provider.verify(webhook, _secrets(configured))
        parsed = provider.parse(webhook)
    except WebhookRejectedError as rejected:
        return _refused(rejected.status, rejected.reason, name, rejected.errors)
    sighting = _sighting(name, webhook, now)
    try:
        answer, remembered = _handle(
            parsed, provider, configured, name, settings=settings, store=store, now=now, sighting=sighting
        )
    except ReplayedRequestError:
        return _refused(401, "replayed", name)
    # A request that stored nothing (an ignored event, messages stored before) is remembered on
    # its own, after its handling, and only when handled for good (never after a 5xx, which the
    # platform sends again).
    if (
        sighting
        and not remembered
        and answer["statusCode"] < 500
        and not _remembered(store, sighting, name, now)
    ):
        return _refused(401, "replayed", name)
    return answer


def _handle(
    parsed: Handshake | Ignored | list[ChatMessage],
    provider: Provider,
    configured: ChatProviderSettings,
    name: str,
    *,
    settings: Settings,
    store: TicketStore,
    now: datetime,
    sighting: SignedRequestSighting | None,
) -> tuple[dict[str, Any], bool]:
    """The answer, and whether the request's `sighting` was stored with its messages."""
    if isinstance(parsed, Handshake):
        logger.info("webhook handshake answered", extra={"provider": name})
        answer = {"statusCode": 200, "headers": {"Content-Type": parsed.content_type}, "body": parsed.body}
        return answer, False
    if isinstance(parsed, Ignored):
        logger.info("webhook ignored", extra={"provider": name, "reason": parsed.reason})
        metrics.add_metric(name="WebhookIgnored", unit=MetricUnit.Count, value=1)
        return _empty_answer(provider), False
    fresh = [message for message in parsed if now - message.sent_at <= MAX_MESSAGE_AGE]
    if not fresh:
        return _refused(401, "stale_message", name), False
    if len(fresh) < len(parsed):
        logger.warning(
            "stale chat messages skipped", extra={"provider": name, "count": len(parsed) - len(fresh)}
        )
    parsed = fresh
    try:
        return _store_messages(
            parsed, provider, configured, settings=settings, store=store, now=now, sighting=sighting
        )
    except (ClientError, BotoCoreError):
        # Not stored: a 5xx makes the platform deliver again, so nothing is lost.
        return _unavailable(name, "chat message could not be stored"), False


def _unavailable(name: str, what: str) -> dict[str, Any]:
    logger.exception(what, extra={"provider": name})
    metrics.add_metric(name="WebhookStoreUnavailable", unit=MetricUnit.Count, value=1)
    return json_response(503, {"error": "unavailable"}, {"Retry-After": "5"})


def _remembered(store: TicketStore, sighting: SignedRequestSighting, name: str, now: datetime) -> bool:
    """True unless the request was remembered before (a replay)."""
    try:
        return store.remember_signed_request(sighting, now)
    except (ClientError, BotoCoreError):
        # Handled but not remembered: the same request again is handled again, and its messages
        # are recognised by their ids. Weaker replay protection for a while, nothing lost.
        logger.warning("webhook request not remembered", extra={"provider": name})
        return True


def _store_messages(
    messages: list[ChatMessage],
    provider: Provider,
    configured: ChatProviderSettings,
    *,
    settings: Settings,
    store: TicketStore,
    now: datetime,
    sighting: SignedRequestSighting | None,
) -> tuple[dict[str, Any], bool]:
    """The answer, and whether `sighting` was stored (with the last message)."""
    # Only a lone message can be answered in the response (Meta batches, and answers by API).
    answers_inline = len(messages) == 1 and provider.answers_inline
    inline: InlineReply | None = None
    result: ChatResult | None = None
    for position, message in enumerate(messages, start=1):
        result = receive_chat(
            message,
            provider=configured,
            store=store,
            settings=settings,
            now=now,
            acknowledged_inline=answers_inline,
            # With the last message: stored only when every message before it was.
            sighting=sighting if position == len(messages) else None,
        )
        _count(provider.name, result)
        if result.outcome is ChatOutcome.CREATED and answers_inline and result.ticket:
            from frontdesk.notify.ack_content import compose_chat_reply  # renders: loaded only here

            text, _ = compose_chat_reply(result.ticket, settings, now)
            inline = provider.inline_reply(message, text)
    remembered = sighting is not None and result is not None and result.outcome is not ChatOutcome.DUPLICATE
    return (_answer(inline) if inline else _empty_answer(provider)), remembered


def _count(name: str, result: ChatResult) -> None:
    logger.info(
        "chat message stored",
        extra={"provider": name, "reference": result.reference, "outcome": result.outcome.value},
    )
    metric = {ChatOutcome.CREATED: "TicketCreated", ChatOutcome.APPENDED: "ChatMessageAppended"}
    metrics.add_metric(name=metric.get(result.outcome, "WebhookReplayed"), unit=MetricUnit.Count, value=1)


def _secrets(configured: ChatProviderSettings) -> ProviderSecrets:
    token = configured.verify_token.get_secret_value() if configured.verify_token else None
    return ProviderSecrets(signing_secret=configured.signing_secret.get_secret_value(), verify_token=token)


def _sighting(name: str, request: WebhookRequest, now: datetime) -> SignedRequestSighting | None:
    """For providers that sign a timestamp: what identifies this signed request, to remember."""
    headers = SIGNED_TIMESTAMP_HEADERS.get(name)
    if headers is None or request.method != "POST":
        return None
    signed = "\n".join(request.header(header) or "" for header in headers)
    digest = hashlib.sha256(f"{name}\n{signed}\n".encode() + request.body).hexdigest()
    return SignedRequestSighting(digest, until=now + _REMEMBERED)


def _answer(reply: InlineReply) -> dict[str, Any]:
    return {
        "statusCode": reply.status,
        "headers": {"Content-Type": reply.content_type, "Cache-Control": "no-store"},
        "body": reply.body,
    }


def _empty_answer(provider: Provider) -> dict[str, Any]:
    """200 with nothing to say, in the form the platform expects (Twilio: an empty TwiML)."""
    if provider.name == "twilio":
        empty = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
        return {"statusCode": 200, "headers": {"Content-Type": "text/xml"}, "body": empty}
    return json_response(200, {"ok": True})


def _refused(
    status: int, reason: str, provider: str, errors: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    logger.warning("webhook refused", extra={"provider": provider[:32], "status": status, "reason": reason})
    metrics.add_metric(name="WebhookRejected", unit=MetricUnit.Count, value=1)
    body: dict[str, Any] = {"error": reason}
    if errors:
        body["errors"] = errors
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}
