"""Languages: tags from clients, detection from text, the choice of a ticket's language, the
catalogs Frontdesk writes in, and dates, times and durations as each language writes them."""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from frontdesk.hours.zones import known_time_zone, offset_name, time_zone
from frontdesk.language import choice, detection
from frontdesk.language.catalogs import (
    answer_language,
    available_languages,
    templates_dir,
    translatable,
)
from frontdesk.language.choice import LanguageChoice, LanguageSource, choose_language
from frontdesk.language.detection import Detection, detect_language
from frontdesk.language.formatting import format_duration, format_moment
from frontdesk.language.tags import primary_language, ranked_languages, unique

BERLIN = ZoneInfo("Europe/Berlin")
# A Monday 08:00 UTC: 09:00 in Berlin (winter time), 11:00 at +03:00, 04:30 at -03:30.
MONDAY = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
ANSWERED = frozenset({"en", "ru", "kk", "vi", "fa"})

SENTENCES = {
    "vi": "Xin chào, đơn hàng của tôi bị giao trễ, xin hãy giúp tôi kiểm tra.",
    "kk": "Сәлеметсіз бе, менің тапсырысым әлі келген жоқ, көмектесіңізші.",
    "ru": "Здравствуйте, мой заказ до сих пор не пришёл, помогите пожалуйста.",
    "fa": "سلام، سفارش من هنوز نرسیده است، لطفا کمک کنید.",
    "en": "Hello, my order has still not arrived, could you please help me?",
}


def fixed_offset(hours: int, minutes: int = 0) -> timezone:
    return timezone(timedelta(hours=hours, minutes=minutes))


# -- tags ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "language"),
    [
        ("pt-BR", "pt"),
        ("pt_BR", "pt"),
        ("EN-us", "en"),
        (" fa ", "fa"),
        ("kk", "kk"),
        ("zh-Hant-TW", "zh"),
        ("fil", "fil"),
    ],
)
def test_primary_language_is_the_first_subtag_in_lower_case(tag: str, language: str):
    assert primary_language(tag) == language


@pytest.mark.parametrize(
    "tag", [None, "", "*", "x-klingon", "i-default", "english", "e", "en-", "123", "en us", "ру"]
)
def test_primary_language_of_what_is_not_a_language_tag_is_none(tag: str | None):
    assert primary_language(tag) is None


@pytest.mark.parametrize(
    ("header", "languages"),
    [
        pytest.param("ru-RU,en;q=0.8", ["ru", "en"], id="first-without-weight"),
        pytest.param("en;q=0.5, fa;q=0.9", ["fa", "en"], id="heaviest-first"),
        pytest.param("en;q=0.8, fr;q=0.8", ["en", "fr"], id="ties-keep-client-order"),
        pytest.param("  pt-BR ; q = 0.7 ,  en ; q=0.3 ", ["pt", "en"], id="spaces"),
        pytest.param("*, fr;q=0.5", ["fr"], id="wildcard-skipped"),
        pytest.param("en;q=0, de;q=0.1", ["de"], id="q0-means-not-acceptable"),
        pytest.param("fa;q=abc, en;q=0.3", ["en"], id="garbage-weight-dropped"),
        pytest.param("fa;q=, en;q=0.3", ["en"], id="empty-weight-dropped"),
        pytest.param("fa;q=nan, en;q=0.5", ["en"], id="nan-dropped"),
        pytest.param("fa;q=2, en;q=0.5", ["en"], id="above-one-dropped"),
        pytest.param("fa;q=-1, en;q=0.5", ["en"], id="negative-dropped"),
        pytest.param("en-US,en;q=0.9,ru;q=0.8", ["en", "ru"], id="one-per-language"),
        pytest.param("en-GB;q=0.5, ru;q=0.7, en-US", ["en", "ru"], id="best-rank-of-a-language"),
        pytest.param(",,kk,,", ["kk"], id="empty-parts"),
        pytest.param("x-klingon, vi", ["vi"], id="private-use-skipped"),
    ],
)
def test_ranked_languages_orders_by_weight(header: str, languages: list[str]):
    assert ranked_languages(header) == languages


@pytest.mark.parametrize("header", [None, "", "*", " , ", "*;q=0.5", "en;q=0"])
def test_ranked_languages_without_a_usable_tag_is_empty(header: str | None):
    assert ranked_languages(header) == []


def test_ranked_languages_reads_only_the_start_of_a_huge_header():
    header = ", ".join(["en"] * 400) + ", ru"

    assert ranked_languages(header) == ["en"]


def test_unique_keeps_the_first_of_each_and_drops_blanks():
    assert unique(["ru", None, "en", "", "ru", "kk", "en"]) == ["ru", "en", "kk"]
    assert unique([]) == []


# -- detection -------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", sorted(SENTENCES))
def test_a_sentence_is_detected_in_its_language(language: str):
    found = detect_language(SENTENCES[language])

    assert found is not None
    assert found.language == language
    assert found.confidence >= detection.MIN_CONFIDENCE


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("thanks", id="english-word"),
        pytest.param("Рахмет", id="kazakh-word"),
        pytest.param("ok ok", id="ok"),
        pytest.param("Order 1234 ABC XYZ", id="under-12-letters"),
        pytest.param("", id="empty"),
        pytest.param("   \n\t ", id="blank"),
        pytest.param("12345 67890 !!! ???", id="no-letters"),
        pytest.param("https://example.com/my-order-is-very-late 1234567890", id="a-link"),
        pytest.param("ivan.petrov.sidorov@example.ru", id="an-address"),
    ],
)
def test_short_text_is_not_guessed(text: str):
    assert detect_language(text) is None


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Hello Привет Xin chào سلام", id="four-languages"),
        pytest.param("asdf qwer zxcv uiop", id="keyboard-mash"),
    ],
)
def test_mixed_or_meaningless_text_is_not_guessed(text: str):
    assert detect_language(text) is None


def test_detection_reads_the_start_of_a_long_text():
    text = SENTENCES["en"] * 40 + SENTENCES["ru"] * 200

    found = detect_language(text)

    assert found is not None and found.language == "en"


@dataclass
class FakeModel:
    """Stands in for fastText: answers `label` with `confidence` and notes what it was asked."""

    label: str = "__label__ru"
    confidence: float = 0.9
    asked: list[str] = field(default_factory=list)

    def predict(self, text: str, k: int = 1) -> tuple[tuple[str, ...], tuple[float, ...]]:
        self.asked.append(text)
        return (self.label,), (self.confidence,)


def use_model(monkeypatch: pytest.MonkeyPatch, model: FakeModel) -> FakeModel:
    monkeypatch.setattr(detection, "_model", lambda: model)
    return model


def test_the_model_sees_the_text_without_links_addresses_digits_or_extra_spaces(
    monkeypatch: pytest.MonkeyPatch,
):
    model = use_model(monkeypatch, FakeModel())

    detect_language("Заказ 12345\n\n см. https://shop.example/o/1 и  пишите  ivan@example.ru www.x.ru _ок_")

    assert model.asked == ["Заказ см. и пишите ок"]


def test_the_model_sees_at_most_the_first_characters(monkeypatch: pytest.MonkeyPatch):
    model = use_model(monkeypatch, FakeModel())

    detect_language("a" * (detection.MAX_CHARS + 500))

    assert model.asked == ["a" * detection.MAX_CHARS]


def test_under_the_minimum_of_letters_the_model_is_not_asked(monkeypatch: pytest.MonkeyPatch):
    model = use_model(monkeypatch, FakeModel())

    assert detect_language("a" * (detection.MIN_LETTERS - 1) + " 123456789") is None
    assert model.asked == []
    assert detect_language("a" * detection.MIN_LETTERS) == Detection("ru", 0.9)


@pytest.mark.parametrize(("confidence", "detected"), [(0.59, False), (0.6, True), (0.99, True)])
def test_a_guess_below_the_minimum_confidence_is_none(
    monkeypatch: pytest.MonkeyPatch, confidence: float, detected: bool
):
    use_model(monkeypatch, FakeModel(label="__label__kk", confidence=confidence))

    found = detect_language("Сәлеметсіз бе, тапсырысым келмеді")

    assert found == (Detection("kk", confidence) if detected else None)


def test_the_model_ships_with_the_installed_package():
    assert detection.model_path().is_file()


# -- choosing a ticket's language ------------------------------------------------------------------


def detects(monkeypatch: pytest.MonkeyPatch, language: str | None) -> list[str]:
    """Make detection answer `language` (None: cannot tell); returns the texts it was asked about."""
    asked: list[str] = []

    def fake(text: str) -> Detection | None:
        asked.append(text)
        return Detection(language, 0.95) if language else None

    monkeypatch.setattr(choice, "detect_language", fake)
    return asked


def choose(hints: Sequence[str], text: str = "some text", default: str = "en") -> LanguageChoice:
    return choose_language(hints, text, available=ANSWERED, default=default)


def test_the_first_hint_we_answer_in_wins_and_detection_is_not_run(monkeypatch: pytest.MonkeyPatch):
    asked = detects(monkeypatch, "vi")

    assert choose(["de", "ru", "kk"]) == LanguageChoice("ru", LanguageSource.HINT)
    assert asked == []


def test_without_an_answerable_hint_the_detected_language_wins_over_other_hints(
    monkeypatch: pytest.MonkeyPatch,
):
    asked = detects(monkeypatch, "kk")

    assert choose(["de", "pt"], "Сәлем") == LanguageChoice("kk", LanguageSource.DETECTED)
    assert asked == ["Сәлем"]


def test_a_hint_we_cannot_answer_in_is_recorded_before_a_detection_we_cannot_either(
    monkeypatch: pytest.MonkeyPatch,
):
    detects(monkeypatch, "es")

    assert choose(["de", "pt"]) == LanguageChoice("de", LanguageSource.HINT)


def test_without_hints_an_unanswerable_detection_is_recorded(monkeypatch: pytest.MonkeyPatch):
    detects(monkeypatch, "es")

    assert choose([]) == LanguageChoice("es", LanguageSource.DETECTED)


def test_without_hints_or_detection_the_desk_default_is_used(monkeypatch: pytest.MonkeyPatch):
    detects(monkeypatch, None)

    assert choose([], default="ru") == LanguageChoice("ru", LanguageSource.DEFAULT)


def test_blank_and_repeated_hints_are_ignored(monkeypatch: pytest.MonkeyPatch):
    detects(monkeypatch, None)

    assert choose(["", "de", "de"]) == LanguageChoice("de", LanguageSource.HINT)


@pytest.mark.parametrize("language", sorted(SENTENCES))
def test_with_no_hints_the_text_decides(language: str):
    assert choose([], SENTENCES[language], default="en") == LanguageChoice(language, LanguageSource.DETECTED)


def test_a_hint_outranks_the_language_of_the_text():
    assert choose(["fa"], SENTENCES["ru"]) == LanguageChoice("fa", LanguageSource.HINT)


def test_short_text_and_no_hints_give_the_default():
    assert choose([], "thanks", default="kk") == LanguageChoice("kk", LanguageSource.DEFAULT)


# -- catalogs --------------------------------------------------------------------------------------


def write_catalog(directory: Path, language: str) -> None:
    folder = directory / "locales" / language / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "frontdesk.po").write_text('msgid ""\nmsgstr ""\n', encoding="utf-8")


def test_frontdesk_writes_english_and_each_language_with_a_catalog():
    assert {"en", "ru", "kk", "vi", "fa"} <= available_languages()


def test_a_language_folder_without_a_catalog_is_not_a_language(tmp_path: Path):
    write_catalog(tmp_path, "xx")
    (tmp_path / "locales" / "yy" / "LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "locales" / "frontdesk.pot").write_text("", encoding="utf-8")

    assert available_languages(tmp_path) == frozenset({"en", "xx"})


def test_without_catalogs_frontdesk_writes_english(tmp_path: Path):
    assert available_languages(tmp_path) == frozenset({"en"})


def test_the_templates_folder_can_be_configured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("FRONTDESK_TEMPLATES_DIR", str(tmp_path))

    assert templates_dir() == tmp_path


@pytest.mark.parametrize(
    ("candidates", "default", "language"),
    [
        pytest.param(["ru"], "en", "ru", id="available"),
        pytest.param([None, "de", "fa", "ru"], "en", "fa", id="first-available"),
        pytest.param(["de"], "kk", "kk", id="default"),
        pytest.param([], "vi", "vi", id="nothing-asked"),
        pytest.param(["de"], "es", "en", id="unwritable-default-is-english"),
    ],
)
def test_the_answer_language_is_the_first_frontdesk_writes(
    candidates: list[str | None], default: str, language: str
):
    assert answer_language(candidates, default) == language


def test_translatable_marks_a_message_and_returns_it_unchanged():
    assert translatable("use %(limit)s characters or fewer") == "use %(limit)s characters or fewer"


# -- dates, times and durations --------------------------------------------------------------------


def test_a_moment_in_english_names_the_day_the_time_and_the_zone():
    written = format_moment(MONDAY, BERLIN, "en")

    assert written.startswith("Monday, November 30, 2026")
    assert re.search(r"\b9:00\sAM\b", written)  # CLDR puts a narrow no-break space before AM
    assert written.endswith("(Central European Standard Time)")


def test_a_moment_in_summer_names_summer_time():
    written = format_moment(datetime(2026, 7, 6, 8, 0, tzinfo=UTC), BERLIN, "en")

    assert "10:00" in written
    assert written.endswith("(Central European Summer Time)")


def test_a_moment_in_russian():
    written = format_moment(MONDAY, BERLIN, "ru")

    assert written.startswith("понедельник, 30 ноября 2026")
    assert "09:00" in written
    assert written.endswith("(Центральная Европа, стандартное время)")


def test_a_moment_in_persian():
    written = format_moment(MONDAY, BERLIN, "fa")

    assert "دوشنبه" in written
    assert "نوامبر" in written
    assert "9:00" in written
    assert written.endswith("(وقت عادی مرکز اروپا)")


@pytest.mark.parametrize("language", ["en", "ru", "fa"])
def test_a_moment_at_a_fixed_offset_names_the_offset(language: str):
    written = format_moment(MONDAY, time_zone("+03:00"), language)

    assert "11:00" in written
    assert written.endswith("(UTC+03:00)")


@pytest.mark.parametrize("language", ["en", "ru", "fa"])
def test_a_negative_half_hour_offset_is_written_exactly(language: str):
    written = format_moment(MONDAY, time_zone("-03:30"), language)

    assert "4:30" in written
    assert written.endswith("(UTC-03:30)")


def test_a_moment_without_a_zone_is_in_utc():
    written = format_moment(MONDAY, None, "en")

    assert "8:00" in written
    assert written.endswith("(UTC+00:00)")


def test_a_moment_is_written_as_the_same_instant_whatever_zone_it_came_in():
    same_instant = MONDAY.astimezone(fixed_offset(5, 45))

    assert format_moment(same_instant, BERLIN, "en") == format_moment(MONDAY, BERLIN, "en")


@pytest.mark.parametrize(
    ("duration", "language", "written"),
    [
        (timedelta(hours=24), "en", "24 hours"),
        (timedelta(minutes=15), "en", "15 minutes"),
        (timedelta(hours=2), "en", "2 hours"),
        (timedelta(minutes=90), "en", "90 minutes"),
        (timedelta(days=3), "en", "3 days"),
        (timedelta(hours=2), "ru", "2 часа"),
        (timedelta(hours=24), "ru", "24 часа"),
        (timedelta(minutes=15), "ru", "15 минут"),
        (timedelta(days=3), "ru", "3 дня"),
        (timedelta(hours=2), "fa", "2 ساعت"),
        (timedelta(minutes=15), "fa", "15 دقیقه"),
        (timedelta(hours=8), "kk", "8 сағат"),
        (timedelta(hours=4), "vi", "4 giờ"),
    ],
)
def test_a_duration_is_written_in_the_language(duration: timedelta, language: str, written: str):
    assert format_duration(duration, language) == written


# -- time zones (frontdesk.hours.zones), which moments are written in ------------------------------


@pytest.mark.parametrize(
    "name", ["Europe/Berlin", "Asia/Almaty", "America/Argentina/Buenos_Aires", "UTC", "Etc/GMT+3"]
)
def test_iana_names_are_known_time_zones(name: str):
    assert known_time_zone(name)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("Mars/Olympus_Mons", id="unknown"),
        pytest.param("", id="empty"),
        pytest.param("../etc/passwd", id="relative-path"),
        pytest.param("/etc/localtime", id="absolute-path"),
        pytest.param("Europe/Berlin/", id="trailing-slash"),
        pytest.param("Europe/Berlin\n", id="newline"),
        pytest.param("+03:00", id="offset"),
        pytest.param("A/" + "b" * 70, id="too-long"),
        pytest.param("zone.tab", id="a-data-file"),
        pytest.param("Europe", id="a-folder"),
    ],
)
def test_other_names_are_not_known_time_zones(name: str):
    assert not known_time_zone(name)


@pytest.mark.parametrize(
    ("moment", "name"),
    [
        (datetime(2026, 1, 5, 9, 0, tzinfo=fixed_offset(3)), "+03:00"),
        (datetime(2026, 1, 5, 9, 0, tzinfo=fixed_offset(-3, -30)), "-03:30"),
        (datetime(2026, 1, 5, 9, 0, tzinfo=fixed_offset(5, 45)), "+05:45"),
        (datetime(2026, 1, 5, 9, 0, tzinfo=UTC), "+00:00"),
        (datetime(2026, 7, 6, 9, 0, tzinfo=BERLIN), "+02:00"),
        (datetime(2026, 1, 5, 9, 0, tzinfo=BERLIN), "+01:00"),
    ],
)
def test_offset_name_is_the_utc_offset_as_plus_minus_hh_mm(moment: datetime, name: str):
    assert offset_name(moment) == name


def test_a_naive_moment_has_no_offset_name():
    assert offset_name(datetime(2026, 1, 5, 9, 0)) is None


@pytest.mark.parametrize(
    ("name", "offset"),
    [
        ("+03:00", timedelta(hours=3)),
        ("-03:30", -timedelta(hours=3, minutes=30)),
        ("+05:45", timedelta(hours=5, minutes=45)),
        ("-00:00", timedelta(0)),
        ("+23:59", timedelta(hours=23, minutes=59)),
    ],
)
def test_an_offset_as_stored_on_tickets_is_a_fixed_zone(name: str, offset: timedelta):
    zone = time_zone(name)

    assert zone is not None
    assert zone.utcoffset(None) == offset


def test_an_iana_name_is_its_zone():
    assert time_zone("Asia/Tehran") == ZoneInfo("Asia/Tehran")


@pytest.mark.parametrize("name", [None, "", "+24:00", "03:00", "+3:00", "UTC+03:00", "Nowhere/Place"])
def test_anything_else_has_no_zone(name: str | None):
    assert time_zone(name) is None


@pytest.mark.parametrize("name", ["+03:00", "-03:30", "+05:45", "-11:00"])
def test_an_offset_name_reads_back_as_the_same_offset(name: str):
    zone = time_zone(name)
    assert zone is not None

    assert offset_name(MONDAY.astimezone(zone)) == name
