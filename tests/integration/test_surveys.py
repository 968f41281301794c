"""Post-resolution surveys against moto: scheduled from the stream when a ticket is resolved,
cancelled when it is reopened first, sent at most once when the schedule fires, answered once on
the page; plus the integration events a team builds on."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from frontdesk import clock, runtime
from frontdesk.tickets.model import SurveyState, TicketStatus
from frontdesk_tools.local.scheduler import SchedulePump, due_at
from frontdesk_tools.local.streams import StreamPump
from frontdesk_tools.local.template import FunctionSpec, async_invoke_configs
from functions.agent_api import app as agent_api
from functions.survey_sender import app as survey_sender
from functions.surveys import app as surveys
from functions.web_form import app as web_form
from tests.integration.conftest import Aws, api_event, settle

SURVEY_URL = re.compile(r"https?://\S+/surveys/(?P<token>[A-Za-z0-9._-]+)")


@dataclass
class SenderFunction:
    """The survey sender in-process, as the local scheduler pump invokes functions."""

    handler: Any
    context: Any
    spec: FunctionSpec

    def invoke(self, event: dict[str, Any]) -> Any:
        return self.handler(event, self.context)


@pytest.fixture
def scheduler(aws: Aws, function_env: None, lambda_context: Any) -> Iterator[SchedulePump]:
    """EventBridge Scheduler as the local stack plays it, firing into the sender in-process;
    schedules left by other tests are cleared first."""
    client = aws.client("scheduler")
    for group in client.list_schedule_groups()["ScheduleGroups"]:
        for schedule in client.list_schedules(GroupName=group["Name"])["Schedules"]:
            client.delete_schedule(GroupName=group["Name"], Name=schedule["Name"])
    yield survey_schedule_pump(aws, lambda_context)


def survey_schedule_pump(aws: Aws, lambda_context: Any) -> SchedulePump:
    """EventBridge Scheduler as the local stack plays it, firing into the sender in-process."""
    spec = aws.template.functions["SurveySenderFunction"]
    sender = SenderFunction(survey_sender.lambda_handler, lambda_context, spec)
    return SchedulePump(
        aws.client("scheduler"),
        {aws.stack.physical_ids["SurveySenderFunction"]: sender},  # type: ignore[dict-item]
        async_invoke_configs(aws.template.cloudformation["Resources"]),
        aws.client("sqs"),
        aws.stack.physical_ids,
    )


@pytest.fixture
def integration_events(aws: Aws) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """What a rule on the stack's bus receives, read after the test has acted."""
    sqs, events = aws.client("sqs"), aws.client("events")
    queue_url = sqs.create_queue(QueueName=f"integration-events-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = aws.stack.environments["TicketEventsFunction"]["EVENT_BUS_NAME"]
    events.put_rule(Name="test-tap", EventBusName=bus, EventPattern=json.dumps({"source": ["frontdesk"]}))
    events.put_targets(Rule="test-tap", EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
    received: list[dict[str, Any]] = []

    def drain() -> list[dict[str, Any]]:
        while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
            for message in batch:
                received.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return received

    yield drain
    events.remove_targets(Rule="test-tap", EventBusName=bus, Ids=["queue"])
    events.delete_rule(Name="test-tap", EventBusName=bus)
    sqs.delete_queue(QueueUrl=queue_url)


def create_ticket(context: Any, tag: str, language: str = "en") -> str:
    body = json.dumps(
        {"name": "Ana", "email": f"{tag}@example.org", "message": f"Help with {tag}.", "locale": language}
    )
    event = api_event(
        "POST", "POST /forms/{form_id}", "/forms/contact", body.encode(), {"Content-Type": "application/json"}
    )
    return str(json.loads(web_form.lambda_handler(event, context)["body"])["reference"])


def agent(context: Any, method: str, route: str, path: str, body: Any) -> tuple[int, Any]:
    event = api_event(
        method, f"{method} {route}", path, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    response = agent_api.lambda_handler(event, context)
    return response["statusCode"], json.loads(response["body"])


def answered_and_resolved(context: Any, stream: StreamPump, tag: str, language: str = "en") -> str:
    """A ticket an agent answered, then resolved; the stream has handled both."""
    reference = create_ticket(context, tag, language)
    assert (
        agent(
            context,
            "POST",
            "/tickets/{reference}/replies",
            f"/tickets/{reference}/replies",
            {"text": "Done, see above."},
        )[0]
        == 201
    )
    assert (
        agent(context, "PATCH", "/tickets/{reference}", f"/tickets/{reference}", {"status": "resolved"})[0]
        == 200
    )
    settle(stream)
    return reference


def set_status(context: Any, reference: str, status: str) -> None:
    assert (
        agent(context, "PATCH", "/tickets/{reference}", f"/tickets/{reference}", {"status": status})[0] == 200
    )


def survey_mail(aws: Aws, reference: str) -> list[dict[str, Any]]:
    """The survey emails of a ticket in the outbox (as the local stack lists them)."""
    return [
        email
        for email in aws.sent()
        if email["subject"].endswith(f"[{reference}]") and SURVEY_URL.search(email["text"])
    ]


def page(
    context: Any,
    method: str,
    token: str,
    form: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    body = urlencode(form or {}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html", **(headers or {})}
    event = api_event(method, f"{method} /surveys/{{token}}", f"/surveys/{token}", body, headers, query)
    return surveys.lambda_handler(event, context)  # type: ignore[no-any-return]


def fire_after(scheduler: SchedulePump, delay: timedelta) -> int:
    return scheduler.fire_due(clock.now() + delay)


def test_resolving_schedules_one_survey_that_goes_out_after_the_delay(
    aws: Aws, stream: StreamPump, scheduler: SchedulePump, lambda_context: Any
) -> None:
    reference = answered_and_resolved(lambda_context, stream, "survey-flow")
    ticket = runtime.ticket_store().get_ticket(reference)
    assert ticket is not None and ticket.resolved_at is not None

    (schedule,) = [item for item in scheduler.schedules() if reference in item["name"]]
    # at() is the resolution plus the configured delay (1 minute locally), to the next second.
    fires_at = due_at(schedule["expression"])
    assert fires_at is not None
    assert timedelta(0) <= fires_at - (ticket.resolved_at + timedelta(minutes=1)) < timedelta(seconds=1)
    assert schedule["input"] == {"reference": reference, "resolved_at": ticket.resolved_at.isoformat()}
    assert fire_after(scheduler, timedelta(seconds=0)) == 0 and not survey_mail(aws, reference)

    assert fire_after(scheduler, timedelta(minutes=2)) == 1
    (mail,) = survey_mail(aws, reference)
    assert mail["headers"]["Auto-Submitted"] == "auto-generated"
    assert mail["headers"]["In-Reply-To"]  # threaded under the ticket's mail
    assert SURVEY_URL.search(mail["text"])
    assert "/surveys/" in mail["html"] and "?csat=5" in mail["html"]
    survey = runtime.ticket_store().get_survey(reference, ticket.resolved_at)
    assert survey is not None and survey.state is SurveyState.SENT and survey.email_message_id
    # Deleted after firing (ActionAfterCompletion=DELETE): nothing fires twice.
    assert fire_after(scheduler, timedelta(minutes=3)) == 0
    assert len(survey_mail(aws, reference)) == 1


def test_the_same_schedule_firing_twice_sends_once(
    aws: Aws, stream: StreamPump, scheduler: SchedulePump, lambda_context: Any
) -> None:
    reference = answered_and_resolved(lambda_context, stream, "survey-twice")
    (schedule,) = [item for item in scheduler.schedules() if reference in item["name"]]

    outcomes = [survey_sender.lambda_handler(schedule["input"], lambda_context)["outcome"] for _ in range(3)]

    assert outcomes == ["sent", "already", "already"]
    assert len(survey_mail(aws, reference)) == 1


def test_reopening_before_the_delay_cancels_the_survey(
    aws: Aws, stream: StreamPump, scheduler: SchedulePump, lambda_context: Any
) -> None:
    reference = answered_and_resolved(lambda_context, stream, "survey-reopen")
    resolved_at = runtime.ticket_store().get_ticket(reference).resolved_at  # type: ignore[union-attr]
    assert [item for item in scheduler.schedules() if reference in item["name"]]

    set_status(lambda_context, reference, "open")
    settle(stream)

    assert not [item for item in scheduler.schedules() if reference in item["name"]]
    survey = runtime.ticket_store().get_survey(reference, resolved_at)  # type: ignore[arg-type]
    assert survey is not None and survey.state is SurveyState.CANCELLED
    fire_after(scheduler, timedelta(minutes=5))
    assert not survey_mail(aws, reference)


def test_a_schedule_that_outlived_the_reopening_sends_nothing(
    aws: Aws, stream: StreamPump, scheduler: SchedulePump, lambda_context: Any
) -> None:
    reference = answered_and_resolved(lambda_context, stream, "survey-stale")
    (schedule,) = [item for item in scheduler.schedules() if reference in item["name"]]
    set_status(lambda_context, reference, "open")
    settle(stream)
    set_status(lambda_context, reference, "resolved")  # a new resolution: a new survey
    settle(stream)

    # The first resolution's schedule, had its delete failed, finds the ticket moved on.
    assert survey_sender.lambda_handler(schedule["input"], lambda_context)["outcome"] == "already"
    (second,) = [item for item in scheduler.schedules() if reference in item["name"]]
    assert second["name"] != schedule["name"]
    fire_after(scheduler, timedelta(minutes=2))
    assert len(survey_mail(aws, reference)) == 1


def test_closing_a_resolved_ticket_keeps_its_survey(
    aws: Aws, stream: StreamPump, scheduler: SchedulePump, lambda_context: Any
) -> None:
    reference = answered_and_resolved(lambda_context, stream, "survey-closed")
    set_status(lambda_context, reference, "closed")
    settle(stream)

    fire_after(scheduler, timedelta(minutes=2))

    assert len(survey_mail(aws, reference)) == 1


def test_no_survey_without_a_human_reply_or_for_spam(
    aws: Aws, stream: StreamPump, scheduler: SchedulePump, lambda_context: Any
) -> None:
    unanswered = create_ticket(lambda_context, "survey-unanswered")
    set_status(lambda_context, unanswered, "resolved")
    spam = create_ticket(lambda_context, "survey-spam")
    agent(lambda_context, "POST", "/tickets/{reference}/replies", f"/tickets/{spam}/replies", {"text": "Hm."})
    agent(
        lambda_context,
        "PATCH",
        "/tickets/{reference}",
        f"/tickets/{spam}",
        {"status": "resolved", "tags": ["spam"]},
    )
    settle(stream)

    store = runtime.ticket_store()
    for reference, reason in ((unanswered, "no_human_reply"), (spam, "tagged_spam")):
        ticket = store.get_ticket(reference)
        survey = store.get_survey(reference, ticket.resolved_at)  # type: ignore[union-attr,arg-type]
        assert survey is not None and (survey.state, survey.reason) == (SurveyState.SKIPPED, reason)
        assert not [item for item in scheduler.schedules() if reference in item["name"]]
    fire_after(scheduler, timedelta(minutes=5))
    assert not survey_mail(aws, unanswered) and not survey_mail(aws, spam)


def sent_survey_token(
    aws: Aws, stream: StreamPump, scheduler: SchedulePump, context: Any, tag: str, language: str = "en"
) -> tuple[str, str]:
    reference = answered_and_resolved(context, stream, tag, language)
    fire_after(scheduler, timedelta(minutes=2))
    (mail,) = survey_mail(aws, reference)
    match = SURVEY_URL.search(mail["text"])
    assert match is not None
    return reference, match["token"]


def test_the_page_records_one_answer_and_a_get_records_nothing(
    aws: Aws, stream: StreamPump, scheduler: SchedulePump, lambda_context: Any, integration_events: Any
) -> None:
    reference, token = sent_survey_token(aws, stream, scheduler, lambda_context, "survey-answer")
    store = runtime.ticket_store()

    for _ in range(3):  # a mail scanner opening the link, then the customer
        shown = page(lambda_context, "GET", token, query={"csat": "4"})
        assert shown["statusCode"] == 200
        assert 'value="4" required checked' in shown["body"]
    assert store.get_ticket(reference).survey is None  # type: ignore[union-attr]

    thanks = page(
        lambda_context, "POST", token, {"csat": "5", "nps": "9", "comment": "Quick <b>and</b> kind."}
    )
    assert thanks["statusCode"] == 200 and 'data-kind="thanks"' in thanks["body"]
    again = page(lambda_context, "POST", token, {"csat": "1"})
    assert again["statusCode"] == 409 and 'data-kind="already"' in again["body"]
    assert 'data-kind="already"' in page(lambda_context, "GET", token)["body"]

    ticket = store.get_ticket(reference)
    assert ticket is not None and ticket.survey is not None
    assert (ticket.survey.csat, ticket.survey.nps) == (5, 9)
    assert ticket.status is TicketStatus.RESOLVED and "low-csat" not in ticket.tags
    settle(stream)
    kinds = [
        (event["detail-type"], event["detail"].get("reference") or event["detail"]["ticket"]["reference"])
        for event in integration_events()
    ]
    assert ("survey.answered", reference) in kinds
    (answered,) = [
        event["detail"]
        for event in integration_events()
        if event["detail-type"] == "survey.answered" and event["detail"]["reference"] == reference
    ]
    assert (answered["csat"], answered["nps"], answered["comment"]) == (5, 9, "Quick <b>and</b> kind.")


def test_an_answer_to_a_survey_never_sent_is_a_404_and_writes_nothing(
    aws: Aws, function_env: None, lambda_context: Any
) -> None:
    from frontdesk.config import get_settings
    from frontdesk.surveys.tokens import SurveyLink, sign_link

    # A link signed with the desk's key for a resolution with no survey (a skipped one is the same
    # to the page): the answer's transaction is refused, and the refusal says it is not open.
    reference = create_ticket(lambda_context, "survey-never-sent")
    key = get_settings().surveys.signing_keys[0].get_secret_value().encode()
    link = SurveyLink(reference, clock.now() - timedelta(days=1), clock.now() + timedelta(days=7), "en")
    before = aws.items()

    refused = page(lambda_context, "POST", sign_link(link, key), {"csat": "5"})

    assert refused["statusCode"] == 404 and 'data-kind="not_found"' in refused["body"]
    assert aws.items() == before


def test_a_low_score_tags_the_ticket_for_follow_up(
    aws: Aws, stream: StreamPump, scheduler: SchedulePump, lambda_context: Any
) -> None:
    reference, token = sent_survey_token(aws, stream, scheduler, lambda_context, "survey-low")

    assert page(lambda_context, "POST", token, {"csat": "2"})["statusCode"] == 200

    ticket = runtime.ticket_store().get_ticket(reference)
    assert ticket is not None and "low-csat" in ticket.tags and ticket.survey.csat == 2  # type: ignore[union-attr]


def test_bad_answers_are_400_with_the_field_on_the_page(
    aws: Aws, stream: StreamPump, scheduler: SchedulePump, lambda_context: Any
) -> None:
    reference, token = sent_survey_token(aws, stream, scheduler, lambda_context, "survey-bad", "ru")

    for form in (
        {},
        {"csat": "6"},
        {"csat": "x"},
        {"csat": "3", "nps": "11"},
        {"csat": "3", "comment": "x" * 2001},
        {"csat": "3", "comment": "a\x00b"},
    ):
        response = page(lambda_context, "POST", token, form)
        assert response["statusCode"] == 400, form
        assert 'class="error-summary"' in response["body"]
        assert 'lang="ru"' in response["body"]
    assert runtime.ticket_store().get_ticket(reference).survey is None  # type: ignore[union-attr]


def test_forged_and_expired_links_are_refused_without_reading_the_table(
    aws: Aws,
    stream: StreamPump,
    scheduler: SchedulePump,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reference, token = sent_survey_token(aws, stream, scheduler, lambda_context, "survey-forged", "fa")
    calls: list[str] = []
    client = runtime.ticket_store()._client  # counting the store's own calls
    client.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))

    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert page(lambda_context, "GET", tampered)["statusCode"] == 404
    assert page(lambda_context, "POST", tampered, {"csat": "5"})["statusCode"] == 404
    assert page(lambda_context, "GET", reference)["statusCode"] == 404
    assert calls == []

    start = clock.now() + timedelta(days=15)
    monkeypatch.setenv("FRONTDESK_CLOCK_START", start.isoformat())
    monkeypatch.setenv("FRONTDESK_CLOCK_ORIGIN", repr(datetime.now().timestamp()))
    clock.reset()
    expired = page(lambda_context, "GET", token)
    assert expired["statusCode"] == 410
    assert 'dir="rtl"' in expired["body"] and 'data-kind="expired"' in expired["body"]
    assert calls == []


def test_ticket_events_reach_a_rule_on_the_bus(
    aws: Aws, stream: StreamPump, scheduler: SchedulePump, lambda_context: Any, integration_events: Any
) -> None:
    reference = answered_and_resolved(lambda_context, stream, "survey-events")

    received = {
        (event["detail-type"]): event
        for event in integration_events()
        if json.dumps(event).find(reference) >= 0
    }
    created, resolved = received["ticket.created"], received["ticket.resolved"]
    assert created["source"] == "frontdesk"
    assert created["detail"]["ticket"]["reference"] == reference
    assert created["detail"]["ticket"]["requester"]["email"] == "survey-events@example.org"
    assert resolved["detail"]["ticket"]["status"] == "resolved"
    assert resolved["detail"]["resolution_seconds"] >= 0


def test_without_the_nps_question_a_posted_nps_is_ignored(
    aws: Aws, stream: StreamPump, scheduler: SchedulePump, lambda_context: Any
) -> None:
    from frontdesk.config import get_settings
    from frontdesk.http import HttpRequest
    from frontdesk.surveys.page import record_answer

    reference, token = sent_survey_token(aws, stream, scheduler, lambda_context, "survey-no-nps")
    settings = get_settings()
    without_nps = settings.with_sections(surveys=settings.surveys.model_copy(update={"nps": False}))
    event = api_event(
        "POST",
        "POST /surveys/{token}",
        f"/surveys/{token}",
        b"csat=4&nps=not-a-number",
        {"Content-Type": "application/x-www-form-urlencoded"},
    )

    response = record_answer(
        HttpRequest.from_event(event), settings=without_nps, store=runtime.ticket_store(), now=clock.now()
    )

    assert response["statusCode"] == 200
    ticket = runtime.ticket_store().get_ticket(reference)
    assert ticket is not None and ticket.survey is not None and ticket.survey.nps is None


def test_a_low_score_can_reopen_the_ticket_instead(
    aws: Aws, stream: StreamPump, scheduler: SchedulePump, lambda_context: Any
) -> None:
    from frontdesk.config import get_settings
    from frontdesk.http import HttpRequest
    from frontdesk.surveys.page import record_answer
    from frontdesk.surveys.settings import LowScoreFollowUp

    reference, token = sent_survey_token(aws, stream, scheduler, lambda_context, "survey-reopen-low")
    settings = get_settings()
    reopening = settings.with_sections(
        surveys=settings.surveys.model_copy(update={"low_score": LowScoreFollowUp(action="reopen")})
    )
    event = api_event(
        "POST",
        "POST /surveys/{token}",
        f"/surveys/{token}",
        b"csat=1&comment=Still+broken",
        {"Content-Type": "application/x-www-form-urlencoded"},
    )

    response = record_answer(
        HttpRequest.from_event(event), settings=reopening, store=runtime.ticket_store(), now=clock.now()
    )

    assert response["statusCode"] == 200
    ticket = runtime.ticket_store().get_ticket(reference)
    assert ticket is not None and ticket.status is TicketStatus.OPEN and ticket.resolved_at is None
    assert "low-csat" in ticket.tags
    settle(stream)  # the reopening's record cancels nothing: the survey was answered


def test_a_chat_ticket_is_surveyed_in_its_conversation(
    aws: Aws, stream: StreamPump, scheduler: SchedulePump, lambda_context: Any
) -> None:
    from tests.integration.test_chat_webhook import telegram, telegram_update

    telegram(lambda_context, telegram_update(5550991, 1, "Мой заказ не пришёл, помогите пожалуйста."))
    settle(stream)
    reference = runtime.ticket_store().find_conversation("telegram:5550991") or ""
    path = f"/tickets/{reference}"
    assert (
        agent(
            lambda_context, "POST", "/tickets/{reference}/replies", f"{path}/replies", {"text": "Отправили."}
        )[0]
        == 201
    )
    assert agent(lambda_context, "PATCH", "/tickets/{reference}", path, {"status": "resolved"})[0] == 200
    settle(stream)

    fire_after(scheduler, timedelta(minutes=2))

    texts = [
        call["json"]["text"]
        for call in aws.chat_apis.calls()
        if call["provider"] == "telegram" and call["json"].get("chat_id") == 5550991
    ]
    assert texts[0] == "Отправили."
    (survey,) = texts[1:]
    assert reference in survey and "/surveys/" in survey
    assert "Насколько вы довольны" in survey  # the conversation's language


# -- cross-site posts ---------------------------------------------------------------------------------

# What a browser sends with a post another site's page makes (a forged form, a hidden frame).
CROSS_SITE_POSTS = [
    pytest.param({"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, id="cross-site"),
    pytest.param({"Sec-Fetch-Site": "same-site", "Origin": "https://other.example.com"}, id="same-site"),
    pytest.param({"Sec-Fetch-Site": "cross-site", "Origin": "null"}, id="cross-site-sandboxed-frame"),
    pytest.param({"Origin": "https://evil.example"}, id="foreign-origin-without-fetch-metadata"),
    pytest.param({"Origin": "null"}, id="opaque-origin-without-fetch-metadata"),
    pytest.param({"Origin": "http://localhost.evil.example"}, id="lookalike-origin"),
]


@pytest.mark.parametrize("headers", CROSS_SITE_POSTS)
def test_a_cross_site_post_is_refused_in_the_customers_language_and_records_nothing(
    aws: Aws, stream: StreamPump, scheduler: SchedulePump, lambda_context: Any, headers: dict[str, str]
) -> None:
    reference, token = sent_survey_token(
        aws, stream, scheduler, lambda_context, f"survey-csrf-{uuid.uuid4().hex[:8]}", "ru"
    )
    calls: list[str] = []
    client = runtime.ticket_store()._client  # counting the store's own calls
    client.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))

    refused = page(lambda_context, "POST", token, {"csat": "1", "comment": "forged"}, headers=headers)

    assert refused["statusCode"] == 403
    assert 'data-kind="cross_site"' in refused["body"]
    assert "Ответ не записан" in refused["body"] and 'lang="ru"' in refused["body"]
    assert refused["headers"]["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in refused["headers"]["Content-Security-Policy"]
    assert calls == []  # refused before the table is read
    ticket = runtime.ticket_store().get_ticket(reference)
    assert ticket is not None and ticket.survey is None
    # The customer can still answer on the page itself.
    assert page(lambda_context, "GET", token)["statusCode"] == 200


@pytest.mark.parametrize(
    "headers",
    [
        # Chromium's own post from the page: Origin "null" (pages send Referrer-Policy: no-referrer)
        pytest.param({"Sec-Fetch-Site": "same-origin", "Origin": "null"}, id="browser-same-origin"),
        pytest.param({"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"}, id="same-origin"),
        pytest.param({"Origin": "http://localhost"}, id="own-origin-without-fetch-metadata"),
        pytest.param({"Origin": "http://localhost:80"}, id="own-origin-with-default-port"),
        pytest.param({"Sec-Fetch-Site": "none"}, id="user-initiated"),
        pytest.param({}, id="no-origin-nor-fetch-metadata"),  # curl, a very old browser
    ],
)
def test_a_post_from_the_page_itself_or_without_browser_headers_is_recorded(
    aws: Aws, stream: StreamPump, scheduler: SchedulePump, lambda_context: Any, headers: dict[str, str]
) -> None:
    reference, token = sent_survey_token(
        aws, stream, scheduler, lambda_context, f"survey-same-origin-{uuid.uuid4().hex[:8]}"
    )

    answered = page(lambda_context, "POST", token, {"csat": "5"}, headers=headers)

    assert answered["statusCode"] == 200 and 'data-kind="thanks"' in answered["body"]
    ticket = runtime.ticket_store().get_ticket(reference)
    assert ticket is not None and ticket.survey is not None and ticket.survey.csat == 5


def test_the_configured_page_address_is_an_own_origin(
    aws: Aws, stream: StreamPump, scheduler: SchedulePump, lambda_context: Any
) -> None:
    """Behind a custom domain or a CDN the API may see another host than the customer's browser
    called: the origin of the survey links' base URL is the page's own too."""
    from frontdesk.config import get_settings
    from frontdesk.http import HttpRequest
    from frontdesk.surveys.page import record_answer

    reference, token = sent_survey_token(aws, stream, scheduler, lambda_context, "survey-custom-domain")
    settings = get_settings()
    behind_cdn = settings.with_sections(
        surveys=settings.surveys.model_copy(update={"page_base_url": "https://help.example.com/x"})
    )
    event = api_event(
        "POST",
        "POST /surveys/{token}",
        f"/surveys/{token}",
        b"csat=4",
        {"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://help.example.com"},
    )
    event["requestContext"]["domainName"] = "abc123.execute-api.us-east-1.amazonaws.com"

    response = record_answer(
        HttpRequest.from_event(event), settings=behind_cdn, store=runtime.ticket_store(), now=clock.now()
    )

    assert response["statusCode"] == 200
    ticket = runtime.ticket_store().get_ticket(reference)
    assert ticket is not None and ticket.survey is not None and ticket.survey.csat == 4
