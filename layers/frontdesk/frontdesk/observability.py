"""Logger and metrics shared by every function. Logs carry references and ids, never message
bodies, addresses or secrets."""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

logger = Logger(service="frontdesk")
metrics = Metrics(namespace="Frontdesk", service="frontdesk")


def count_by(name: str, **dimensions: str) -> None:
    """Count one `name` under its own dimensions (e.g. channel=email), as a separate EMF document:
    the shared `metrics` carries one set of dimensions for everything it flushes."""
    with single_metric(
        name=name,
        unit=MetricUnit.Count,
        value=1,
        namespace=metrics.namespace,
        default_dimensions={"service": "frontdesk"},
    ) as metric:
        for dimension, value in dimensions.items():
            metric.add_dimension(name=dimension, value=value)
