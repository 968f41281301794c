"""Metrics by dimension: one EMF document per count, carrying its own dimension."""

import json

import pytest

from frontdesk.observability import count_by


def test_a_count_by_channel_is_its_own_emf_document(capsys: pytest.CaptureFixture[str]):
    count_by("TicketsByChannel", channel="email")

    (line,) = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    document = json.loads(line)
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "Frontdesk"
    assert [sorted(dimensions) for dimensions in directive["Dimensions"]] == [["channel", "service"]]
    assert directive["Metrics"] == [{"Name": "TicketsByChannel", "Unit": "Count"}]
    assert document["channel"] == "email" and document["TicketsByChannel"] in (1, [1.0], 1.0)
