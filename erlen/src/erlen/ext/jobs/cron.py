"""A small cron expression parser: when is the next run after a given time?

Written here rather than taken from ``croniter`` (which also brings ``python-dateutil``):
the scheduler needs one thing, the next matching time in UTC, for the standard syntax.

Five fields, ``minute hour day-of-month month day-of-week``, or six with a leading
``second`` field. Each field is ``*``, a number, a range ``a-b``, a step ``*/n``, ``a-b/n``
or ``a/n``, or a comma-separated list of those. Months and weekdays take English
three-letter names (``jan``, ``mon``); day-of-week 0 and 7 are Sunday. As in Vixie cron,
when both day-of-month and day-of-week are restricted, a day matching either one is a run
day. ``@yearly``, ``@monthly``, ``@weekly``, ``@daily``, ``@hourly`` are the usual aliases.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from datetime import UTC

_ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTHS = {
    name: number
    for number, name in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}
_DAYS = {
    name: number for number, name in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])
}
# (name, lowest, highest, names)
_FIELDS = [
    ("second", 0, 59, {}),
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
]


class CronError(ValueError):
    """A cron expression that can't be parsed."""

    def __init__(self, expression: str, reason: str) -> None:
        super().__init__(f"Invalid cron expression {expression!r}: {reason}")
        #: The offending expression.
        self.expression = expression


class Cron:
    """A parsed cron expression; :meth:`next_after` gives the next run time."""

    def __init__(self, expression: str) -> None:
        self.expression = expression
        text = _ALIASES.get(expression.strip().lower(), expression)
        parts = text.split()
        if len(parts) == 5:
            parts = ["0", *parts]
        elif len(parts) != 6:
            raise CronError(expression, f"expected 5 or 6 fields, got {len(parts)}.")
        sets = [
            _parse_field(expression, part, *spec) for part, spec in zip(parts, _FIELDS, strict=True)
        ]
        self.seconds, self.minutes, self.hours, self.days, self.months, weekdays = sets
        if 7 in weekdays:
            weekdays = (weekdays - {7}) | {0}
        self.weekdays = weekdays
        self._any_day = parts[3] == "*"
        self._any_weekday = parts[5] == "*"

    def __repr__(self) -> str:
        return f"Cron({self.expression!r})"

    def _day_matches(self, day: datetime) -> bool:
        in_month = day.day in self.days
        # Python: Monday is 0; cron: Sunday is 0.
        in_week = (day.weekday() + 1) % 7 in self.weekdays
        if self._any_day or self._any_weekday:
            return in_month and in_week
        return in_month or in_week

    def next_after(self, moment: datetime) -> datetime:
        """The first run time strictly after ``moment`` (naive times are taken as UTC)."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        t = moment.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=1)
        # Each step jumps to the start of the next candidate unit; a few hundred at most.
        for _ in range(100_000):
            if t.month not in self.months:
                year, month = (t.year + 1, 1) if t.month == 12 else (t.year, t.month + 1)
                t = t.replace(year=year, month=month, day=1, hour=0, minute=0, second=0)
            elif not self._day_matches(t):
                t = (t + timedelta(days=1)).replace(hour=0, minute=0, second=0)
            elif t.hour not in self.hours:
                t = (t + timedelta(hours=1)).replace(minute=0, second=0)
            elif t.minute not in self.minutes:
                t = (t + timedelta(minutes=1)).replace(second=0)
            elif t.second not in self.seconds:
                t += timedelta(seconds=1)
            else:
                return t
        raise CronError(self.expression, "it never matches a real date.")

    def last_at_or_before(self, moment: datetime, *, since: datetime) -> datetime | None:
        """The latest run time in ``(since, moment]``, or ``None``."""
        last = None
        current = self.next_after(since)
        while current <= moment:
            last = current
            current = self.next_after(current)
        return last


def _parse_field(
    expression: str, text: str, name: str, low: int, high: int, names: dict[str, int]
) -> frozenset[int]:
    values: set[int] = set()

    def number(token: str) -> int:
        token = token.lower()
        if token in names:
            return names[token]
        if not token.isdigit():
            raise CronError(expression, f"{token!r} is not a valid {name}.")
        value = int(token)
        if not low <= value <= high:
            raise CronError(expression, f"{name} {value} is out of range {low}-{high}.")
        return value

    for item in text.split(","):
        range_part, _, step_part = item.partition("/")
        step = 1
        if step_part:
            if not step_part.isdigit() or int(step_part) == 0:
                raise CronError(expression, f"{step_part!r} is not a valid step.")
            step = int(step_part)
        if range_part == "*":
            start, end = low, high
        elif "-" in range_part:
            first, _, last = range_part.partition("-")
            start, end = number(first), number(last)
            if start > end:
                raise CronError(expression, f"the {name} range {range_part!r} is backwards.")
        else:
            start = number(range_part)
            end = high if step_part else start
        values.update(range(start, end + 1, step))
    return frozenset(values)
