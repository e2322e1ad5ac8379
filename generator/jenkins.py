"""What the Jenkins templates need computed: the publish stage's `when`, spec values as shell
assignments, and the agent runtime's Compose project name.

Jenkins has no events list, so a run's kind is read from its causes: a timer is a schedule, a
user is a manual run (published only with the GEN_CI_PUBLISH parameter), anything else a push.
"""

from __future__ import annotations

import re
from typing import Any

from generator.quoting import groovy_string
from generator.refs import glob_regex

# A condition is one line of Groovy, or (allOf | anyOf, its conditions).


def _all(*conditions: Any) -> Any:
    return _join("allOf", conditions)


def _any(*conditions: Any) -> Any:
    return _join("anyOf", conditions)


def _join(keyword: str, conditions: Any) -> Any:
    """One condition stands alone; nested blocks of the same keyword are spliced into one."""
    flat: list[Any] = []
    for condition in conditions:
        flat += condition[1] if isinstance(condition, tuple) and condition[0] == keyword else [condition]
    return flat[0] if len(flat) == 1 else (keyword, flat)


def _lines(condition: Any) -> list[str]:
    if isinstance(condition, str):
        return [condition]
    keyword, children = condition
    return [f"{keyword} {{", *("    " + line for child in children for line in _lines(child)), "}"]


def literal(pattern: str) -> bool:
    """A ref pattern that names exactly one ref: no glob (*, **), quantifier (+) or class ([0-9])."""
    return not set(pattern) & set("*+[")


def schedule_branch(trigger_branches: list[str], push: dict[str, Any]) -> str | None:
    """Jenkins puts a schedule on every branch job that has the file, so it is kept on one branch
    named exactly: the first that a trigger reaches and, when schedules publish, that
    push.branches lists, so the scheduled run is one that may publish (None: there is none, GC131)."""
    publishing = push["branches"] if "schedule" in push["events"] else None
    for branch in [*trigger_branches, *push["branches"]]:
        if not literal(branch) or not any(re.fullmatch(glob_regex(glob), branch) for glob in trigger_branches):
            continue
        if publishing is None or any(re.fullmatch(glob_regex(glob), branch) for glob in publishing):
            return branch
    return None


CRON_NAMES = [
    {},
    {},
    {},
    {name: number for number, name in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(), start=1)},
    {name: number for number, name in enumerate("SUN MON TUE WED THU FRI SAT".split())},
]
CRON_LAST = [59, 23, 31, 12, 6]


def jenkins_cron(expression: str) -> str:
    """A five-field cron line as Jenkins reads it, with the same meaning: Jenkins takes numbers,
    ranges, * and steps over a range, so names become numbers and `N/step` becomes `N-last/step`."""
    fields = []
    for field, names, last in zip(expression.split(" "), CRON_NAMES, CRON_LAST):
        atoms = []
        for atom in field.split(","):
            values, slash, step = atom.partition("/")
            values = "-".join(str(names.get(value.upper(), value)) if value.isalpha() else value for value in values.split("-"))
            if slash and values != "*" and "-" not in values:
                values = f"{values}-{last}"
            atoms.append(values + (f"/{step}" if slash else ""))
        fields.append(",".join(atoms))
    return " ".join(fields)


def _ref_condition(keyword: str, patterns: list[str]) -> str:
    """One name compares EQUALS; globs or several names, a Java regex built as everywhere in gen-ci."""
    if len(patterns) == 1 and literal(patterns[0]):
        return f"{keyword} pattern: {groovy_string(patterns[0], block=False)}, comparator: 'EQUALS'"
    regex = "^(" + "|".join(glob_regex(pattern) for pattern in patterns) + ")$"
    return f"{keyword} pattern: {groovy_string(regex, block=False)}, comparator: 'REGEXP'"


def publish_when(arms: list[dict[str, Any]]) -> list[str]:
    """The plan's publishing arms (generator.plan) as one declarative `when`: a timer is a
    schedule, GEN_CI_PUBLISH (false unless a person starting the run ticks it) a manual run,
    any other run not started by a person a push. Each ref condition is written once: npm-groovy-
    lint counts a repeated named-argument condition as a duplicate literal."""
    def types(*kinds: str) -> set[str]:
        return {arm["ref_type"] for arm in arms if arm["kind"] in kinds}

    every = types("push", "tag", "schedule", "manual")
    refs = []
    for arm_type, keyword in (("branch", "branch"), ("tag", "tag")):
        patterns = next((arm["patterns"] for arm in arms if arm["ref_type"] == arm_type), None)
        if patterns:
            condition = _ref_condition(keyword, patterns)
            # A tag build's BRANCH_NAME is the tag: branch patterns must not match it.
            refs.append(_all("not { buildingTag() }", condition) if keyword == "branch" else condition)

    def only(covered: set[str]) -> list[str]:
        if covered == every:
            return []
        return ["not { buildingTag() }"] if covered == {"branch"} else ["buildingTag()"]

    started = []
    if types("push", "tag"):
        started.append(_all("not { triggeredBy cause: 'UserIdCause' }", *only(types("push", "tag"))))
    if types("manual"):
        started.append(_all("expression { return params.GEN_CI_PUBLISH }", *only(types("manual"))))
    causes = [_all("not { triggeredBy 'TimerTrigger' }", _any(*started))] if started else []
    if types("schedule"):
        causes.append(_all("triggeredBy 'TimerTrigger'", *only(types("schedule"))))
    return _lines(_all("not { changeRequest() }", _any(*refs), _any(*causes)))


def compose_project(name: str) -> str:
    """A Compose project name ([a-z0-9][a-z0-9_-]*) from the spec's name."""
    slug = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-_")
    return f"{slug or 'gen-ci'}-jenkins"


def shell_assignment(name: str, value: str) -> str:
    """`name=value` in POSIX shell. A plain value is single-quoted; one holding quotes, `$`,
    backquotes or backslashes is read from a quoted here-document, where the shell expands nothing
    and linters see data, not a mistaken expansion. Trailing line breaks are kept."""
    if not re.search(r"[$`\\'\"\n]", value):
        return f"{name}='{value}'"
    lines = value.split("\n")
    end = "GEN_CI_VALUE"
    while end in lines:
        end += "_"
    # $(...) drops trailing line breaks: a value ending in one is read with a sentinel dot.
    keep = value.endswith("\n")
    text = f"{name}=$(cat <<'{end}'\n{value + '.' if keep else value}\n{end}\n)"
    return text + f"\n{name}=${{{name}%.}}" if keep else text
