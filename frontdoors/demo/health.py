"""A local health endpoint whose answer can be switched: the demo's (and tests') ``service.health_url``."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class HealthEndpoint:
    """``with HealthEndpoint() as health: ... health.url ... health.status = 503``

    Answers every GET with ``status`` (200 until changed) and counts the probes it saw.
    """

    def __init__(self, status: int = 200):
        self.status, self.probes = status, 0
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                endpoint.probes += 1
                body = b'{"status": "ok"}' if endpoint.status < 300 else b'{"status": "failing"}'
                self.send_response(endpoint.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/healthz"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "HealthEndpoint":
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
