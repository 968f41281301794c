"""Intake: every channel normalises what arrives to an InboundMessage and calls `accept`."""

from frontdesk.intake.accept import Accepted, IdempotencyKeyReusedError, accept, append
from frontdesk.intake.message import InboundMessage

__all__ = ["Accepted", "IdempotencyKeyReusedError", "InboundMessage", "accept", "append"]
