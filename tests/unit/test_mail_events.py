"""SES's events as Frontdesk reads them: receipt records and bounce/complaint feedback, taken from
the corpus of real samples."""

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from frontdesk.mail.feedback import NotFeedbackError, Suppression, sns_messages, suppressions
from frontdesk.mail.receipt import MailReceipt, Verdict
from frontdesk.mail.threads import subject_reference

EVENTS = Path(__file__).resolve().parents[1] / "corpus" / "events"


def load(name: str) -> Any:
    return json.loads((EVENTS / name).read_text(encoding="utf-8-sig"))


def as_receipt_record(notification: dict[str, Any]) -> dict[str, Any]:
    """An SNS "Received" notification carries the same mail/receipt objects as a Lambda event."""
    return {
        "eventSource": "aws:ses",
        "ses": {"mail": notification["mail"], "receipt": notification["receipt"]},
    }


@pytest.mark.parametrize(
    "name", ["powertools-lambda-python/sesEvent.json", "aws-lambda-go/ses-lambda-event.json"]
)
def test_lambda_receipt_events_are_read(name: str):
    (record,) = load(name)["Records"]
    receipt = MailReceipt.from_record(record)
    assert receipt.ses_message_id == record["ses"]["mail"]["messageId"]
    assert receipt.recipients == tuple(record["ses"]["receipt"]["recipients"])
    assert receipt.envelope_sender == record["ses"]["mail"]["source"]
    assert receipt.virus is Verdict.PASS


@pytest.mark.parametrize(
    ("name", "field", "verdict"),
    [
        ("fx-private-relay/dmarc_failed_email_sns_body.json", "dmarc", Verdict.FAIL),
        ("fx-private-relay/spamVerdict_FAIL_email_sns_body.json", "spam", Verdict.FAIL),
        ("fx-private-relay/single_recipient_email_sns_body.json", "spam", Verdict.PASS),
    ],
)
def test_verdicts_are_read(name: str, field: str, verdict: Verdict):
    notification = json.loads(load(name)["Message"])
    assert getattr(MailReceipt.from_record(as_receipt_record(notification)), field) is verdict


def test_a_verdict_ses_did_not_give_is_unknown_not_pass():
    (record,) = load("powertools-lambda-python/sesEvent.json")["Records"]
    del record["ses"]["receipt"]["dkimVerdict"]
    assert MailReceipt.from_record(record).dkim is Verdict.GRAY


@pytest.mark.parametrize(
    "broken",
    [
        {},
        {"eventSource": "aws:sqs", "ses": {}},
        {"eventSource": "aws:ses", "ses": {"mail": {"messageId": "../../etc/passwd"}}},
    ],
)
def test_records_that_are_not_receipts_are_refused(broken: dict[str, Any]):
    with pytest.raises(ValidationError):
        MailReceipt.from_record(broken)


def test_an_ses_message_id_that_could_escape_its_s3_prefix_is_refused():
    (record,) = load("powertools-lambda-python/sesEvent.json")["Records"]
    record["ses"]["mail"]["messageId"] = "../tickets/FD-0000-0000/x"
    with pytest.raises(ValidationError):
        MailReceipt.from_record(record)


def test_a_permanent_bounce_suppresses_its_recipients():
    message = load("fx-private-relay/hard_bounce_sns_body.json")["Message"]
    assert suppressions(message) == [Suppression("relayuser@test.com", "bounce")]


def test_a_transient_bounce_suppresses_nothing():
    notification = json.loads(load("fx-private-relay/hard_bounce_sns_body.json")["Message"])
    notification["bounce"]["bounceType"] = "Transient"
    assert suppressions(json.dumps(notification)) == []


def test_a_complaint_from_a_configuration_set_event_suppresses_its_recipients():
    event = {
        "eventType": "Complaint",
        "complaint": {"complainedRecipients": [{"emailAddress": "a@example.org"}]},
    }
    assert suppressions(json.dumps(event)) == [Suppression("a@example.org", "complaint")]


def test_received_notifications_suppress_nothing():
    assert suppressions(load("fx-private-relay/s3_stored_email_sns_body.json")["Message"]) == []


@pytest.mark.parametrize("message", ["not json", "[]", json.dumps({"notificationType": "Surprise"})])
def test_other_messages_are_not_feedback(message: str):
    with pytest.raises(NotFeedbackError):
        suppressions(message)


def test_sns_messages_skips_malformed_records():
    event = load("powertools-lambda-python/snsEvent.json")
    event["Records"].append({"Sns": "broken"})
    assert sns_messages(event) == [event["Records"][0]["Sns"]["Message"]]
    assert sns_messages({"unexpected": 1}) == []


@pytest.mark.parametrize(
    ("subject", "reference"),
    [
        ("Re: [FD-7K3M-Q9TX] We have your request", "FD-7K3M-Q9TX"),
        ("re: about fd-7k3m-q9tx again", "FD-7K3M-Q9TX"),
        ("Printer on fire", None),
        ("FD-7K3M", None),
        ("XFD-7K3M-Q9TX", None),
        ("FD-7K3M-Q9TXX", None),
        ("(FD-7K3M-Q9TX)", "FD-7K3M-Q9TX"),
    ],
)
def test_subject_references(subject: str, reference: str | None):
    assert subject_reference(subject, "FD") == reference
