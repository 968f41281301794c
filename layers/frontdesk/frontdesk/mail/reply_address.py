"""Signed reply addresses: support+FD-7K3M-Q9XA.k2j4m7q3xa@example.com.

Frontdesk puts such an address in Reply-To. Only people who received our mail know it, so a reply
arriving on it may join the ticket even when its sender is not the requester (a colleague, a
forwarded thread). The signature stops anyone from writing into a ticket by guessing the reference.

Signature: HMAC-SHA256(key, b"frontdesk-reply:" + canonical reference), first 10 characters of its
lower-case base32 (RFC 4648) encoding, i.e. 50 bits.
- Base32 because mail systems lower-case (or upper-case) local parts: the alphabet has one case
  and no 0/O or 1/I/L pairs to confuse.
- 50 bits because a forger cannot check guesses offline; each guess is a mail we receive, so 2^50
  is far out of reach, and a success only adds a message to a ticket. Longer would eat into the
  64-octet local part (RFC 5321 4.5.3.1.1) that the base local part and the reference share.
- The domain tag keeps these MACs apart from anything else the same key might ever sign.
The base address is deliberately not signed, so renaming the mailbox keeps old replies working.
"""

import base64
import hashlib
import hmac
import re

from frontdesk.tickets.reference import normalise_reference

SIGNATURE_CHARS = 10
MIN_KEY_BYTES = 16  # a short key could be brute-forced offline from one signed address
_MAX_LOCAL_PART = 64  # RFC 5321 4.5.3.1.1
_MAX_ADDRESS = 254  # RFC 5321 path limit (256) less the angle brackets
_MESSAGE_TAG = b"frontdesk-reply:"

# dot-atom (RFC 5322) without "+", which separates the base from the tag
_ATEXT = r"[a-z0-9!#$%&'*/=?^_`{|}~-]"
_BASE_LOCAL = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*")
_DOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*")
# after "<base>+", lower case: a reference (1-6 letter prefix, two groups of four), ".", signature
_TAG = re.compile(rf"([a-z]{{1,6}})-([0-9a-z]{{4}}-[0-9a-z]{{4}})\.([a-z2-7]{{{SIGNATURE_CHARS}}})")


def signed_reply_address(base_address: str, reference: str, key: bytes) -> str:
    """The Reply-To address for mail about `reference`, e.g. support+FD-7K3M-Q9XA.<signature>@domain."""
    local, domain = _split_base(base_address)
    _check_key(key)
    canonical = _canonical_reference(reference)
    if canonical is None:
        raise ValueError("not a ticket reference")
    tagged = f"{local}+{canonical}.{_signature(canonical, key)}"
    if len(tagged) > _MAX_LOCAL_PART:
        raise ValueError(
            f"the base local part is too long: with the reference and signature the local part would "
            f"be {len(tagged)} characters, the limit is {_MAX_LOCAL_PART}"
        )
    address = f"{tagged}@{domain}"
    if len(address) > _MAX_ADDRESS:
        raise ValueError(f"the address would be longer than {_MAX_ADDRESS} characters")
    return address


def verify_reply_address(address: str, *, base_address: str, key: bytes) -> str | None:
    """The canonical reference a signed reply address was made for, or None if it is not one of ours."""
    base_local, base_domain = _split_base(base_address)
    _check_key(key)
    # ASCII before case-folding: str.lower/upper map some non-ASCII letters to ASCII ones (the
    # Kelvin sign to "k", long s to "S"), which would let a look-alike address pass.
    text = address.strip()
    if not text.isascii():
        return None
    local, at, domain = text.lower().rpartition("@")
    if not at or domain != base_domain.lower():
        return None
    head, plus, tag = local.partition("+")
    match = _TAG.fullmatch(tag) if plus and head == base_local.lower() else None
    if match is None:
        return None
    prefix, groups, signature = match.groups()
    reference = f"{prefix}-{groups}".upper()
    # Only the exact canonical spelling: normalise_reference forgives O/I/L typed for 0/1, which a
    # copied address never needs.
    if normalise_reference(reference, prefix.upper()) != reference:
        return None
    if not hmac.compare_digest(_signature(reference, key), signature):
        return None
    return reference


def _signature(reference: str, key: bytes) -> str:
    digest = hmac.new(key, _MESSAGE_TAG + reference.encode("ascii"), hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:SIGNATURE_CHARS]


def _canonical_reference(text: str) -> str | None:
    candidate = text.strip()
    if not candidate.isascii():
        return None
    prefix = candidate.partition("-")[0].upper()
    if not re.fullmatch(r"[A-Z]{1,6}", prefix):
        return None
    return normalise_reference(candidate, prefix)


def _split_base(base_address: str) -> tuple[str, str]:
    text = base_address.strip()
    local, at, domain = text.rpartition("@")
    valid = at and _BASE_LOCAL.fullmatch(local.lower()) and _DOMAIN.fullmatch(domain.lower())
    if not (text.isascii() and valid):
        raise ValueError("the base address must be a plain ASCII local@domain without a '+' tag")
    return local, domain


def _check_key(key: bytes) -> None:
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"the reply address key must be at least {MIN_KEY_BYTES} bytes")
