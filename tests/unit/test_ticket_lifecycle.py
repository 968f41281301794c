"""Which status moves agents may make, and which page cursors the store takes back."""

import pytest

from frontdesk.tickets.model import STATUS_MOVES, TicketStatus
from frontdesk.tickets.store import REQUESTER_INDEX, STATUS_INDEX, _checked_start_key


def test_every_status_has_its_moves_and_closed_is_final():
    assert set(STATUS_MOVES) == set(TicketStatus)
    assert STATUS_MOVES[TicketStatus.CLOSED] == frozenset()
    assert TicketStatus.OPEN in STATUS_MOVES[TicketStatus.RESOLVED]  # reopening
    assert TicketStatus.NEW not in {move for moves in STATUS_MOVES.values() for move in moves}


def key(partition: str = "STATUS#new", **extra: object) -> dict[str, object]:
    return {
        "pk": {"S": "TICKET#FD-1"},
        "sk": {"S": "TICKET"},
        "gsi2pk": {"S": partition},
        "gsi2sk": {"S": "2026-11-25T09:30:00.000000Z#FD-1"},
        **extra,
    }


def test_a_start_key_of_the_same_listing_is_taken():
    assert _checked_start_key(key(), STATUS_INDEX, ("gsi2pk", "STATUS#new")) == key()


@pytest.mark.parametrize(
    ("start", "index"),
    [
        (key("STATUS#open"), STATUS_INDEX),  # another status's partition
        (key(extra={"S": "x"}), STATUS_INDEX),  # an attribute too many
        ({**key(), "sk": {"N": "1"}}, STATUS_INDEX),  # not a string
        ({**key(), "sk": "TICKET"}, STATUS_INDEX),  # not a typed value
        (key(), REQUESTER_INDEX),  # another index's keys
    ],
)
def test_any_other_start_key_is_refused(start: dict[str, object], index: str):
    with pytest.raises(ValueError):
        _checked_start_key(start, index, ("gsi2pk", "STATUS#new"))
