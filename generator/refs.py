"""Ref globs (branches and tags in triggers, publishing refs and tag conditions), read one way everywhere."""

from __future__ import annotations


def glob_regex(glob: str) -> str:
    """A regex for a ref filter glob as GitHub reads it: ** any characters, * any but /, + one or more of the previous.

    GitLab's rules get the same regex, so a trigger means the same refs on both platforms.
    """
    out = []
    index = 0
    while index < len(glob):
        if glob.startswith("**", index):
            out.append(".*")
            index += 2
        elif glob[index] == "*":
            out.append("[^/]*")
            index += 1
        else:
            # Schema-checked refs hold only [A-Za-z0-9._/+*-]: . is the one literal a regex reads otherwise.
            out.append("\\." if glob[index] == "." else glob[index])
            index += 1
    return "".join(out)
