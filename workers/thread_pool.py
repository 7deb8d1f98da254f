"""The worker's pool where runs' processes can be told apart by cgroup: Celery's threads
pool, one thread per slot in the worker's own process.

A slot supervises a process (or a container): that is waiting on I/O, and a thread does it
for the memory of its stack, where a prefork slot is a whole interpreter. Two things are
added to Celery's pool:
- a wake-up: the worker's event loop asks the broker for the next message only when a slot
  is free, and checks that when it wakes, up to a second later; a thread that finishes a
  task wakes it at once, over a pipe the loop watches;
- a cold shutdown kills every run's processes, so that the threads (which cannot be killed)
  finish their tasks, reporting their runs crashed, and the worker can exit.
"""
from __future__ import annotations

import contextlib
import os

from celery.concurrency.thread import TaskPool

from . import process_tree


class WakingThreadPool(TaskPool):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        process_tree.shared = True

    def register_with_event_loop(self, hub) -> None:
        hub.add_reader(self._wake_read, self._drain)

    def on_apply(self, target, args=None, kwargs=None, callback=None, accept_callback=None,
                 **options):
        def finished(*result):
            try:
                if callback is not None:
                    callback(*result)  # the slot is free from here on
            finally:
                self._wake()
        return super().on_apply(target, args, kwargs, finished, accept_callback, **options)

    def on_terminate(self) -> None:
        process_tree.kill_every_run()
        super().on_terminate()

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):  # a wake-up is pending already
            os.write(self._wake_write, b"!")

    def _drain(self) -> None:
        with contextlib.suppress(BlockingIOError):
            os.read(self._wake_read, 4096)
