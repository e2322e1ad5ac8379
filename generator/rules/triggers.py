"""When pipelines run and which runs publish: cron lines, triggers, publishing events and refs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from generator.diagnostics import Diagnostic
from generator.loading import LoadedSpec
from generator.model import publishes
from generator.refs import glob_regex

CRON_FIELDS = [
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, {m: i + 1 for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split())}),
    ("day of week", 0, 6, {d: i for i, d in enumerate("SUN MON TUE WED THU FRI SAT".split())}),
]


def _cron_problem(expression: str) -> str | None:
    for text, (field, low, high, names) in zip(expression.split(" "), CRON_FIELDS):
        for atom in text.split(","):
            values, _, step = atom.partition("/")
            if step and int(step) == 0:
                return f"the {field} step is 0"
            for value in values.split("-"):
                if value == "*":
                    continue
                number = names.get(value.upper()) if value.isalpha() else int(value)
                if number is None:
                    return f"{value!r} is not a {field} name" + (f" (use {', '.join(names)})" if names else "")
                if not low <= number <= high:
                    return f"{field} {value} is outside {low}-{high}"
    minute, hour = expression.split(" ")[:2]
    gap = _shortest_gap(_minutes(minute), every_hour=hour == "*")
    if gap < MIN_SCHEDULE_MINUTES:
        return f"it runs every {gap} minute{'s' if gap != 1 else ''} at times; GitHub runs schedules at most every {MIN_SCHEDULE_MINUTES} minutes"
    return None


# GitHub's shortest schedule interval (actionlint checks it too).
MIN_SCHEDULE_MINUTES = 5


def _minutes(field: str) -> set[int]:
    """The minutes of the hour a valid cron minute field fires at."""
    minutes: set[int] = set()
    for atom in field.split(","):
        values, _, step = atom.partition("/")
        first, _, last = values.partition("-")
        start, end = (0, 59) if first == "*" else (int(first), int(last or (59 if step else first)))
        minutes.update(range(start, end + 1, int(step or 1)))
    return minutes


def _shortest_gap(minutes: set[int], every_hour: bool) -> int:
    ordered = sorted(minutes)
    following = ordered[1:] + ([ordered[0] + 60] if every_hour else [])
    return min((b - a for a, b in zip(ordered, following)), default=60)


def cron_out_of_range(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    for index, expression in enumerate(spec["triggers"]["schedule"]):
        problem = _cron_problem(expression)
        if problem:
            yield loaded.diagnostic(("triggers", "schedule", index), "GC112", f"{problem} in the cron expression {expression!r}")


def no_trigger(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    triggers = spec["triggers"]
    if not any(triggers[key] for key in ("branches", "tags", "pull_requests", "schedule", "manual")):
        yield loaded.diagnostic(
            ("triggers",), "GC113",
            "no trigger is left, so the pipeline could never run (GitHub rejects an empty on:, GitLab a workflow with no rules); "
            "list triggers.branches or triggers.tags, or turn on pull_requests, schedule or manual",
            key=True,
        )


def push_ref_unreachable(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    for kind in ("branches", "tags"):
        triggers = spec["triggers"][kind]
        for index, pattern in enumerate(spec["push"][kind]):
            if not any(_trigger_reaches(trigger, pattern) for trigger in triggers):
                listed = ", ".join(triggers) or "nothing"
                # push.<kind> may be the default, written nowhere: then point at the triggers that miss it.
                where = ("push", kind, index) if kind in loaded.data.get("push", {}) else ("triggers", kind)
                yield loaded.diagnostic(
                    where, "GC114",
                    f"push.{kind} lists {pattern!r}, but no trigger runs the pipeline for it (triggers.{kind}: {listed}); "
                    f"add it to triggers.{kind} or set push.{kind} without it",
                )


def publish_event_unreachable(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    triggers, push = spec["triggers"], spec["push"]
    needs = {
        "schedule": (bool(triggers["schedule"]), "triggers.schedule lists no cron line"),
        "manual": (triggers["manual"], "triggers.manual is false"),
        "release": (triggers["release"] or "github" not in spec["targets"], "triggers.release is false"),
    }
    for index, event in enumerate(push["events"]):
        reachable, why = needs.get(event, (True, ""))
        if not reachable:
            yield loaded.diagnostic(("push", "events", index), "GC114", f"push.events lists {event}, but {why}, so it could never publish")
        listed = {"release": ("tags",), "schedule": ("branches",), "manual": ("branches", "tags"), "push": ("branches", "tags")}[event]
        if not any(push[key] for key in listed) and (event != "push" or publishes(push)):
            # A schedule publishes the branches push.branches lists, like every other run (generator.plan).
            example = {"schedule": "push.branches: [main]", "release": 'push.tags: ["v*"]'}.get(event, "push.branches: [main]")
            yield loaded.diagnostic(
                ("push", "events", index), "GC114",
                f"push.events lists {event}, which publishes only refs push.{' or push.'.join(listed)} name{'s' if len(listed) == 1 else ''}, "
                f"and there are none; add them ({example}) or remove {event}",
            )


def _trigger_reaches(trigger: str, push_pattern: str) -> bool:
    """Whether some ref the push glob matches also runs the pipeline under the trigger glob.

    The push glob is probed with a few typical refs it matches (each * and ** filled in).
    """
    if trigger == push_pattern:
        return True
    regex = re.compile(glob_regex(trigger))
    classed = re.sub(r"\[([A-Za-z0-9])[^\]]*\]", r"\1", push_pattern)  # a class probed with its first character
    probes = {
        classed.replace("**", fill).replace("*", part).replace("+", plus)
        for fill in ("x", "x/y") for part in ("x", "1", "1.0.0", "1.0.0-rc.1") for plus in ("", "+")
    }
    return any(regex.fullmatch(probe) and re.fullmatch(glob_regex(push_pattern), probe) for probe in probes)


def _ref_patterns(spec: dict[str, Any]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    trig, push = spec["triggers"], spec["push"]
    for key in ("branches", "tags"):
        yield from ((("triggers", key, n), p) for n, p in enumerate(trig[key]))
        yield from ((("push", key, n), p) for n, p in enumerate(push[key]))
    if isinstance(trig["pull_requests"], list):
        yield from ((("triggers", "pull_requests", n), p) for n, p in enumerate(trig["pull_requests"]))
    for index, image in enumerate(spec["images"]):
        for number, rule in enumerate(image["tags"]):
            if isinstance(rule, dict):
                for key in ("branches", "tags"):
                    yield from ((("images", index, "tags", number, key, n), p) for n, p in enumerate(rule.get(key, [])))


def ref_class_backwards(spec: dict[str, Any], loaded: LoadedSpec) -> Iterator[Diagnostic]:
    """A character class whose range runs backwards ([9-0]) matches nothing on any platform."""
    for where, pattern in _ref_patterns(spec):
        for low, high in re.findall(r"([A-Za-z0-9])-([A-Za-z0-9])(?=[^\[]*\])", pattern):
            if low > high or low.isdigit() != high.isdigit() or low.isupper() != high.isupper():
                yield loaded.diagnostic(where, "GC013", f"{pattern!r}: [{low}-{high}] is not a range; write [{min(low, high)}-{max(low, high)}]")
                break
