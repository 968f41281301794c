"""moto's server, one request at a time.

moto's backends are not safe under concurrent requests: a cancelled TransactWriteItems restores
a copy of the table taken before it began, erasing whatever another request committed
meanwhile, and leaves stream iterators pointing at the discarded copy. DynamoDB itself is
serialisable per item, so running requests one at a time is faithful, and keeps concurrency
tests about Frontdesk rather than about the emulator.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

_STREAMS_TARGET = "DynamoDBStreams_"


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

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def _serialised(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith(_STREAMS_TARGET):
            return self._app(environ, start_response)  # type: ignore[no-any-return]
        with self.lock:
            return list(self._app(environ, start_response))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
