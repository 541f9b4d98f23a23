"""Loopback HTTP servers for tests: the app itself, or a small stand-in for a remote service,
served from a thread on 127.0.0.1."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from werkzeug.serving import make_server


@contextmanager
def serve(target, port: int = 0) -> Iterator[str]:
    """`target`: a WSGI app (e.g. dash_app.server, served by werkzeug's make_server(..., threaded=True)) or an
    http.server BaseHTTPRequestHandler subclass (served by ThreadingHTTPServer). Yields the base URL
    "http://127.0.0.1:<port>" (port 0 = a free one); shuts the server down, closes it and joins the thread after."""
    if isinstance(target, type) and issubclass(target, BaseHTTPRequestHandler):
        server = ThreadingHTTPServer(("127.0.0.1", port), target)
    else:
        server = make_server("127.0.0.1", port, target, threaded=True)
    # daemon: a test that hangs mid-request must not keep pytest from exiting
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        # close the listening socket too, so a fixed port can be bound again at once; requests are
        # answered in daemon threads, so this does not wait for a handler that is still streaming
        server.server_close()
        thread.join(10)
