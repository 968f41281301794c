"""Logger and metrics shared by every function. Logs carry references and ids, never message
bodies, addresses or secrets."""

from aws_lambda_powertools import Logger, Metrics

logger = Logger(service="frontdesk")
metrics = Metrics(namespace="Frontdesk", service="frontdesk")
