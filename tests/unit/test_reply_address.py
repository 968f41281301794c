"""Signed reply addresses: only an address Frontdesk issued leads back to its ticket."""

import base64
import hashlib
import hmac
import re
import secrets

import pytest
from pydantic import ValidationError

from frontdesk.config import Settings
from frontdesk.mail.intake import _signed_reference
from frontdesk.mail.reply_address import (
    MIN_KEY_BYTES,
    SIGNATURE_CHARS,
    signed_reply_address,
    verify_reply_address,
)
from frontdesk.mail.settings import EmailSettings
from frontdesk.tickets.reference import new_reference

BASE = "support@example.com"
KEY = b"0123456789abcdef0123456789abcdef"
OTHER_KEY = b"fedcba9876543210fedcba9876543210"
REFERENCE = "FD-7K3M-Q9XA"


def address_for(reference: str = REFERENCE, *, base: str = BASE, key: bytes = KEY) -> str:
    return signed_reply_address(base, reference, key)


def verify(address: str, *, base: str = BASE, key: bytes = KEY) -> str | None:
    return verify_reply_address(address, base_address=base, key=key)


def signature_of(address: str) -> str:
    return address.partition("@")[0].rpartition(".")[2]


# --- issuing -------------------------------------------------------------------------------------


def test_the_address_is_the_base_plus_reference_and_signature():
    # When
    address = address_for()

    # Then
    local, _, domain = address.partition("@")
    assert domain == "example.com"
    assert re.fullmatch(rf"support\+FD-7K3M-Q9XA\.[a-z2-7]{{{SIGNATURE_CHARS}}}", local)


def test_the_signature_is_truncated_lower_case_base32_of_a_domain_separated_hmac():
    # an independent computation of the documented scheme, so the format cannot drift silently
    digest = hmac.new(KEY, b"frontdesk-reply:FD-7K3M-Q9XA", hashlib.sha256).digest()
    expected = base64.b32encode(digest).decode().lower()[:10]

    assert SIGNATURE_CHARS == 10
    assert address_for() == f"support+FD-7K3M-Q9XA.{expected}@example.com"


def test_the_same_reference_and_key_always_give_the_same_address():
    assert address_for() == address_for()


def test_the_signature_depends_on_the_key_and_the_reference():
    assert signature_of(address_for(key=OTHER_KEY)) != signature_of(address_for())
    assert signature_of(address_for("FD-7K3M-Q9XB")) != signature_of(address_for())


@pytest.mark.parametrize("typed", ["fd-7k3m-q9xa", " FD-7K3M-Q9XA ", "Fd-7K3m-Q9xA", "FD-7K3M-Q9 XA"])
def test_the_reference_is_canonicalised_before_signing(typed: str):
    assert address_for(typed) == address_for(REFERENCE)


def test_confusable_letters_in_a_reference_are_read_as_the_digits_they_stand_for():
    assert address_for("FD-7K3M-Q9XO") == address_for("FD-7K3M-Q9X0")
    assert address_for("FD-7K3M-Q9XL") == address_for("FD-7K3M-Q9X1")


@pytest.mark.parametrize(
    "reference",
    [
        "",
        "FD",
        "FD-7K3M",
        "FD-7K3M-Q9X",
        "FD-7K3M-Q9XAB",
        "FD-7K3M-Q9XA-ABCD",
        "FD-7K3M-Q9XU",  # U is not in Crockford's alphabet
        "FD7K3M-Q9XA",
        "TOOLONG-7K3M-Q9XA",
        "F1-7K3M-Q9XA",
        "FD-7K3M-Q9XÄ",
        "FD-7K3M-Q9X\u017f",  # long s upper-cases to S
        "FD-7K3M-Q9XA.abc",
        "FD-7K3M-Q9XA+1",
    ],
)
def test_signing_something_that_is_not_a_reference_is_refused(reference: str):
    with pytest.raises(ValueError, match="not a ticket reference"):
        address_for(reference)


@pytest.mark.parametrize("prefix", ["X", "FD", "HELP", "ABCDEF"])
def test_any_prefix_of_one_to_six_letters_round_trips(prefix: str):
    reference = new_reference(prefix)

    assert verify(address_for(reference)) == reference


def test_many_random_references_and_keys_round_trip_within_the_local_part_limit():
    for _ in range(300):
        key = secrets.token_bytes(32)
        reference = new_reference(secrets.choice(["FD", "ABCDEF", "Q"]))
        base = "x" * secrets.randbelow(36) + "y@example.com"  # up to 36: room for any prefix

        address = signed_reply_address(base, reference, key)

        assert len(address.partition("@")[0]) <= 64
        assert verify(address, base=base, key=key) == reference


def test_the_local_part_may_use_exactly_64_characters():
    # "+FD-7K3M-Q9XA." and the signature take 24, so a 40-character base local part just fits
    base = "a" * 40 + "@example.com"

    address = address_for(base=base)

    assert len(address.partition("@")[0]) == 64
    assert verify(address, base=base) == REFERENCE


def test_a_base_local_part_too_long_to_fit_is_refused():
    with pytest.raises(ValueError, match="too long"):
        address_for(base="a" * 41 + "@example.com")


def test_the_longest_prefix_leaves_less_room_for_the_base():
    base = "a" * 37 + "@example.com"

    assert address_for("FD-7K3M-Q9XA", base=base)
    with pytest.raises(ValueError, match="too long"):
        address_for("ABCDEF-7K3M-Q9XA", base=base)


def test_an_address_longer_than_smtp_allows_is_refused():
    long_domain = ".".join(["d" * 60] * 4) + ".example"

    with pytest.raises(ValueError, match="longer than 254"):
        address_for(base=f"support@{long_domain}")


@pytest.mark.parametrize(
    "base",
    [
        "",
        "support",
        "@example.com",
        "support@",
        "support+tag@example.com",
        "sup port@example.com",
        '"support"@example.com',
        "support@exa mple.com",
        "support@-example.com",
        "support@example..com",
        "support@@example.com",
        "\u017fupport@example.com",  # long s
        "\u212aelp@example.com",  # Kelvin sign lower-cases to k
        "support@bücher.example",
        "support@example.com\nBcc: victim@example.org",
    ],
)
def test_a_malformed_base_address_is_a_configuration_error(base: str):
    with pytest.raises(ValueError, match="base address"):
        address_for(base=base)
    with pytest.raises(ValueError, match="base address"):
        verify("support+FD-7K3M-Q9XA.aaaaaaaaaa@example.com", base=base)


@pytest.mark.parametrize("key", [b"", b"secret", b"x" * (MIN_KEY_BYTES - 1)])
def test_a_short_key_is_a_configuration_error(key: bytes):
    with pytest.raises(ValueError, match="key"):
        address_for(key=key)
    with pytest.raises(ValueError, match="key"):
        verify(address_for(), key=key)


def test_a_base_address_keeps_its_spelling_in_the_address():
    address = address_for(base="Help.Desk@Example.COM")

    assert address.startswith("Help.Desk+FD-7K3M-Q9XA.")
    assert address.endswith("@Example.COM")
    assert verify(address.lower(), base="help.desk@example.com") == REFERENCE


# --- verifying -----------------------------------------------------------------------------------


def test_an_issued_address_verifies_to_its_reference():
    assert verify(address_for()) == REFERENCE


@pytest.mark.parametrize("transform", [str.lower, str.upper, str.swapcase, str.title, lambda a: f"  {a}\t"])
def test_case_and_surrounding_whitespace_do_not_matter(transform):
    assert verify(transform(address_for())) == REFERENCE


def test_the_base_address_is_compared_case_insensitively():
    assert verify(address_for(), base="SUPPORT@EXAMPLE.COM") == REFERENCE


def _forgeries() -> list[tuple[str, str]]:
    good = address_for()
    local, _, domain = good.partition("@")
    signature = signature_of(good)
    tag = f"FD-7K3M-Q9XA.{signature}"
    flipped = ("b" if signature[0] == "a" else "a") + signature[1:]
    other_key = signature_of(address_for(key=OTHER_KEY))
    return [
        ("wrong domain", f"{local}@example.org"),
        ("subdomain", f"{local}@mail.example.com"),
        ("parent domain", f"{local}@com"),
        ("domain suffix", f"{local}@example.com.evil.test"),
        ("domain with trailing dot", f"{local}@example.com."),
        ("other base local part", f"sales+{tag}@{domain}"),
        ("base local part as a prefix", f"supportx+{tag}@{domain}"),
        ("no plus", f"support{tag}@{domain}"),
        ("plain base address", BASE),
        ("extra plus before", f"support++{tag}@{domain}"),
        ("extra plus after", f"support+{tag}+x@{domain}"),
        ("extra tag", f"support+x+{tag}@{domain}"),
        ("missing signature", f"support+FD-7K3M-Q9XA@{domain}"),
        ("empty signature", f"support+FD-7K3M-Q9XA.@{domain}"),
        ("missing reference", f"support+{signature}@{domain}"),
        ("dot only", f"support+.{signature}@{domain}"),
        ("signature one short", f"support+FD-7K3M-Q9XA.{signature[:-1]}@{domain}"),
        ("signature one long", f"support+FD-7K3M-Q9XA.{signature}a@{domain}"),
        ("signature changed", f"support+FD-7K3M-Q9XA.{flipped}@{domain}"),
        ("signature of another key", f"support+FD-7K3M-Q9XA.{other_key}@{domain}"),
        ("signature for another reference", f"support+FD-7K3M-Q9XB.{signature}@{domain}"),
        ("signature outside base32", f"support+FD-7K3M-Q9XA.{signature[:-1]}0@{domain}"),
        ("hyphen for dot", f"support+FD-7K3M-Q9XA-{signature}@{domain}"),
        ("two dots", f"support+FD-7K3M-Q9XA..{signature}@{domain}"),
        ("reference with U", f"support+FD-7K3M-Q9XU.{signature}@{domain}"),
        ("reference with spaces", f"support+FD-7K3M -Q9XA.{signature}@{domain}"),
        ("no at sign", f"{local}"),
        ("two at signs", f"{local}@evil.test@{domain}"),
        ("quoted local part", f'"{local}"@{domain}'),
        ("angle brackets", f"<{good}>"),
        ("display name", f"Support <{good}>"),
        ("newline inside", f"{local}\n@{domain}"),
        ("empty", ""),
        ("fullwidth at", f"{local}\uff20{domain}"),
        ("Cyrillic a in domain", f"{local}@ex\u0430mple.com"),
        ("Kelvin sign in reference", good.replace("7K3M", "7\u212a3M")),
        ("long s in base", good.replace("support", "\u017fupport")),
        ("dotless i in domain", good.replace("example", "exampl\u0131")),
        ("non-breaking space", f"{local}@{domain}\u00a0x"),
    ]


@pytest.mark.parametrize(("case", "address"), _forgeries(), ids=[case for case, _ in _forgeries()])
def test_anything_but_an_issued_address_is_rejected(case: str, address: str):
    assert verify(address) is None


def test_a_reference_spelled_with_confusable_letters_is_rejected_even_when_signed():
    # issuing canonicalises FD-7K3M-Q9X0; an address spelling it with O was never issued
    good = address_for("FD-7K3M-Q9X0")
    respelled = good.replace("Q9X0", "Q9XO")

    assert verify(good) == "FD-7K3M-Q9X0"
    assert verify(respelled) is None


def test_the_wrong_key_rejects_every_issued_address():
    assert verify(address_for(), key=OTHER_KEY) is None


def test_random_signatures_do_not_verify():
    local_head = "support+FD-7K3M-Q9XA."
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    good = signature_of(address_for())
    guesses = {"".join(secrets.choice(alphabet) for _ in range(SIGNATURE_CHARS)) for _ in range(2_000)}
    guesses.discard(good)

    assert not [guess for guess in guesses if verify(f"{local_head}{guess}@example.com")]


def test_signatures_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch):
    calls: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)

    assert verify(address_for()) == REFERENCE
    assert calls == [(signature_of(address_for()), signature_of(address_for()))]


def test_after_a_rotation_addresses_signed_with_a_previous_key_still_name_their_ticket():
    old, new = b"the-key-before-rotation", b"the-key-after-rotation!"
    settings = Settings.model_validate(
        {
            "sender_address": BASE,
            "support_domain": "example.com",
            "tickets_table_name": "tickets",
            "email": {"reply_address_key": new.decode(), "previous_reply_address_keys": [old.decode()]},
        }
    )
    signed_before = address_for(key=old)
    signed_after = address_for(key=new)
    forged = address_for(key=b"a-key-nobody-configured")

    assert _signed_reference((signed_before,), settings) == REFERENCE
    assert _signed_reference((signed_after,), settings) == REFERENCE
    assert _signed_reference((forged,), settings) is None
    without_previous = settings.with_sections(
        email=settings.email.model_copy(update={"previous_reply_address_keys": ()})
    )
    assert _signed_reference((signed_before,), without_previous) is None


def test_a_short_previous_key_is_refused():
    with pytest.raises(ValidationError, match="at least 16 bytes"):
        EmailSettings.model_validate(
            {"reply_address_key": "x" * 32, "previous_reply_address_keys": ["short"]}
        )
