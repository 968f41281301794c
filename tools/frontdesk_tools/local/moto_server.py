"""moto's server, one request at a time.

moto's backends are not safe under concurrent requests: a cancelled TransactWriteItems restores
a copy of the table taken before it began, erasing whatever another request committed
meanwhile, and leaves stream iterators pointing at the discarded copy. DynamoDB itself is
serialisable per item, so running requests one at a time is faithful, and keeps concurrency
tests about Frontdesk rather than about the emulator.

Three more gaps are closed here. moto records every model object it ever creates (for its
dashboard), so the copy of the table each TransactWriteItems takes would live for the whole
session: gigabytes in a test run, and a local stack that grows for as long as it runs. DynamoDB's
models are not recorded here. DynamoDB makes a TransactWriteItems with a ClientRequestToken
idempotent for ten minutes (botocore sends one token for a call and all its retries, so a retry
after a lost answer succeeds); moto applies it again, and its conditions then fail. And moto keeps
every stream iterator it ever handed out, each pinning the table object it was made for, so a
long session holds a copy of the table per cancelled transaction: `forget_stream_history` drops
what no reader needs any more.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
import time
from collections.abc import Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

_STREAMS_TARGET = "DynamoDBStreams_"
_TRANSACT_WRITE_TARGET = "DynamoDB_20120810.TransactWriteItems"
_TOKEN_WINDOW_SECONDS = 600.0  # DynamoDB's idempotency window for a ClientRequestToken


class SerialMotoServer:
    def __init__(self, host: str, port: int) -> None:
        # Held for each request, and by the local stream reader around its iterator-and-read pair
        # (stream requests do not take it themselves, so the reader can hold it across two calls).
        self.lock = threading.Lock()
        self._app = DomainDispatcherApplication(create_backend_app)
        self._server: BaseWSGIServer = make_server(
            host, port, self._serialised, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        _stop_recording_table_copies()
        # ClientRequestToken -> (when, digest of the request, the answer: status, headers, body)
        self._transactions: dict[str, tuple[float, str, tuple[str, list[Any], bytes]]] = {}

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def _serialised(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith(_STREAMS_TARGET):
            return self._app(environ, start_response)  # type: ignore[no-any-return]
        with self.lock:
            if environ.get("HTTP_X_AMZ_TARGET") == _TRANSACT_WRITE_TARGET:
                return self._transact_write_items(environ, start_response)
            return list(self._app(environ, start_response))

    def _transact_write_items(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """A TransactWriteItems, answered from the first success when its token was seen (as
        DynamoDB does within ten minutes); the same token with other items is refused."""
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            token = json.loads(body).get("ClientRequestToken")
        except (ValueError, AttributeError):
            token = None
        now = time.monotonic()
        self._transactions = {
            key: value for key, value in self._transactions.items() if now - value[0] < _TOKEN_WINDOW_SECONDS
        }
        digest = hashlib.sha256(body).hexdigest()
        seen = self._transactions.get(token) if isinstance(token, str) else None
        if seen is not None:
            if seen[1] != digest:
                error = json.dumps(
                    {
                        "__type": "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
                        "message": "The client token was used by a different request.",
                    }
                ).encode()
                start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.0")])
                return [error]
            status, headers, answer = seen[2]
            start_response(status, headers)
            return [answer]
        answered: list[Any] = []

        def remember(status: str, headers: list[Any], *args: Any) -> Any:
            answered[:] = [status, list(headers)]
            return start_response(status, headers, *args)

        chunks = list(self._app(environ, remember))
        if isinstance(token, str) and answered and answered[0].startswith("200"):
            self._transactions[token] = (now, digest, (answered[0], answered[1], b"".join(chunks)))
        return chunks

    def forget_stream_history(self, region: str) -> None:
        """Drop the tables' stream records and every stream iterator handed out so far (sequence
        numbers keep rising). For a point where no reader is running and none will read what came
        before: each record pins a table copy, as does each iterator moto keeps."""
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends
        from moto.dynamodbstreams.models import dynamodbstreams_backends

        with self.lock:
            for table in dynamodb_backends[DEFAULT_ACCOUNT_ID][region].tables.values():
                shard = table.stream_shard
                if shard is not None and shard.items:
                    shard.starting_sequence_number += len(shard.items)
                    shard.items = []
            dynamodbstreams_backends[DEFAULT_ACCOUNT_ID][region].shard_iterators.clear()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _Unrecorded(list[Any]):
    """An instance list that keeps nothing."""

    def append(self, _: Any) -> None:
        return None


def _stop_recording_table_copies() -> None:
    import moto.dynamodb.models  # noqa: F401 (defines the models the registry lists)
    from moto.core.model_instances import model_data

    for model in model_data["dynamodb"].values():
        model.instances_tracked = _Unrecorded()  # type: ignore[attr-defined]
