"""The survey page: GET /surveys/{token} shows the questions, POST records the answer once.

A GET never records anything: mail security scanners open every link in a message, and a
score must come from the customer. The token is checked before any database read; the page
works without JavaScript and speaks the customer's language (right to left where it is written
so). A POST another site's page makes (a forged form, a hidden frame) is refused: the answer must
come from the survey page itself (`cross_site_post`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from frontdesk.config import Settings
from frontdesk.forms.posted import BadSubmissionError, FieldError, decode_body
from frontdesk.http import HttpRequest, page_response
from frontdesk.language.catalogs import answer_language, translatable
from frontdesk.observability import logger, metrics
from frontdesk.rendering import page_language, render_page
from frontdesk.surveys.tokens import ExpiredSurveyTokenError, InvalidSurveyTokenError, SurveyLink, read_link
from frontdesk.text import multiline_problem, normalise_multiline
from frontdesk.tickets.model import CSAT_SCORES, SurveyAnswer, SurveyState, TicketStatus
from frontdesk.tickets.store import SurveyAnsweredError, SurveyNotOpenError, TicketChangedError, TicketStore

MAX_BODY_BYTES = 32 * 1024
NPS_SCORES = tuple(range(11))
_NO_STORE = {"Cache-Control": "no-store"}


class AnswerForm(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    csat: int = Field(ge=1, le=5)
    nps: int | None = Field(None, ge=0, le=10)
    comment: str = ""

    @field_validator("nps", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if value in ("", None) else value


def _keys(settings: Settings) -> list[bytes]:
    return [key.get_secret_value().encode() for key in settings.surveys.signing_keys]


def _notice(status: int, language: str, settings: Settings, kind: str) -> dict[str, Any]:
    """A page with one message: thanks, already answered, expired, or not found."""
    page = render_page("pages/survey_notice.html.j2", lang=language, desk_name=settings.desk_name, kind=kind)
    return page_response(status, page, _NO_STORE)


def _open_link(request: HttpRequest, settings: Settings, now: datetime) -> SurveyLink | dict[str, Any]:
    """The survey link the path carries, or the response that refuses it (decided without a
    database read)."""
    token = request.path_parameters.get("token", "")
    try:
        link = read_link(token, _keys(settings), now)
    except InvalidSurveyTokenError:
        metrics.add_metric(name="SurveyLinkRefused", unit=MetricUnit.Count, value=1)
        language, _ = page_language(request, settings)
        return _notice(404, language, settings, "not_found")
    except ExpiredSurveyTokenError as expired:
        return _notice(
            410, answer_language([expired.language], settings.default_language), settings, "expired"
        )
    if request.method == "POST" and (reason := cross_site_post(request, settings)):
        logger.warning("survey post refused", extra={"reference": link.reference, "reason": reason})
        metrics.add_metric(name="SurveyPostRefused", unit=MetricUnit.Count, value=1)
        return _notice(403, _language(link, settings), settings, "cross_site")
    return link


def _language(link: SurveyLink, settings: Settings) -> str:
    return answer_language([link.language], settings.default_language)


def _origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of a URL or an Origin header, default ports filled in; None if it
    names no http(s) origin (such as the opaque origin "null")."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80)


def own_origins(request: HttpRequest, settings: Settings) -> set[tuple[str, str, int]]:
    """Where the survey page is served from: the origin the client called (API Gateway's domain
    name or the Host header), and the configured base URLs the survey links are built on."""
    scheme = request.own_origin().split("://", 1)[0]
    hosts = (request.domain_name, request.header("host") or "")
    candidates = [f"{scheme}://{host}" for host in hosts if host]
    candidates += [url for url in (settings.surveys.page_base_url, settings.public_api_url) if url]
    return {origin for url in candidates if (origin := _origin(url))}


def cross_site_post(request: HttpRequest, settings: Settings) -> str | None:
    """Why a survey POST must be refused as a cross-site request, or None to accept it.

    Fetch Metadata first: a browser that sends Sec-Fetch-Site vouches for where the post came
    from, and only the page itself ("same-origin") or the person ("none") may answer. (Chromium
    sends "Origin: null" for the page's own post, because pages say Referrer-Policy: no-referrer;
    Sec-Fetch-Site is what tells that post from a sandboxed frame's.) Without Sec-Fetch-Site, an
    Origin must be the page's own. With neither, as from curl or a browser too old for both, the
    post is accepted: the unguessable token in the link is the capability, and no cookie rides
    along that another site could borrow."""
    fetch_site = (request.header("sec-fetch-site") or "").strip().lower()
    if fetch_site:
        return None if fetch_site in ("same-origin", "none") else f"sec-fetch-site:{fetch_site[:20]}"
    origin = request.header("origin")
    if origin is None:
        return None
    return None if _origin(origin) in own_origins(request, settings) else "origin"


def _form_page(
    status: int,
    link: SurveyLink,
    settings: Settings,
    *,
    values: dict[str, Any],
    errors: list[FieldError] | None = None,
) -> dict[str, Any]:
    page = render_page(
        "pages/survey.html.j2",
        lang=_language(link, settings),
        desk_name=settings.desk_name,
        reference=link.reference,
        ask_nps=settings.surveys.nps,
        csat_scores=CSAT_SCORES,
        nps_scores=NPS_SCORES,
        comment_max_chars=settings.surveys.comment_max_chars,
        values=values,
        error_list=errors or [],
        errors={error.field: error for error in errors or []},
    )
    return page_response(status, page, _NO_STORE)


def show_survey(
    request: HttpRequest, *, settings: Settings, store: TicketStore, now: datetime
) -> dict[str, Any]:
    """GET: the questions, with a score chosen in the email (?csat=4) ticked but not recorded."""
    link = _open_link(request, settings, now)
    if isinstance(link, dict):
        return link
    survey = store.get_survey(link.reference, link.resolved_at)
    if survey is None or survey.state not in (SurveyState.SENT, SurveyState.ANSWERED):
        return _notice(404, _language(link, settings), settings, "not_found")
    if survey.state is SurveyState.ANSWERED:
        return _notice(200, _language(link, settings), settings, "already")
    chosen = request.query.get("csat", "")
    values = {"csat": int(chosen)} if chosen.isdigit() and int(chosen) in CSAT_SCORES else {}
    return _form_page(200, link, settings, values=values)


def record_answer(
    request: HttpRequest, *, settings: Settings, store: TicketStore, now: datetime
) -> dict[str, Any]:
    """POST: record the answer, once; a second answer is told the first was recorded. The survey
    is not read first: the answer's own transaction finds out whether it is open."""
    link = _open_link(request, settings, now)
    if isinstance(link, dict):
        return link
    body = request.body or b""
    if len(body) > MAX_BODY_BYTES:
        return _form_page(
            413,
            link,
            settings,
            values={},
            errors=[FieldError.of("form", translatable("Your answer is too long."))],
        )
    try:
        fields = decode_body(request.header("content-type"), body, max_fields=8)
    except BadSubmissionError as bad:
        return _form_page(bad.status, link, settings, values={}, errors=bad.errors)
    if not settings.surveys.nps:
        fields.pop("nps", None)  # not asked: whatever came is ignored, not validated
    errors = _check(fields, settings)
    if errors:
        return _form_page(400, link, settings, values=fields, errors=errors)
    form = AnswerForm.model_validate(fields)
    answer = SurveyAnswer(csat=form.csat, nps=form.nps if settings.surveys.nps else None, answered_at=now)
    comment = normalise_multiline(form.comment)[: settings.surveys.comment_max_chars] or None
    try:
        follow_up = _save(link, answer, comment, settings=settings, store=store)
    except SurveyAnsweredError:
        return _notice(409, _language(link, settings), settings, "already")
    except SurveyNotOpenError:
        return _notice(404, _language(link, settings), settings, "not_found")
    logger.info(
        "survey answered",
        extra={"reference": link.reference, "csat": answer.csat, "nps": answer.nps, "follow_up": follow_up},
    )
    metrics.add_metric(name="SurveyAnswered", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="CSAT", unit=MetricUnit.NoUnit, value=answer.csat)
    if answer.nps is not None:
        metrics.add_metric(name="NPSScore", unit=MetricUnit.NoUnit, value=answer.nps)
    return _notice(200, _language(link, settings), settings, "thanks")


def _check(fields: dict[str, Any], settings: Settings) -> list[FieldError]:
    """Field errors in the customer's words (the page shows them translated)."""
    errors: list[FieldError] = []
    try:
        AnswerForm.model_validate(fields)
    except ValidationError as invalid:
        failed = {str(error["loc"][0]) for error in invalid.errors() if error["loc"]}
        if "csat" in failed:
            errors.append(FieldError.of("csat", translatable("Choose how satisfied you are, from 1 to 5")))
        if "nps" in failed and settings.surveys.nps:
            errors.append(FieldError.of("nps", translatable("Choose a number from 0 to 10, or leave it out")))
    comment = fields.get("comment", "")
    if not isinstance(comment, str):
        errors.append(FieldError.of("comment", translatable("must be text")))
    elif len(comment.strip()) > settings.surveys.comment_max_chars:
        errors.append(
            FieldError.of(
                "comment",
                translatable("Use %(limit)s characters or fewer"),
                limit=settings.surveys.comment_max_chars,
            )
        )
    elif problem := multiline_problem(normalise_multiline(comment)):
        errors.append(FieldError.of("comment", problem))
    return errors


def _save(
    link: SurveyLink, answer: SurveyAnswer, comment: str | None, *, settings: Settings, store: TicketStore
) -> str | None:
    """Store the answer with the low-score follow-up; which follow-up was applied."""
    rule = settings.surveys.low_score
    if answer.csat > rule.csat_at_most or rule.action == "none":
        store.answer_survey(link.reference, link.resolved_at, answer, comment)
        return None
    ticket = store.get_ticket(link.reference)
    tag = rule.tag if ticket is None or rule.tag not in ticket.tags else None
    if rule.action == "reopen" and ticket is not None and ticket.status is TicketStatus.RESOLVED:
        try:
            store.answer_survey(link.reference, link.resolved_at, answer, comment, add_tag=tag, reopen=True)
            return "reopened"
        except TicketChangedError:
            pass  # reopened or closed meanwhile: the tag still tells agents
    store.answer_survey(link.reference, link.resolved_at, answer, comment, add_tag=tag)
    return "tagged"
