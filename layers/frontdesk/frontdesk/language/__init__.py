"""Which language a customer writes in, and which language Frontdesk answers in."""
