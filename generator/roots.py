"""The repository root of a path, with os.path alone: the hook's in-sync fast path imports it."""

from __future__ import annotations

import os


def repository_root(start: str) -> str:
    """The nearest directory at or above `start` that holds `.git`, else `start` itself (resolved)."""
    directory = os.path.realpath(start)
    while True:
        if os.path.exists(os.path.join(directory, ".git")):
            return directory
        parent = os.path.dirname(directory)
        if parent == directory:
            return os.path.realpath(start)
        directory = parent
