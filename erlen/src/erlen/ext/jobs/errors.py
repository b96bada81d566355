"""The exceptions of :mod:`erlen.ext.jobs`, under one root, :class:`JobError`."""

from __future__ import annotations

import typing as t


class JobError(Exception):
    """The root of the jobs extension's own errors."""


class JobArgumentError(JobError, TypeError):
    """A job was sent with arguments it can't take, or that can't be serialised.

    Raised by ``job.send(...)``, before anything is enqueued.
    """

    def __init__(self, message: str, *, job: str, argument: str | None, value: t.Any) -> None:
        super().__init__(message)
        #: The job's name.
        self.job = job
        #: The offending parameter's name (``None`` when the arguments don't fit at all).
        self.argument = argument
        #: The offending value.
        self.value = value


class JobCancelled(JobError):
    """Raised inside a job, at a progress point, when someone asked to cancel it.

    The job stops there and is neither retried nor dead-lettered.
    """

    def __init__(self, message_id: str) -> None:
        super().__init__(f"Job {message_id!r} was cancelled.")
        #: The cancelled job's message id.
        self.message_id = message_id
