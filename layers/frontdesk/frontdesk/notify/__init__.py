"""Notifications: the email Frontdesk sends and the effects that send it."""
