"""gen-ci import, Jenkins: gen-ci's own Jenkinsfiles read back, and declarative shapes written by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.importing import EXAMPLE_SHA
from generator.importing.jenkins import JenkinsImportError, read_jenkins
from generator.lint.document import LintInputError
from generator.plan import outcome, parse_run
from tests.conftest import GOLDEN, ROOT
from tests.test_import_gitlab import compiled, round_trip

FIXTURES = ROOT / "tests" / "fixtures" / "import" / "jenkins"


def test_every_jenkins_golden_imports_back_into_a_spec_that_plans_alike(tmp_path: Path) -> None:
    matching, differing = round_trip("jenkins", "Jenkinsfile", read_jenkins, tmp_path)
    assert len(matching) >= 0.9 * (len(matching) + len(differing))
    assert differing == []  # pinned: a golden that starts to differ is a regression, one that stops is news
    assert len(matching) == len(list(GOLDEN.glob("*/Jenkinsfile")))


@pytest.mark.parametrize("event, tags", [
    ("push:main", [EXAMPLE_SHA, "latest"]),
    ("push:feature/x", []),
    ("tag:v1.2.3", ["v1.2.3"]),
    ("pr:main", []),
    ("schedule:main", [EXAMPLE_SHA, "latest"]),
])
def test_with_registry_pushes_import_into_what_they_published(tmp_path: Path, event: str, tags: list[str]) -> None:
    imported = read_jenkins([FIXTURES / "Jenkinsfile.withRegistry"])
    model = compiled(imported.spec, tmp_path)
    references = [f"registry.example.com/acme/shop:{tag}" for tag in tags]
    assert imported.original_publishes[event] == references
    assert outcome(model, "jenkins", parse_run(event, EXAMPLE_SHA)).references == references


def test_with_registry_carries_credentials_tests_and_reports_the_rest(tmp_path: Path) -> None:
    imported = read_jenkins([FIXTURES / "Jenkinsfile.withRegistry"])
    assert imported.spec["jenkins"] == {"credentials": {"registry.example.com": "example-registry"}}
    assert imported.spec["images"][0]["test"] == "make test"
    assert imported.spec["triggers"]["schedule"] == ["0 3 * * 1"]
    notes = {(note.kind, note.line): note for note in imported.notes}
    assert "Notify" in notes[("not-carried", 40)].message
    assert notes[("not-carried", 40)].file == str(FIXTURES / "Jenkinsfile.withRegistry")
    assert "H" in notes[("assumed", 4)].message  # Jenkins' spread minute has no cron word
    assert any(note.kind == "added" and "scan" in note.message for note in imported.notes)


def test_sh_pushes_under_when_conditions(tmp_path: Path) -> None:
    imported = read_jenkins([FIXTURES / "Jenkinsfile.sh"])
    model = compiled(imported.spec, tmp_path)
    assert imported.spec["push"]["branches"] == ["main", "release/*"]
    assert imported.spec["images"][0]["dockerfile"] == "build/Dockerfile"
    assert imported.spec["jenkins"] == {"credentials": {"ghcr.io": "ghcr-push"}}
    for event, references in [("push:release/2", ["ghcr.io/acme/api:release-2"]), ("push:feature/x", []), ("pr:main", [])]:
        assert outcome(model, "jenkins", parse_run(event, EXAMPLE_SHA)).references == references
    # No cron: Jenkins never starts a scheduled run, and neither does the spec.
    assert imported.original_publishes["schedule:main"] == [] == outcome(model, "jenkins", parse_run("schedule:main")).references


def test_an_unclosed_string_is_a_located_error() -> None:
    with pytest.raises(LintInputError, match=r"Jenkinsfile\.broken:6:1: a string is not closed"):
        read_jenkins([FIXTURES / "Jenkinsfile.broken"])


def test_a_scripted_pipeline_is_refused_with_its_reason(tmp_path: Path) -> None:
    scripted = tmp_path / "Jenkinsfile"
    scripted.write_text("node {\n    sh 'docker build -t x .'\n}\n", encoding="utf-8")
    with pytest.raises(JenkinsImportError, match=r"Jenkinsfile:1:1: no `pipeline \{ \.\.\. \}` block"):
        read_jenkins([scripted])
