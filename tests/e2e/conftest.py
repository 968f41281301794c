"""The local stack, started as a user starts it (`frontdesk dev`), spoken to over HTTP."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from frontdesk.config import read_config_file
from frontdesk_tools.local.stack import DEFAULT_CONFIG, free_port
from tests.conftest import CLOSED_INSTANT, OPEN_INSTANT

READY_TIMEOUT = 120
# The bearer token the stacks' agent API accepts (where AWS would check an agent's JWT).
AGENT_TOKEN = "e2e-agent-token"


@dataclass
class RunningStack:
    url: str
    smtp_port: int
    process: subprocess.Popen[str]
    clock_start: datetime
    output: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.time)  # real time when its clock read clock_start

    def now(self) -> datetime:
        """What the stack's clock reads now (to within the second it took to start)."""
        return self.clock_start + timedelta(seconds=time.time() - self.started)

    @property
    def aws_endpoint(self) -> str:
        """moto's address, as the ready line prints it."""
        (line,) = [line for line in self.output if "ready" in line]
        return line.rsplit("AWS (moto): ", 1)[1].strip()

    def outbox(self) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/_local/outbox")
        response.raise_for_status()
        return list(response.json())

    def wait_for_emails(self, predicate: Any, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        """Emails matching `predicate`, once there are `count` of them (or the timeout passes)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [email for email in self.outbox() if predicate(email)]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.2)


def _follow(stream: Any, lines: list[str], ready: threading.Event) -> None:
    for line in stream:
        lines.append(line)
        if "ready" in line:
            ready.set()


@contextmanager
def running_stack(clock: datetime, settings: dict[str, Any] | None = None) -> Iterator[RunningStack]:
    """`frontdesk dev` on free ports, its clock started at `clock`; `settings` replace sections of
    the default configuration (written to a file passed with --config, as a user would)."""
    port = free_port("127.0.0.1")
    smtp_port = free_port("127.0.0.1")
    command = [
        sys.executable,
        "-m",
        "frontdesk_tools.cli",
        "dev",
        "--http-port",
        str(port),
        "--smtp-port",
        str(smtp_port),
        "--clock",
        clock.isoformat(),
        "--agent-token",
        AGENT_TOKEN,
    ]
    config_dir = tempfile.TemporaryDirectory(prefix="frontdesk-e2e-")
    if settings:
        config = Path(config_dir.name) / "config.json"
        config.write_text(json.dumps({**read_config_file(DEFAULT_CONFIG), **settings}), encoding="utf-8")
        command += ["--config", str(config)]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(["tools", "layers/frontdesk"])},
    )
    stack = RunningStack(f"http://127.0.0.1:{port}", smtp_port, process, clock)
    ready = threading.Event()
    threading.Thread(target=_follow, args=(process.stdout, stack.output, ready), daemon=True).start()
    if not ready.wait(READY_TIMEOUT):
        process.kill()
        pytest.fail("local stack did not get ready:\n" + "".join(stack.output[-50:]))
    yield stack
    process.send_signal(signal.SIGTERM)
    try:
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail("local stack did not stop within 30 s of SIGTERM:\n" + "".join(stack.output[-30:]))
        assert code == 0, "".join(stack.output[-30:])
    finally:
        if process.poll() is None:
            process.kill()
        config_dir.cleanup()


# Surveys go out this long after a resolution on survey_stack() (a minute by default).
SURVEY_DELAY_SECONDS = 4


@contextmanager
def survey_stack() -> Iterator[RunningStack]:
    """A stack whose surveys go out seconds, not a minute, after a resolution (NPS asked too)."""
    settings = {
        "surveys": {
            "enabled": True,
            "signing_keys": ["e2e-survey-signing-key-0123456789abcdef0123"],
            "delay": f"{SURVEY_DELAY_SECONDS}s",
            "nps": True,
        }
    }
    with running_stack(OPEN_INSTANT, settings) as running:
        yield running


@pytest.fixture(scope="session")
def local_stack() -> Iterator[RunningStack]:
    """The stack most tests share, its clock in office hours so promises are predictable."""
    with running_stack(OPEN_INSTANT) as stack:
        yield stack


@pytest.fixture(scope="module")
def closed_stack() -> Iterator[RunningStack]:
    """A second stack whose clock starts on a Saturday night, when the desk is closed."""
    with running_stack(CLOSED_INSTANT) as stack:
        yield stack


@pytest.fixture
def http(local_stack: RunningStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=local_stack.url, timeout=30, follow_redirects=False) as client:
        yield client


# -- a browser: Playwright driving Debian's Chromium ------------------------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps calling home, which this network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    opened = context.new_page()
    errors: list[Any] = []
    opened.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    # A CSP violation, a script error or a failed request shows up here. A page answering with a
    # 4xx status the test provoked (an invalid post, a second answer) is logged too, and expected.
    unexpected = [error for error in errors if "server responded with a status of 4" not in error]
    assert unexpected == [], f"the page logged errors: {unexpected}"
