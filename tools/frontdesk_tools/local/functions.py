"""Running the template's functions locally: a small pool of worker processes per function."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from frontdesk_tools.local.template import FunctionSpec


class FunctionError(Exception):
    """The handler raised; Lambda would report a function error."""


class FunctionTimeoutError(Exception):
    """The handler ran past the function's timeout."""


@dataclass
class _Worker:
    process: subprocess.Popen[str]
    replies: queue.Queue[dict[str, Any] | None]


def _read_replies(stream: IO[str], replies: queue.Queue[dict[str, Any] | None]) -> None:
    for line in stream:
        replies.put(json.loads(line))
    replies.put(None)  # the worker died


class LocalFunction:
    """One function of the template, answered by up to `pool_size` worker processes."""

    def __init__(
        self, spec: FunctionSpec, name: str, environment: dict[str, str], pool_size: int = 2
    ) -> None:
        self.spec = spec
        self.name = name
        self._environment = environment
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._pool_size = pool_size
        self._lock = threading.Lock()
        self._workers: list[_Worker] = []

    def start(self) -> list[_Worker]:
        """Start the pool's processes; they import the handler (the cold start) in parallel."""
        return [self._spawn() for _ in range(self._pool_size)]

    def wait_ready(self, workers: list[_Worker], timeout: float = 120.0) -> None:
        for worker in workers:
            self._await_ready(worker, timeout)
            self._idle.put(worker)

    def _await_ready(self, worker: _Worker, timeout: float) -> None:
        try:
            reply = worker.replies.get(timeout=timeout)
        except queue.Empty:
            reply = None
        if not reply or not reply.get("ready"):
            raise RuntimeError(f"{self.spec.logical_id} failed to start (see the log above)")

    def _spawn(self) -> _Worker:
        command = [
            sys.executable,
            "-m",
            "frontdesk_tools.local.worker",
            str(self.spec.code_dir),
            self.spec.handler,
            self.name,
            str(self.spec.timeout),
            "256",
        ]
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=self._environment,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        assert process.stdout is not None
        replies: queue.Queue[dict[str, Any] | None] = queue.Queue()
        threading.Thread(target=_read_replies, args=(process.stdout, replies), daemon=True).start()
        worker = _Worker(process, replies)
        with self._lock:
            self._workers.append(worker)
        return worker

    def invoke(self, event: dict[str, Any]) -> Any:
        """Invoke synchronously, as API Gateway or an event source mapping would."""
        worker = self._idle.get()
        healthy = True
        try:
            assert worker.process.stdin is not None
            worker.process.stdin.write(json.dumps({"event": event}) + "\n")
            worker.process.stdin.flush()
            try:
                reply = worker.replies.get(timeout=self.spec.timeout)
            except queue.Empty:
                healthy = False
                raise FunctionTimeoutError(
                    f"{self.spec.logical_id} timed out after {self.spec.timeout}s"
                ) from None
            if reply is None:
                healthy = False
                raise FunctionError(f"{self.spec.logical_id} exited")
            if "error" in reply:
                raise FunctionError(f"{reply['error']['type']}: {reply['error']['message']}")
            return reply["result"]
        finally:
            if healthy:
                self._idle.put(worker)
            else:
                self._replace(worker)

    def _replace(self, worker: _Worker) -> None:
        worker.process.kill()
        with self._lock:
            self._workers.remove(worker)
        replacement = self._spawn()
        self._await_ready(replacement, 120.0)
        self._idle.put(replacement)

    def stop(self) -> None:
        with self._lock:
            workers = list(self._workers)
        for worker in workers:
            if worker.process.stdin:
                worker.process.stdin.close()
        for worker in workers:
            try:
                worker.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                worker.process.kill()


def worker_environment(
    base: dict[str, str], function_environment: dict[str, str], python_path: list[Path], opt_dir: Path
) -> dict[str, str]:
    """The environment a worker runs in: the function's own variables (layers' /opt mapped to
    the local folder that stands in for it) on top of the local AWS settings."""
    environment = dict(base)
    for name, value in function_environment.items():
        if value == "/opt" or value.startswith("/opt/"):
            value = str(opt_dir) + value[len("/opt") :]
        environment[name] = value
    environment["PYTHONPATH"] = os.pathsep.join(str(path) for path in python_path)
    return environment
