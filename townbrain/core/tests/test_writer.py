"""The background writer (core/writer.py): a write submitted runs on the submitting thread's connection,
inside its transaction, in a copy of its context; its error comes back to the submitter; the block
always waits for it. On PostgreSQL it runs in another thread, on SQLite at once."""

import contextvars
import threading

import pytest
from django.contrib.auth.models import Group
from django.db import connection, transaction

from townbrain.core.writer import BackgroundWriter

pytestmark = pytest.mark.django_db
mark = contextvars.ContextVar("test_writer_mark", default=None)


def test_a_write_runs_in_the_submitters_transaction_and_context():
    seen = {}

    def write():
        seen["thread"] = threading.current_thread()
        seen["mark"] = mark.get()
        Group.objects.create(name="written in the background")

    token = mark.set("the import's")
    try:
        with transaction.atomic():
            with BackgroundWriter() as writer:
                writer.submit(write)
                writer.wait()
                # Written on this thread's connection, in its transaction: seen before the commit.
                assert Group.objects.filter(name="written in the background").exists()
            transaction.set_rollback(True)
    finally:
        mark.reset(token)
    assert seen["mark"] == "the import's"
    assert (seen["thread"] is threading.current_thread()) == (connection.vendor != "postgresql")
    assert not Group.objects.filter(name="written in the background").exists()  # rolled back with it


def test_writes_run_one_after_another_in_order():
    order = []
    with BackgroundWriter() as writer:
        for n in range(5):
            writer.submit(lambda n=n: order.append(n))
    assert order == [0, 1, 2, 3, 4]  # the block waited for the last one


def test_the_error_of_a_write_is_raised_to_the_submitter():
    def failing():
        raise ValueError("the piece could not be written")

    writer = BackgroundWriter()
    writer.submit(failing)
    with pytest.raises(ValueError, match="could not be written"):
        writer.wait()
    writer.wait()  # raised once: the writer can go on

    with pytest.raises(ValueError, match="could not be written"), BackgroundWriter() as writer:
        writer.submit(failing)  # raised at the end of the block, which waits for it


def test_an_error_in_the_block_is_not_hidden_by_a_waiting_write():
    finished = []
    with pytest.raises(KeyError), BackgroundWriter() as writer:
        writer.submit(lambda: finished.append(True))
        raise KeyError("the check failed")
    assert finished == [True]  # the block still waited for the write before the error went on
