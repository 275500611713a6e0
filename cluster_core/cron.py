"""Cron schedules as a CronJob writes them: five fields (minute hour day-of-month month day-of-week) with `*`,
lists, ranges and steps, month and weekday names, and the `@hourly`-style macros. Pure functions of time.

As in cron (and the CronJob controller's robfig/cron parser), when both day-of-month and day-of-week are
restricted a day matches if either does.
"""

from __future__ import annotations

import datetime as dt

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 6))
_NAMES = {
    3: {m: i + 1 for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())},
    4: {d: i for i, d in enumerate("sun mon tue wed thu fri sat".split())},
}


class CronError(ValueError):
    pass


def _value(text: str, index: int) -> int:
    names = _NAMES.get(index, {})
    if text.lower() in names:
        return names[text.lower()]
    if not text.isdigit():
        raise CronError(f"failed to parse int from {text}: strconv.Atoi: parsing {text!r}: invalid syntax")
    return int(text)


def _field(text: str, index: int) -> tuple[set[int], bool]:
    """The values a field allows, and whether it is restricted (not `*`)."""
    name, low, high = _FIELDS[index]
    out: set[int] = set()
    for part in text.split(","):
        rng, _, step_text = part.partition("/")
        step = _value(step_text, -1) if step_text else 1
        if step <= 0:
            raise CronError(f"step of range should be a positive number: {part}")
        if rng in ("*", "?"):
            start, end = low, high
        elif "-" in rng:
            a, _, b = rng.partition("-")
            start, end = _value(a, index), _value(b, index)
        else:
            start = _value(rng, index)
            end = high if step_text else start
        if index == 4 and end == 7:  # Sunday may be written 7
            end = 6 if start <= 6 else 0
            out.add(0)
        if start < low or end > high or start > end:
            raise CronError(f"{name} value out of range ({low}-{high}): {part}")
        out.update(range(start, end + 1, step))
    return out, text not in ("*", "?")


def parse(schedule: str) -> tuple[list[set[int]], bool, bool]:
    text = schedule.strip()
    if text.startswith("TZ=") or text.startswith("CRON_TZ="):
        raise CronError("cannot use TZ or CRON_TZ in schedule, use timeZone field instead")
    text = MACROS.get(text.lower(), text)
    parts = text.split()
    if len(parts) != 5:
        raise CronError(f"expected exactly 5 fields, found {len(parts)}: {schedule}")
    fields, restricted = [], []
    for i, part in enumerate(parts):
        values, r = _field(part, i)
        fields.append(values)
        restricted.append(r)
    return fields, restricted[2], restricted[4]


def problem(schedule: str) -> str:
    """Why a schedule is not valid, or "" when it is."""
    try:
        parse(schedule)
    except CronError as exc:
        return str(exc)
    return ""


def _day_matches(day: dt.datetime, fields, dom_restricted: bool, dow_restricted: bool) -> bool:
    dom_ok = day.day in fields[2]
    dow_ok = (day.isoweekday() % 7) in fields[4]
    if dom_restricted and dow_restricted:
        return dom_ok or dow_ok
    return dom_ok and dow_ok


def next_after(schedule: str, after: dt.datetime) -> dt.datetime:
    """The first scheduled minute strictly after `after` (UTC)."""
    fields, dom_r, dow_r = parse(schedule)
    t = after.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    limit = t + dt.timedelta(days=366 * 5)
    while t < limit:
        if t.month not in fields[3]:
            t = (t.replace(day=1, hour=0, minute=0) + dt.timedelta(days=32)).replace(day=1)
            continue
        if not _day_matches(t, fields, dom_r, dow_r):
            t = t.replace(hour=0, minute=0) + dt.timedelta(days=1)
            continue
        if t.hour not in fields[1]:
            t = t.replace(minute=0) + dt.timedelta(hours=1)
            continue
        if t.minute not in fields[0]:
            t += dt.timedelta(minutes=1)
            continue
        return t
    raise CronError(f"no time matches the schedule {schedule!r}")
