"""The ``erlen jobs`` command group: see and act on jobs that failed for good."""

from __future__ import annotations

import json
import typing as t

import click

from erlen.cli import AppGroup
from erlen.globals import get_app

from . import deadletters

if t.TYPE_CHECKING:  # pragma: no cover
    from .extension import JobsState


def _state() -> JobsState:
    # AppGroup runs every command inside the app's context.
    from .extension import JobsState

    state = get_app("Jobs").extensions.get("jobs")
    if not isinstance(state, JobsState):
        raise click.ClickException("This app has no jobs: call 'jobs.init_app(app)'.")
    return state


def _short(value: t.Any, width: int) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=repr)
    return text if len(text) <= width else text[: width - 1] + "…"


@click.group(cls=AppGroup)
def jobs_group() -> None:
    """See, retry and purge jobs that failed after their last retry (dead letters)."""


@jobs_group.command("failed")
@click.option("--queue", "queue_name", default=None, help="Only this queue (default: all).")
@click.option("--limit", default=100, show_default=True, help="At most this many.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line, with tracebacks.")
def failed_command(queue_name: str | None, limit: int, as_json: bool) -> None:
    """List dead-lettered jobs, most recent first."""
    letters = deadletters.list_failed(_state(), queue_name, limit=limit)
    if as_json:
        for letter in letters:
            click.echo(json.dumps(letter.to_dict(), default=repr))
        return
    if not letters:
        click.echo("No failed jobs.")
        return
    click.echo(f"{'ID':36}  {'WHEN (UTC)':19}  {'RETRIES':7}  {'JOB':20}  ARGS / ERROR")
    for letter in letters:
        when = letter.failed_at.strftime("%Y-%m-%d %H:%M:%S") if letter.failed_at else "?"
        args: t.Any = list(letter.args)
        if letter.kwargs:
            args = {"args": args, "kwargs": letter.kwargs}
        click.echo(
            f"{letter.id:36}  {when:19}  {letter.retries:7}  {_short(letter.actor_name, 20):20}"
            f"  {_short(args, 40)}"
        )
        click.echo(f"{'':36}  {_short(letter.error or '(no traceback)', 100)}")
    click.echo(f"{len(letters)} failed job(s).")


@jobs_group.command("retry")
@click.argument("id", required=False)
@click.option("--all", "retry_all", is_flag=True, help="Retry every failed job.")
@click.option("--queue", "queue_name", default=None, help="With --all: only this queue.")
def retry_command(id: str | None, retry_all: bool, queue_name: str | None) -> None:
    """Send failed jobs again, each with a fresh retry budget: ID, or --all."""
    if (id is None) == (not retry_all):
        raise click.UsageError("Give a failed job's ID, or --all (not both).")
    state = _state()
    if retry_all:
        count = deadletters.retry_all(state, queue_name)
        click.echo(f"Retried {count} job(s).")
        return
    assert id is not None
    letter = deadletters.find_failed(state, id)
    if letter is None or not deadletters.requeue_dead_letter(state, letter):
        raise click.ClickException(f"No failed job with id {id!r}.")
    click.echo(f"Retried {letter.actor_name} ({letter.id}).")


@jobs_group.command("purge")
@click.option("--queue", "queue_name", default=None, help="Only this queue (default: all).")
@click.option("--yes", is_flag=True, help="Don't ask for confirmation.")
def purge_command(queue_name: str | None, yes: bool) -> None:
    """Delete failed jobs for good."""
    where = f"queue {queue_name!r}" if queue_name else "every queue"
    if not yes:
        click.confirm(f"Delete the failed jobs of {where}?", abort=True)
    count = deadletters.purge_failed(_state(), queue_name)
    click.echo(f"Deleted {count} failed job(s).")
