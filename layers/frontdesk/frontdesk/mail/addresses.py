"""Comparing email addresses the way mail is delivered."""


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
