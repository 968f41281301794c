"""Reply extraction: only the newly written text of an inbound email becomes the ticket comment."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from frontdesk.mail import reply
from frontdesk.mail.reply import extract_reply

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "corpus" / "reply_parsing"


def load_bench() -> ModuleType:
    # bench/ is not a package: load the script by path, registered first so its dataclasses resolve.
    spec = importlib.util.spec_from_file_location("reply_accuracy", REPO / "bench" / "reply_accuracy.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


# -- quote headers ---------------------------------------------------------------------------------


def test_top_posted_reply_drops_the_on_wrote_header_and_the_quote():
    text = (
        "Yes, the invoice address changed in March.\n"
        "\n"
        "On Mon, Mar 3, 2025 at 10:15 AM, Frontdesk Support <support@example.com> wrote:\n"
        "> Could you confirm your invoice address?\n"
        ">\n"
        "> Kind regards\n"
    )

    assert extract_reply(text) == "Yes, the invoice address changed in March."


def test_outlook_header_block_under_a_rule_is_history():
    text = (
        "Please close the ticket, it works now.\n"
        "\n"
        "________________________________\n"
        "From: Frontdesk Support <support@example.com>\n"
        "Sent: Monday, March 3, 2025 10:15 AM\n"
        "To: Ana Souza <ana@example.org>\n"
        "Subject: RE: Printer offline\n"
        "\n"
        "Did restarting the printer help?\n"
    )

    assert extract_reply(text) == "Please close the ticket, it works now."


@pytest.mark.parametrize(
    ("header", "reply_text"),
    [
        pytest.param(
            "Am 03.03.2025 um 10:15 schrieb Frontdesk Support <support@example.com>:",
            "Danke, das Problem ist gelöst.",
            id="de",
        ),
        pytest.param(
            "Le lun. 3 mars 2025 à 10:15, Frontdesk Support <support@example.com> a écrit :",
            "Merci, le problème est résolu.",
            id="fr",
        ),
        pytest.param(
            "пн, 3 мар. 2025 г. в 10:15, Frontdesk Support <support@example.com>:",
            "Спасибо, проблема решена.",
            id="ru",
        ),
    ],
)
def test_localised_quote_headers_start_the_history(header: str, reply_text: str):
    text = f"{reply_text}\n\n{header}\n\n> Hello,\n> did the update help?\n"

    assert extract_reply(text) == reply_text


def test_quote_header_with_a_full_width_colon():
    text = "好的，谢谢。\n\n在 2025年3月3日 10:15，Support <support@example.com> 写道：\n\n> 问题解决了吗？\n"

    assert extract_reply(text) == "好的，谢谢。"


def test_quote_header_wrapped_over_two_lines():
    text = (
        "Obrigado!\n"
        "\n"
        "Em 3 de março de 2025 às 10:15, Frontdesk Support (\n"
        "support@example.com) escreveu:\n"
        "\n"
        "> Did the update help?\n"
    )

    assert extract_reply(text) == "Obrigado!"


def test_answers_written_between_quoted_lines_are_kept_with_what_they_answer():
    text = (
        "On Mon, Mar 3, 2025 at 10:15 AM, Frontdesk Support <support@example.com> wrote:\n"
        "> What is your order number?\n"
        "\n"
        "It is 4711.\n"
        "\n"
        "> Which colour did you order?\n"
        "\n"
        "Blue.\n"
    )

    assert extract_reply(text) == text.strip()


def test_a_quoted_line_wrapped_without_its_marker_is_still_history():
    text = (
        "Done, thanks.\n"
        "\n"
        "On Mon, Mar 3, 2025 at 10:15 AM, Frontdesk Support <support@example.com> wrote:\n"
        "> Could you restart the router and tell us whether the light turns\n"
        "green?\n"
        "> Kind regards\n"
    )

    assert extract_reply(text) == "Done, thanks."


def test_forwarded_message_is_kept():
    text = (
        "Please look at the message below.\n"
        "\n"
        "---------- Forwarded message ---------\n"
        "From: Billing <billing@example.net>\n"
        "Date: Mon, Mar 3, 2025 at 10:15 AM\n"
        "Subject: Your invoice\n"
        "\n"
        "Your invoice is overdue.\n"
    )

    assert extract_reply(text) == text.strip()


# -- signatures ------------------------------------------------------------------------------------


def test_dash_dash_signature_is_dropped():
    text = "The export still fails.\n\n-- \nAna Souza\nACME Ltd, Lisbon\n"

    assert extract_reply(text) == "The export still fails."


def test_sent_from_my_phone_line_is_dropped():
    assert extract_reply("The export still fails.\n\nSent from my iPhone\n") == "The export still fails."


def test_a_thank_you_mid_message_does_not_cut_what_follows():
    text = "Thanks, that fixed the login.\nBut now the export fails with error 42.\n"

    assert extract_reply(text) == text.strip()


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            "Hej,\n\nTak for hjælpen. Printeren virker nu.\nMen scanneren gør ikke.", id="da thanks"
        ),
        pytest.param("Hello,\nTake a look at the log.\nIt fails at midnight.", id="Tak as a prefix"),
        pytest.param("Hello,\nthe error is in\n/var/log/app.log\nsince Monday.", id="path, not /Name"),
    ],
)
def test_sign_off_words_inside_the_text_do_not_cut_it(text: str):
    assert extract_reply(text) == text


def test_a_dash_list_is_not_a_signature():
    text = "Two things fail:\n\n- the export\n- the login\n\nCan you help?"

    assert extract_reply(text) == text


# -- whole text, empty text ------------------------------------------------------------------------


def test_text_without_quote_or_signature_is_returned_whole_with_its_indentation():
    text = "Here is the config:\n\n    retries: 3\n    timeout: 10\n\nWhat is wrong with it?"

    assert extract_reply(text) == text


def test_crlf_line_endings_are_read_like_lf():
    text = "Works now.\r\n\r\nOn Mon, Mar 3, 2025 at 10:15 AM, Support <s@example.com> wrote:\r\n> Hi\r\n"

    assert extract_reply(text) == "Works now."


@pytest.mark.parametrize("text", ["", " ", "\n\n", " \r\n\t "])
def test_empty_or_blank_text_gives_an_empty_reply(text: str):
    assert extract_reply(text) == ""


def test_a_message_that_is_only_a_quote_is_returned_whole():
    assert extract_reply("> just the old message\n> nothing new\n") == "> just the old message\n> nothing new"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("\x00\x01 binary \ufffd junk", id="control characters"),
        pytest.param("\ud800 lone surrogate", id="surrogate"),
        pytest.param(">:\n>>:\n:\n", id="bracket colons"),
        pytest.param("On " + "x " * 20_000 + "wrote:", id="long header-like line"),
        pytest.param("-" * 50_000 + "x", id="long rule"),
        pytest.param("From: a@b.c\n" * 5_000, id="many header fields"),
    ],
)
def test_odd_input_never_raises_and_never_comes_back_empty(text: str):
    assert extract_reply(text)


def test_a_library_failure_falls_back_to_the_whole_text(monkeypatch: pytest.MonkeyPatch):
    def broken(languages: tuple[str, ...]) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(reply, "_parser", broken)

    assert extract_reply("  Hello\n> quoted\n") == "Hello\n> quoted"


def test_pathological_message_returns():
    # A regex-backtracking trap for some parsers: it must come back, with the right text (no clock here).
    text = (CORPUS / "github-email_reply_parser" / "pathological.txt").read_text(encoding="utf-8")

    result = extract_reply(text)

    assert result.startswith("I think you're onto something.")
    assert result.endswith("as soon as I\nget back to a computer.")


def test_languages_can_be_narrowed():
    text = "Danke!\n\nAm 03.03.2025 um 10:15 schrieb Support <support@example.com>:\n> Hallo\n"

    assert extract_reply(text, ["de"]) == "Danke!"
    assert extract_reply(text, "de") == "Danke!"


# -- the corpus ------------------------------------------------------------------------------------


def test_corpus_accuracy_does_not_regress():
    # Measured 125/136 (91.9%); the margin lets two cases change, e.g. with a library upgrade.
    report = load_bench().evaluate(CORPUS)

    assert report.overall.total == 136
    assert report.accuracy >= 0.90, [failure.case for failure in report.failures]
