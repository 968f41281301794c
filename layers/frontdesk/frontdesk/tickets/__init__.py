"""Tickets: what a ticket is, how it is referenced and where it is stored."""
