"""A client-side deadline on PostgreSQL reads.

The server's ``statement_timeout`` cancels a slow statement, but only a server that still
runs can: a stopped or hung standby, or a network cut, leaves the client waiting for an
answer that never comes (TCP keepalives do not help: the host's kernel still acknowledges).
:func:`watch` arms a deadline on the connection a read holds; when it passes, the socket is
shut down, the driver's blocked read returns with an error, the pool discards the connection,
and :attr:`Watch.expired` tells the caller to say so in French.

One thread serves every deadline of the process (a heap of expiries), not one timer thread
per statement.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger("relog.replica")


class _Watchdog:
    """Calls each armed callback once its expiry passes, unless disarmed before."""

    def __init__(self):
        self._heap: list[tuple[float, int]] = []
        self._callbacks: dict[int, Callable[[], None]] = {}
        self._ids = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float, callback: Callable[[], None]) -> int:
        token = next(self._ids)
        with self._wake:
            self._callbacks[token] = callback
            heapq.heappush(self._heap, (time.monotonic() + seconds, token))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="relog-deadlines", daemon=True
                )
                self._thread.start()
            self._wake.notify()
        return token

    def disarm(self, token: int) -> None:
        with self._wake:
            self._callbacks.pop(token, None)

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._heap and self._heap[0][1] not in self._callbacks:
                    heapq.heappop(self._heap)  # disarmed
                if not self._heap:
                    self._wake.wait()
                    continue
                expiry, token = self._heap[0]
                delay = expiry - time.monotonic()
                if delay > 0:
                    self._wake.wait(delay)
                    continue
                heapq.heappop(self._heap)
                callback = self._callbacks.pop(token, None)
            if callback is not None:
                try:
                    callback()
                except Exception:  # never let one callback stop the others' deadlines
                    log.exception("deadline callback failed")


_WATCHDOG = _Watchdog()


class Watch:
    """The deadline of one read: :attr:`expired` once its connection was cut."""

    __slots__ = ("done", "expired", "lock", "seconds")

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expired = self.done = False
        self.lock = threading.Lock()  # the cut and the end of the block never cross


def shut_down(dbapi_connection) -> None:
    """Shut the TCP (or Unix) socket of a psycopg connection down, from any thread: the
    thread blocked reading it gets an error at once. The connection is unusable afterwards
    (the pool discards it)."""
    fd = dbapi_connection.pgconn.socket
    with socket.socket(fileno=os.dup(fd)) as sock:  # a duplicate: closing it leaves libpq's
        sock.shutdown(socket.SHUT_RDWR)  # shutdown acts on the socket itself, not the fd


@contextmanager
def watch(dbapi_connection, seconds: float) -> Iterator[Watch]:
    """Within the block, ``dbapi_connection`` (psycopg) is cut if the block has not ended
    after ``seconds``."""
    state = Watch(seconds)

    def expire() -> None:
        with state.lock:
            if state.done:  # the read ended meanwhile: its connection may serve another
                return
            state.expired = True
            log.warning("replica read unanswered after %g s: connection cut", seconds)
            try:
                shut_down(dbapi_connection)
            except OSError:  # already closed
                pass

    token = _WATCHDOG.arm(seconds, expire)
    try:
        yield state
    finally:
        with state.lock:
            state.done = True
        _WATCHDOG.disarm(token)
