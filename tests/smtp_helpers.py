"""A real SMTP server for tests: aiosmtpd on loopback, on a free port, recording what it accepts."""
from __future__ import annotations

import email
import email.policy
import threading
import time

from aiosmtpd.controller import Controller

from tests.browser_helpers import free_port


class _Handler:
    def __init__(self, sink: SmtpSink):
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.sink.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        with self.sink.lock:
            self.sink.messages.append(msg)
            self.sink.raw.append(envelope.original_content or envelope.content)
            self.sink.accepted_at.append(time.perf_counter())
            self.sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


class SmtpSink:
    """`start()` / `stop()` may be called repeatedly: the server comes back on the same port."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.messages: list = []
        self.raw: list[bytes] = []
        self.envelopes: list = []
        self.accepted_at: list[float] = []
        self.refuse: set[str] = set()
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> SmtpSink:
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
            self.raw.clear()
            self.envelopes.clear()
            self.accepted_at.clear()

    def subjects(self) -> list[str]:
        return [m["Subject"] for m in self.messages]

    def to(self, addr: str) -> list:
        return [m for m in self.messages if m["To"] == addr]

    @staticmethod
    def text(msg) -> str:
        return msg.get_body(preferencelist=("plain",)).get_content()

    @staticmethod
    def html(msg) -> str:
        return msg.get_body(preferencelist=("html",)).get_content()
