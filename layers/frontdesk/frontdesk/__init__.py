"""Frontdesk: the shared library every Frontdesk Lambda function imports."""
