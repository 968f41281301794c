"""Logger and metrics shared by every function. Logs carry references and ids, never message
bodies, addresses or secrets."""

import os

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

# The template sets both per stage (service frontdesk-<stage>), so two stages in one account keep
# their metrics, and the alarms watching them, apart.
SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "frontdesk"
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "Frontdesk"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


def count_by(name: str, **dimensions: str) -> None:
    """Count one `name` under its own dimensions (e.g. channel=email), as a separate EMF document:
    the shared `metrics` carries one set of dimensions for everything it flushes."""
    with single_metric(
        name=name,
        unit=MetricUnit.Count,
        value=1,
        namespace=NAMESPACE,
        default_dimensions={"service": SERVICE},
    ) as metric:
        for dimension, value in dimensions.items():
            metric.add_dimension(name=dimension, value=value)
