"""Pinned actions and images, read from the one pins file shipped in the package."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any


@cache
def pins() -> dict[str, Any]:
    return json.loads((Path(__file__).parent / "pins.json").read_text(encoding="utf-8"))


def action(name: str) -> str:
    """`owner/repo@<sha> # <version>` for a uses: line."""
    pin = pins()["actions"][name]
    return f"{name}@{pin['sha']} # {pin['version']}"


def image(name: str) -> str:
    return pins()["images"][name]
