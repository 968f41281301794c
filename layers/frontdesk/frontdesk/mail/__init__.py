"""Email: reading inbound mail (MIME, replies, machine mail) and the addresses Frontdesk issues."""
