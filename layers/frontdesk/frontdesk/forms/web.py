"""The support form over HTTP: the page, the post, and the thank-you page.

JSON clients get JSON (201 with the reference, or 4xx with field errors); browsers get pages
(303 to the thank-you page, or the form again with each message next to its field).
"""

from __future__ import annotations

import ipaddress
import secrets
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from frontdesk.config import Settings
from frontdesk.forms.posted import BadSubmissionError, FieldError, decode_body
from frontdesk.forms.settings import FormSettings
from frontdesk.forms.submission import (
    HONEYPOT_FIELD,
    FormSubmission,
    check_idempotency_key,
    to_inbound_message,
    validate_submission,
)
from frontdesk.http import HttpRequest, json_response, page_response, redirect_response
from frontdesk.intake import IdempotencyKeyReusedError, accept
from frontdesk.intake.routing import route
from frontdesk.language.catalogs import translatable
from frontdesk.language.tags import primary_language
from frontdesk.observability import logger, metrics
from frontdesk.rendering import page_language, render_page
from frontdesk.tickets.reference import normalise_reference
from frontdesk.tickets.store import HourlyQuota, QuotaExceededError, TicketStore

# Without an Idempotency-Key the content is the key: the same post within this window is one ticket.
CONTENT_DUPLICATE_WINDOW = timedelta(minutes=10)
MAX_FIELDS = 64


def _form(request: HttpRequest, settings: Settings) -> tuple[str, FormSettings] | None:
    form_id = request.path_parameters.get("form_id", "")
    form = settings.forms.get(form_id)
    return (form_id, form) if form else None


def _not_found(request: HttpRequest, settings: Settings) -> dict[str, Any]:
    if request.prefers_json():
        return json_response(404, {"errors": [{"field": "form_id", "message": "no such form"}]})
    language, _ = page_language(request, settings)
    page = render_page("pages/not_found.html.j2", lang=language, desk_name=settings.desk_name)
    return page_response(404, page)


def _form_page(
    status: int,
    request: HttpRequest,
    form_id: str,
    form: FormSettings,
    settings: Settings,
    *,
    values: dict[str, Any] | None = None,
    errors: list[FieldError] | None = None,
    submission_id: str | None = None,
) -> dict[str, Any]:
    errors = errors or []
    values = {name: value for name, value in (values or {}).items() if isinstance(value, str)}
    language, asked = page_language(request, settings, values.get("locale"))
    page = render_page(
        "pages/form.html.j2",
        lang=language,
        # Passed on with the post only when the visitor chose it: the desk's default says nothing
        # about the customer, and the language they write in should decide then.
        locale_hint=language if asked else "",
        desk_name=settings.desk_name,
        form_id=form_id,
        form=form,
        values=values,
        errors={error.field: error for error in errors},
        error_list=errors,
        submission_id=submission_id or secrets.token_urlsafe(16),
        honeypot_field=HONEYPOT_FIELD,
    )
    return page_response(status, page)


def show_form(request: HttpRequest, settings: Settings) -> dict[str, Any]:
    """GET /forms/{form_id}: the form. Each rendering carries a fresh submission id, so a
    double-clicked or re-sent post creates one ticket even without JavaScript."""
    found = _form(request, settings)
    if not found:
        return _not_found(request, settings)
    return _form_page(200, request, *found, settings)


def show_thanks(request: HttpRequest, settings: Settings) -> dict[str, Any]:
    """GET /forms/{form_id}/thanks?reference=...: where a browser lands after a post."""
    found = _form(request, settings)
    if not found:
        return _not_found(request, settings)
    reference = normalise_reference(request.query.get("reference", ""), settings.reference_prefix)
    language, _ = page_language(request, settings)
    page = render_page(
        "pages/thanks.html.j2",
        lang=language,
        desk_name=settings.desk_name,
        form=found[1],
        form_id=found[0],
        reference=reference,
    )
    return page_response(200, page)


def _reject(
    request: HttpRequest,
    settings: Settings,
    form_id: str,
    form: FormSettings,
    bad: BadSubmissionError,
    fields: dict[str, Any],
) -> dict[str, Any]:
    metrics.add_metric(name="FormRejected", unit=MetricUnit.Count, value=1)
    logger.info(
        "form post rejected",
        extra={"form_id": form_id, "status": bad.status, "fields": [e.field for e in bad.errors]},
    )
    if request.prefers_json():
        return json_response(bad.status, {"errors": [error.model_dump() for error in bad.errors]})
    submission_id = fields.get("submission_id") if isinstance(fields.get("submission_id"), str) else None
    return _form_page(
        bad.status,
        request,
        form_id,
        form,
        settings,
        values=fields,
        errors=bad.errors,
        submission_id=submission_id,
    )


def submit_form(
    request: HttpRequest, *, settings: Settings, store: TicketStore, now: datetime
) -> dict[str, Any]:
    """POST /forms/{form_id}: validate, then create the ticket in one transaction."""
    found = _form(request, settings)
    if not found:
        return _not_found(request, settings)
    form_id, form = found
    fields: dict[str, Any] = {}
    try:
        if len(request.body) > settings.max_form_body_bytes:
            limit = settings.max_form_body_bytes // 1024
            raise BadSubmissionError(
                413, [FieldError.of("body", translatable("is larger than %(limit)s KiB"), limit=limit)]
            )
        key = check_idempotency_key(request.header("idempotency-key"))
        fields = decode_body(request.header("content-type"), request.body, MAX_FIELDS)
        submission = validate_submission(fields, form, settings.max_message_chars)
    except BadSubmissionError as bad:
        return _reject(request, settings, form_id, form, bad, fields)
    if submission.is_spam:
        return _discard_spam(request, form_id)
    return _create_ticket(request, submission, key, form_id, form, settings, store, now, fields)


def _discard_spam(request: HttpRequest, form_id: str) -> dict[str, Any]:
    metrics.add_metric(name="FormSpamDiscarded", unit=MetricUnit.Count, value=1)
    logger.info("form post discarded: honeypot filled", extra={"form_id": form_id})
    if request.prefers_json():
        return json_response(422, {"errors": [{"field": HONEYPOT_FIELD, "message": "must be left empty"}]})
    # A bot learns nothing: it lands on the thank-you page, without a reference.
    return redirect_response(f"{request.path.rstrip('/')}/thanks")


def _network_quota(request: HttpRequest, settings: Settings) -> HourlyQuota | None:
    """The client's network gets max_form_tickets_per_network_per_hour new tickets an hour: its
    IPv4 address, or its IPv6 /64 (one subscriber's, who can use any address in it)."""
    try:
        address = ipaddress.ip_address(request.source_ip)
    except ValueError:
        return None  # no address (a test, a misconfigured proxy): nothing to count against
    network = ipaddress.ip_network(f"{address}/{32 if address.version == 4 else 64}", strict=False)
    return HourlyQuota(f"form:{network}", settings.max_form_tickets_per_network_per_hour)


def _try_later(
    status: int,
    retry_after: int,
    error: FieldError,
    request: HttpRequest,
    form_id: str,
    form: FormSettings,
    settings: Settings,
    fields: dict[str, Any],
    submission: FormSubmission,
) -> dict[str, Any]:
    """A post that could not be taken now: the reason, Retry-After, and (for a browser) the form
    again with what was typed."""
    headers = {"Retry-After": str(retry_after)}
    if request.prefers_json():
        return json_response(status, {"errors": [error.model_dump()]}, headers)
    response = _form_page(
        status,
        request,
        form_id,
        form,
        settings,
        values=fields,
        errors=[error],
        submission_id=submission.submission_id,
    )
    response["headers"].update(headers)
    return response


def _create_ticket(
    request: HttpRequest,
    submission: FormSubmission,
    key: str | None,
    form_id: str,
    form: FormSettings,
    settings: Settings,
    store: TicketStore,
    now: datetime,
    fields: dict[str, Any],
) -> dict[str, Any]:
    message = to_inbound_message(
        submission,
        form_id=form_id,
        form=form,
        idempotency_key=key,
        accept_language=request.header("accept-language"),
        now=now,
    )
    message = route(message, settings, now)
    explicit_key = bool(key or submission.submission_id)
    window = timedelta(hours=settings.idempotency_window_hours) if explicit_key else CONTENT_DUPLICATE_WINDOW
    try:
        accepted = accept(
            message,
            store=store,
            now=now,
            reference_prefix=settings.reference_prefix,
            default_language=settings.default_language,
            idempotency_window=window,
            quota=_network_quota(request, settings),
        )
    except (ClientError, BotoCoreError):
        # The table is unreachable even after the SDK's retries: say so, and keep what was typed.
        logger.exception("ticket could not be stored", extra={"form_id": form_id})
        metrics.add_metric(name="FormStoreUnavailable", unit=MetricUnit.Count, value=1)
        unavailable = FieldError.of(
            "form", translatable("we could not save your message just now; try again")
        )
        return _try_later(503, 5, unavailable, request, form_id, form, settings, fields, submission)
    except QuotaExceededError:
        logger.info("form post refused: the network's hourly quota is used up", extra={"form_id": form_id})
        metrics.add_metric(name="FormRateLimited", unit=MetricUnit.Count, value=1)
        too_many = FieldError.of(
            "form", translatable("too many messages from your network this hour; please try again later")
        )
        next_hour = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        wait = max(1, int((next_hour - now).total_seconds()))
        return _try_later(429, wait, too_many, request, form_id, form, settings, fields, submission)
    except IdempotencyKeyReusedError:
        reused = BadSubmissionError(
            422, [FieldError.of("Idempotency-Key", translatable("was already used for a different request"))]
        )
        return _reject(request, settings, form_id, form, reused, fields)
    metrics.add_metric(
        name="TicketCreated" if accepted.created else "FormReplayed", unit=MetricUnit.Count, value=1
    )
    logger.info(
        "form post accepted",
        extra={"form_id": form_id, "reference": accepted.reference, "new_ticket": accepted.created},
    )
    if request.prefers_json():
        body = {"reference": accepted.reference, "status": "new"}
        if accepted.created:
            return json_response(201, body)
        return json_response(200, body, {"Idempotent-Replayed": "true"})
    thanks = f"{request.path.rstrip('/')}/thanks?reference={quote(accepted.reference)}"
    if chosen := primary_language(submission.locale):
        thanks += f"&lang={quote(chosen)}"  # the thank-you page speaks the form's language
    return redirect_response(thanks)
