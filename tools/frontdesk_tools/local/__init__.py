"""The local stack: Frontdesk on one machine, with moto standing in for AWS."""
