"""Where this gen-ci was installed from, as a pip requirement another machine can install again.

pip records a direct install (PEP 610, direct_url.json): a git URL at a commit, a wheel or archive
URL, or a local directory. An install from an index records nothing, and the version names it.
The pre-commit hook and the generated check job install gen-ci from the same place, so neither
depends on a package index that may hold no gen-ci at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import metadata

from generator import __version__


@dataclass(frozen=True)
class Source:
    requirement: str  # what pip installs: gen-ci==X, or gen-ci @ URL
    shared: bool  # another machine (a teammate's, CI's) can install it too
    editable: bool  # a working checkout: the hook should run it as it is, not a copy


def installed_from() -> Source:
    try:
        recorded = metadata.distribution("gen-ci").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        recorded = None
    if not recorded:
        return Source(f"gen-ci=={__version__}", shared=True, editable=False)
    direct = json.loads(recorded)
    url = direct.get("url", "")
    vcs = direct.get("vcs_info")
    if vcs:
        return Source(f"gen-ci @ {vcs.get('vcs', 'git')}+{url}@{vcs.get('commit_id', '')}".rstrip("@"),
                      shared=not url.startswith("file:"), editable=False)
    editable = bool(direct.get("dir_info", {}).get("editable"))
    return Source(f"gen-ci @ {url}", shared=not url.startswith("file:"), editable=editable)
