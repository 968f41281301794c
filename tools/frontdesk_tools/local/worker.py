"""One function's sandbox: a process that imports the handler and answers invocations.

Started by the local stack with the function's own environment (as the template resolves it),
it reads one JSON invocation per line on stdin and writes one JSON result per line. The
handler's own stdout (Powertools logs, metrics) goes to stderr, so it cannot corrupt the protocol.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
import traceback
import uuid
from pathlib import Path
from typing import Any


class LocalLambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    def __init__(self, function_name: str, timeout_seconds: int, memory_mb: int, request_id: str) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        region = os.environ.get("AWS_REGION", "us-east-1")
        self.invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:{function_name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _load_handler(code_dir: Path, handler: str) -> Any:
    module_name, _, function_name = handler.rpartition(".")
    sys.path.insert(0, str(code_dir))  # like /var/task
    spec = importlib.util.spec_from_file_location(module_name, code_dir / f"{module_name}.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {handler} from {code_dir}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return getattr(module, function_name)


def main() -> None:
    code_dir, handler_name, function_name, timeout, memory = sys.argv[1:6]
    protocol = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    handler = _load_handler(Path(code_dir), handler_name)
    protocol.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        invocation = json.loads(line)
        context = LocalLambdaContext(function_name, int(timeout), int(memory), str(uuid.uuid4()))
        try:
            reply: dict[str, Any] = {"result": handler(invocation["event"], context)}
        except Exception as error:  # the local stack reports it as Lambda would: a function error
            traceback.print_exc()
            reply = {"error": {"type": type(error).__name__, "message": str(error)}}
        protocol.write(json.dumps(reply, default=str) + "\n")


if __name__ == "__main__":
    main()
