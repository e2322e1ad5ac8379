"""Problems found in a spec, located at a line and column, in one printable form."""

from __future__ import annotations

from dataclasses import dataclass

DOCS = "https://github.com/gen-ci/gen-ci#"

# Every id gen-ci can report, with the README anchor that documents it.
CODES: dict[str, str] = {
    "GC001": "yaml-syntax",
    "GC002": "yaml-structure",
    "GC003": "duplicate-key",
    "GC010": "unknown-key",
    "GC011": "wrong-type",
    "GC012": "value-not-allowed",
    "GC013": "malformed-value",
    "GC014": "missing-key",
    "GC015": "out-of-range",
    "GC101": "iptables-and-icc-off",
    "GC102": "multi-platform-on-classic-store",
    "GC103": "cache-unusable",
    "GC104": "push-without-credentials",
    "GC105": "threshold-without-scanner",
    "GC106": "duplicate-image-id",
    "GC107": "socket-without-runner-tags",
    "GC108": "oidc-unsupported",
    "GC109": "setting-without-effect",
    "GC110": "secrets-without-environment",
    "GC111": "service-daemon-without-digest",
    "GC112": "cron-out-of-range",
}


@dataclass(frozen=True, order=True)
class Diagnostic:
    file: str
    line: int  # 1-based
    column: int  # 1-based
    code: str
    path: str  # JSON path inside the spec, "$" for the root
    message: str

    def render(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: error[{self.code}]: {self.path}: {self.message}"


class SpecError(Exception):
    """A spec that cannot be rendered; carries every problem found."""

    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__("\n".join(d.render() for d in diagnostics))
        self.diagnostics = sorted(diagnostics)


def json_path(parts: tuple[str | int, ...] | list[str | int]) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out
