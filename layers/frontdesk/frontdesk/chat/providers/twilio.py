"""Twilio Messaging webhooks: SMS, MMS and WhatsApp through Twilio
(twilio.com/docs/usage/webhooks/webhooks-security, twilio.com/docs/messaging/twiml).

A form post signed X-Twilio-Signature = base64(HMAC-SHA1(auth token, the URL exactly as Twilio
called it + every POST parameter sorted by name, as name + value)). No timestamp: replays are caught
by deduplicating on MessageSid. The answer can ride in the response as TwiML.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

from frontdesk.chat.providers.base import (
    ChatMessage,
    Ignored,
    InlineReply,
    Parsed,
    ProviderSecrets,
    WebhookRejectedError,
    WebhookRequest,
)
from frontdesk.chat.providers.payloads import (
    clean_name,
    clean_text,
    encodable,
    form_fields,
    media_type,
    rejected,
    same,
    signing_key,
    string_id,
)
from frontdesk.tickets.model import Channel

# Twilio refuses longer message bodies; an inline reply's failure is reported to no one.
MAX_REPLY_CHARS = 1600
# Characters XML 1.0 cannot carry at all, escaped or not.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>{}</Message></Response>'


def twilio_signature(key: bytes, url: str, params: list[tuple[str, str]]) -> str:
    """Twilio's algorithm: parameters sorted by name and, for a repeated name, by value (as its
    own helper libraries do), appended to the URL without separators."""
    signed = url + "".join(name + value for name, value in sorted(params))
    return base64.b64encode(hmac.new(key, signed.encode("utf-8"), hashlib.sha1).digest()).decode("ascii")


def _url_variants(url: str) -> list[str]:
    """The URL as given, and with the port removed or the default port added: Twilio signs one or
    the other depending on its backend, so its libraries accept both."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return [url]
    if port is not None:
        netloc = parts.netloc[: parts.netloc.rfind(":")]
    elif parts.scheme in ("http", "https") and parts.netloc:
        netloc = parts.netloc + (":443" if parts.scheme == "https" else ":80")
    else:
        return [url]
    return [url, parts._replace(netloc=netloc).geturl()]


class TwilioProvider:
    name = "twilio"
    answers_inline = True

    def verify(self, request: WebhookRequest, secrets: ProviderSecrets) -> None:
        key = signing_key(secrets)
        signature = request.header("X-Twilio-Signature")
        if not signature:
            raise rejected(401, "missing_signature")
        body_hash = parse_qs(urlsplit(request.url).query).get("bodySHA256")
        params: list[tuple[str, str]] = []
        body_ok = True
        if body_hash:
            # JSON bodies: the URL alone is signed, and carries the body's SHA-256.
            body_ok = same(hashlib.sha256(request.body).hexdigest(), body_hash[0])
        else:
            try:
                params = form_fields(request.body)
            except WebhookRejectedError:
                raise rejected(401, "unverifiable_body") from None
        # Every variant is compared, so the time taken does not tell which one matched.
        matches = [same(twilio_signature(key, url, params), signature) for url in _url_variants(request.url)]
        if not (body_ok and any(matches)):
            raise rejected(401, "bad_signature")

    def parse(self, request: WebhookRequest) -> Parsed:
        if media_type(request.header("Content-Type")) == "application/json":
            return Ignored("not_a_message")  # Twilio's JSON webhooks are events, not inbound messages
        fields: dict[str, str] = {}
        for name, value in form_fields(request.body):
            fields.setdefault(name, value)  # a repeated name: the first counts
        status = fields.get("MessageStatus") or fields.get("SmsStatus")
        if status and status != "received":
            return Ignored("status_callback")  # sent, delivered, failed... of our own messages
        sid = string_id(fields.get("MessageSid")) or string_id(fields.get("SmsMessageSid"))
        sender = string_id(fields.get("From"))  # "+15551234567", or "whatsapp:+15551234567"
        recipient = string_id(fields.get("To"))
        if sid is None or sender is None or recipient is None:
            return Ignored("incomplete")
        text = clean_text(fields.get("Body"))
        if text is None:
            return Ignored("no_text")  # a picture without words
        # An answer goes back from our number (To) to the customer's (From), "whatsapp:" prefixes
        # kept, through the Messages API of the account the message came through.
        reply_to = {"to": sender, "from": recipient}
        if account_sid := string_id(fields.get("AccountSid")):
            reply_to["account_sid"] = account_sid
        message = ChatMessage(
            provider=self.name,
            event_id=f"twilio:{sid}",
            conversation_id=f"twilio:{recipient}:{sender}",
            author_id=f"twilio:{sender}",
            text=text,
            sent_at=request.received_at,  # Twilio sends no timestamp
            author_name=clean_name(fields.get("ProfileName")),  # WhatsApp's profile name
            channel=Channel.SOCIAL,
            reply_to=reply_to,
        )
        return [encodable(message)]

    def inline_reply(self, message: ChatMessage, text: str) -> InlineReply | None:
        safe = escape(_NOT_XML.sub("", text[:MAX_REPLY_CHARS]))
        return InlineReply(200, _TWIML.format(safe), "text/xml")
