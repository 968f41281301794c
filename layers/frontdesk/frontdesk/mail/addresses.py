"""Email addresses: validating them as email_validator does, and comparing them the way mail is
delivered."""

import re

# The addresses nearly everyone has (ASCII dot-atom, host names of letters, digits and hyphens
# under a letters-only top-level domain) are checked here; anything else goes to email_validator.
# Its import costs about a third of a cold start (it compiles regular expressions spanning all of
# Unicode), and every function validates the sender address when it loads its settings. Every
# address accepted here, email_validator accepts and normalizes the same way (a property test
# checks it against the library).
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PLAIN_ADDRESS = re.compile(rf"({_ATEXT}(?:\.{_ATEXT})*)@((?:{_LABEL}\.)+[A-Za-z]{{2,63}})", re.ASCII)
_MAX_ADDRESS = 254  # RFC 5321 4.5.3.1.3 with errata 1690, as email_validator counts it
_MAX_LOCAL_PART = 64  # RFC 5321 4.5.3.1.1 (longer ones are left to email_validator)
_MAX_DOMAIN = 253
# email_validator's SPECIAL_USE_DOMAIN_NAMES and CASE_INSENSITIVE_MAILBOX_NAMES (RFC 2142); a test
# compares them with the installed library's.
SPECIAL_USE_DOMAINS = ("arpa", "invalid", "local", "localhost", "onion", "test")
ROLE_MAILBOXES = frozenset(
    {
        "info", "marketing", "sales", "support", "abuse", "noc", "security", "postmaster",
        "hostmaster", "usenet", "news", "webmaster", "www", "uucp", "ftp",
    }
)  # fmt: skip


class InvalidAddressError(ValueError):
    """Not an address mail can be sent to; the message says why (email_validator's words)."""


def normalized_address(value: str) -> str:
    """The address as email_validator normalizes it (domain in lower case, RFC 2142 role mailboxes
    in lower case), without a deliverability (DNS) check; InvalidAddressError when it is not one."""
    plain = _plain_address(value)
    if plain is not None:
        return plain
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise InvalidAddressError(str(error)) from None


def _plain_address(value: str) -> str | None:
    """The normalized address when it is a plain one (see above), else None (undecided)."""
    found = _PLAIN_ADDRESS.fullmatch(value)
    if found is None or len(value) > _MAX_ADDRESS:
        return None
    local, domain = found.group(1), found.group(2).lower()
    if len(local) > _MAX_LOCAL_PART or len(domain) > _MAX_DOMAIN or "--" in domain:
        return None  # lengths in strict mode only, and IDNA's hyphen rules: the library decides
    if any(domain == name or domain.endswith("." + name) for name in SPECIAL_USE_DOMAINS):
        return None
    if local.lower() in ROLE_MAILBOXES:
        local = local.lower()
    return f"{local}@{domain}"


def mailbox_key(address: str) -> str:
    """The mailbox an address delivers to, for comparisons: lower case, plus tag dropped, domain in
    ASCII; "" if it is not an address."""
    local, at, domain = address.strip().lower().rpartition("@")
    if not at or not local or not domain:
        return ""
    return f"{local.partition('+')[0]}@{domain_key(domain)}"


def domain_key(domain: str) -> str:
    domain = domain.strip().rstrip(".").lower()
    try:
        # Internationalised domains compare in their ASCII (punycode) form.
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return domain
