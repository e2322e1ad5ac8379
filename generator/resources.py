"""Where templates and schemas live: inside the wheel, or at the top of a checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    # The wheel force-includes templates/ and schemas/ into the package;
    # an editable install or a checkout keeps them beside the package.
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"gen-ci installation is missing its {name}/ folder")


def schema_path() -> Path:
    return data_dir("schemas") / "spec.schema.json"
