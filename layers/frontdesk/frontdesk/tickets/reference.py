"""Human-friendly ticket references, e.g. FD-7K3M-Q9TX.

Random rather than sequential: no hot counter item on the intake path and no leak of ticket
volume. Uniqueness is not left to chance: the store writes a ticket only if its reference is
unused, and intake draws again on a collision. Characters follow Crockford's base32, which has no
I, L, O or U, so references survive being read aloud or retyped; `normalise_reference` maps the
usual confusions (O->0, I/L->1) back.
"""

import hashlib
import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_GROUP = 4
_GROUPS = 2
_CONFUSIONS = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_reference(prefix: str) -> str:
    """A fresh random reference: 40 bits in two groups of four characters."""
    groups = ("".join(secrets.choice(ALPHABET) for _ in range(_GROUP)) for _ in range(_GROUPS))
    return f"{prefix}-" + "-".join(groups)


def reference_from_seed(prefix: str, seed: str) -> str:
    """A reference derived from an event's id, so a redelivered event draws the same one first
    (files stored under the ticket before its transaction then keep the same keys)."""
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:5])
    characters = [ALPHABET[(number >> (5 * shift)) & 31] for shift in reversed(range(_GROUP * _GROUPS))]
    groups = ("".join(characters[start : start + _GROUP]) for start in range(0, len(characters), _GROUP))
    return f"{prefix}-" + "-".join(groups)


def reference_pattern(prefix: str) -> re.Pattern[str]:
    group = f"[{ALPHABET}]{{{_GROUP}}}"
    return re.compile(rf"{re.escape(prefix)}-{group}(?:-{group}){{{_GROUPS - 1}}}")


def normalise_reference(text: str, prefix: str) -> str | None:
    """The canonical reference a customer or agent typed, or None if it is not one."""
    candidate = text.strip().upper().replace(" ", "")
    if candidate.startswith(prefix.upper() + "-"):
        body = candidate[len(prefix) + 1 :].translate(_CONFUSIONS)
        candidate = f"{prefix}-{body}"
    return candidate if reference_pattern(prefix).fullmatch(candidate) else None
