"""Ticket references: random, well formed, and forgiving when a person types them back."""

import pytest

from frontdesk.tickets.reference import ALPHABET, new_reference, normalise_reference, reference_pattern


@pytest.mark.parametrize("prefix", ["FD", "HELP", "X"])
def test_new_reference_is_the_prefix_and_two_groups_of_four_from_the_alphabet(prefix: str):
    # When
    reference = new_reference(prefix)

    # Then
    head, first, second = reference.split("-")
    assert head == prefix
    assert len(first) == 4
    assert len(second) == 4
    assert set(first + second) <= set(ALPHABET)
    assert reference_pattern(prefix).fullmatch(reference) is not None


def test_the_alphabet_is_crockford_base32_without_confusable_letters():
    assert len(ALPHABET) == 32
    assert len(set(ALPHABET)) == 32
    assert not set("ILOU") & set(ALPHABET)


def test_many_new_references_are_distinct():
    references = [new_reference("FD") for _ in range(2_000)]

    assert len(set(references)) == len(references)


def test_new_references_use_the_whole_alphabet():
    # 2,000 references carry 16,000 characters: every one of the 32 appears (all but certainly)
    characters = {char for _ in range(2_000) for char in new_reference("FD")[3:].replace("-", "")}

    assert characters == set(ALPHABET)


@pytest.mark.parametrize(
    "text",
    ["FD-7K3M", "FD-7K3M-Q9T", "FD-7K3M-Q9TXX", "FD-7K3M-Q9TX-ABCD", "FD-7K3MQ9TX", "FD7K3M-Q9TX"],
)
def test_reference_pattern_matches_only_the_exact_shape(text: str):
    assert reference_pattern("FD").fullmatch(text) is None


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        pytest.param("FD-7K3M-Q9TX", "FD-7K3M-Q9TX", id="canonical"),
        pytest.param("fd-7k3m-q9tx", "FD-7K3M-Q9TX", id="lower-case"),
        pytest.param("  FD-7K3M-Q9TX\n", "FD-7K3M-Q9TX", id="surrounding-whitespace"),
        pytest.param("FD - 7K3M - Q9TX", "FD-7K3M-Q9TX", id="spaces-inside"),
        pytest.param("FD-7K3M-Q9TO", "FD-7K3M-Q9T0", id="O-for-zero"),
        pytest.param("fd-7k3m-q9to", "FD-7K3M-Q9T0", id="o-for-zero"),
        pytest.param("FD-7K3M-Q9TI", "FD-7K3M-Q9T1", id="I-for-one"),
        pytest.param("FD-7K3M-Q9TL", "FD-7K3M-Q9T1", id="L-for-one"),
        pytest.param("fd-oo1l-ilo0", "FD-0011-1100", id="all-confusions"),
    ],
)
def test_normalise_reference_accepts_what_people_type(typed: str, expected: str):
    assert normalise_reference(typed, "FD") == expected


@pytest.mark.parametrize(
    "typed",
    [
        pytest.param("XX-7K3M-Q9TX", id="wrong-prefix"),
        pytest.param("FDX-7K3M-Q9TX", id="longer-prefix"),
        pytest.param("FD-7K3M", id="one-group"),
        pytest.param("FD-7K3M-Q9T", id="short-group"),
        pytest.param("FD-7K3M-Q9TXY", id="long-group"),
        pytest.param("FD-7K3M-Q9TX-ABCD", id="three-groups"),
        pytest.param("FD-7K3M-Q9TU", id="U-not-in-alphabet"),
        pytest.param("FD-7K3M-Q9T!", id="punctuation"),
        pytest.param("Ref: FD-7K3M-Q9TX", id="surrounding-text"),
        pytest.param("FD-7K3M-Q9TX please", id="trailing-text"),
        pytest.param("", id="empty"),
        pytest.param("hello", id="other-text"),
    ],
)
def test_normalise_reference_refuses_anything_else(typed: str):
    assert normalise_reference(typed, "FD") is None


def test_normalise_reference_round_trips_every_new_reference():
    for _ in range(200):
        reference = new_reference("FD")
        assert normalise_reference(reference.lower(), "FD") == reference
