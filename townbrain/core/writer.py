"""Writing while checking: one thread that runs an import's writes on the import's own connection
(so inside its one transaction) while the importing thread checks the next piece of the file.

Python runs one thread at a time, but a thread waiting for the database lets the other run: the
server writes piece n while Python checks piece n+1, instead of one waiting for the other (an import
of 100,000 rows spends about as long in the server as in Python). At most one write runs at a time,
in the order submitted. The importing thread must not use the connection meanwhile; if it does, the
driver's lock makes it wait for the statement under way (psycopg serialises a connection's users),
so a mistake costs time, never the data.

The write runs in a copy of the submitting thread's context (contextvars: the import being audited,
the request's origin, the roll-up bulk mode). An error in a write is raised by the next wait(),
submit() or the end of the block, which always waits: the transaction must not end under a write.

A thread waiting for the server gets Python back only when the running thread hands it over, by
default after 5 ms: a write sends hundreds of chunks, each a wait, and would spend seconds queueing
behind the checking thread (the convoy effect). While a write runs the hand-over comes every
SWITCH_INTERVAL instead.

SQLite binds a connection to its thread and takes one writer at a time: there the writes run at
once, in the caller's thread.
"""

import contextvars
import sys
import threading

from django.db import DEFAULT_DB_ALIAS, connections

SWITCH_INTERVAL = 0.0002  # seconds


class BackgroundWriter:
    def __init__(self, alias: str = DEFAULT_DB_ALIAS):
        self.alias = alias
        self.connection = connections[alias]
        self.inline = self.connection.vendor != "postgresql"
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            self.wait()
        except BaseException:
            if exc is None:
                raise  # the block went well but its last write failed: that is the error to report

    def submit(self, write) -> None:
        """Run `write()` once the previous write is done: in the background (PostgreSQL) or now."""
        self.wait()
        if self.inline:
            self._run_here(write)
            return
        context = contextvars.copy_context()
        self.connection.inc_thread_sharing()
        self._interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._interval, SWITCH_INTERVAL))
        self._thread = threading.Thread(target=self._run, args=(context, write), name="townbrain-writer",
                                        daemon=True)
        self._thread.start()

    def _run(self, context, write) -> None:
        connections[self.alias] = self.connection  # this thread's "connection" is the importing thread's
        try:
            context.run(self._run_here, write)
        finally:
            del connections[self.alias]

    def _run_here(self, write) -> None:
        try:
            write()
        except BaseException as exc:  # raised to the submitter by wait(), as from a thread
            self._error = exc

    def wait(self) -> None:
        """Wait for the write under way, if any; raise its error."""
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
            sys.setswitchinterval(self._interval)
            self.connection.dec_thread_sharing()
        error, self._error = self._error, None
        if error is not None:
            raise error
