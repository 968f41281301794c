"""EventBridge Scheduler, played locally: one-time schedules fire by the stack's clock.

moto stores schedules but never runs them. This pump reads the schedules in moto, and when an
`at(...)` time has come by the local clock (which `frontdesk dev --clock` may have moved), it
invokes the target function with the schedule's input, then deletes the schedule as
ActionAfterCompletion=DELETE does. Lambda's asynchronous retries and on-failure queue apply to
the invocation, as the template declares them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from frontdesk import clock
from frontdesk_tools.local.functions import FunctionError, FunctionTimeoutError, LocalFunction
from frontdesk_tools.local.template import AsyncInvokeConfig

log = logging.getLogger("frontdesk.local.scheduler")


def due_at(expression: str) -> datetime | None:
    """The instant of a one-time `at(yyyy-mm-ddThh:mm:ss)` expression (UTC), else None."""
    if not (expression.startswith("at(") and expression.endswith(")")):
        return None  # rate() and cron() schedules: Frontdesk creates none
    return datetime.fromisoformat(expression[3:-1]).replace(tzinfo=UTC)


class SchedulePump:
    def __init__(
        self,
        client: Any,
        functions_by_name: dict[str, LocalFunction],
        invoke_configs: dict[str, AsyncInvokeConfig],
        sqs_client: Any,
        physical_ids: dict[str, str],
        poll_seconds: float = 0.25,
    ) -> None:
        self._client = client
        self._functions = functions_by_name  # physical function name -> its local function
        self._invoke_configs = invoke_configs  # function logical id -> retries, failure queue
        self._sqs = sqs_client
        self._physical_ids = physical_ids
        self._poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def schedules(self) -> list[dict[str, Any]]:
        """Every schedule waiting to fire (for /_local/schedules)."""
        found = []
        for group in self._client.list_schedule_groups()["ScheduleGroups"]:
            for summary in self._client.list_schedules(GroupName=group["Name"])["Schedules"]:
                schedule = self._client.get_schedule(GroupName=group["Name"], Name=summary["Name"])
                found.append(
                    {
                        "group": group["Name"],
                        "name": schedule["Name"],
                        "expression": schedule["ScheduleExpression"],
                        "target": schedule["Target"]["Arn"],
                        "input": json.loads(schedule["Target"].get("Input") or "null"),
                    }
                )
        return found

    def _run(self) -> None:
        while not self._stop.wait(self._poll_seconds):
            try:
                self.fire_due(clock.now())
            except Exception:  # a broken poll must not stop the pump
                log.exception("schedule poll failed")

    def fire_due(self, now: datetime) -> int:
        """Fire the schedules whose time has come; how many fired."""
        fired = 0
        for schedule in self.schedules():
            when = due_at(schedule["expression"])
            if when is None or when > now:
                continue
            self._invoke(schedule["target"], schedule["input"])
            with contextlib.suppress(ClientError):  # deleted meanwhile (the ticket was reopened)
                self._client.delete_schedule(GroupName=schedule["group"], Name=schedule["name"])
            fired += 1
        return fired

    def _invoke(self, target_arn: str, payload: Any) -> None:
        name = target_arn.rpartition(":")[2]
        function = self._functions.get(name)
        if function is None:
            log.warning("schedule targets %s, which the template does not declare", target_arn)
            return
        config = self._invoke_configs.get(function.spec.logical_id, AsyncInvokeConfig())
        error: Exception | None = None
        for _ in range(1 + config.maximum_retry_attempts):
            try:
                function.invoke(payload)
                return
            except (FunctionError, FunctionTimeoutError) as failure:
                error = failure
                log.warning("%s failed: %s", function.spec.logical_id, failure)
        if config.on_failure_queue:
            record = {
                "version": "1.0",
                "requestContext": {"condition": "RetriesExhausted", "functionArn": target_arn},
                "responseContext": {"functionError": "Unhandled"},
                "requestPayload": payload,
                "responsePayload": {"errorMessage": str(error)},
            }
            self._sqs.send_message(
                QueueUrl=self._physical_ids[config.on_failure_queue], MessageBody=json.dumps(record)
            )
