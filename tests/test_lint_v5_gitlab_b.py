"""lint v5 on GitLab files: secrets given to secret-named flags or named as one word, a whole Docker
config written from a variable, and one job that both reads and writes a shared build cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.lint.document import read_pipeline
from generator.lint.engine import lint
from generator.lint.secret_rules import _flag_secrets, _whole_configs
from generator.lint.shell_words import is_secret_name
from tests.conftest import ROOT
from tests.test_lint import _expected

V5 = ROOT / "tests" / "fixtures" / "lint" / "v5-gitlab-b"
FIXTURES = sorted(V5.glob("*.yml"))
# The fixtures push and build on purpose; only the rules this change is about are compared.
CHANGED = {"GL021", "GL022", "GL024"}


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fixture_findings_exactly(path):
    pipeline = read_pipeline(path)
    assert pipeline.kind == "gitlab"
    found = {(str(Path(f.file).resolve()), f.line, f.rule) for f in lint(pipeline) if f.rule in CHANGED}
    assert found == _expected(pipeline.files)


def test_the_fixtures_cover_every_changed_rule():
    assert {rule for path in FIXTURES for (_, _, rule) in _expected([str(path)])} == CHANGED


@pytest.mark.parametrize(("name", "secret"), [
    ("TAILSCALE_AUTHKEY", True), ("AUTHTOKEN", True), ("ACCESSKEY", True), ("PRIVATEKEY_B64", True), ("DBPASSWORD", True),
    ("pypi_api_key_ACTUAL", True), ("NPM_TOKEN_PROD", True),
    ("MONKEY", False), ("HOTKEY", False), ("KEYBOARD_LAYOUT", False), ("TOKENIZER", False), ("BYPASS", False),
    ("API_KEY_ID", False), ("SSH_KEY_FINGERPRINT", False), ("TOKEN_CACHE_KEY", False),
])
def test_one_word_and_qualified_credentials_are_secret_names(name, secret):
    assert is_secret_name(name) is secret


@pytest.mark.parametrize(("arguments", "names"), [
    ("publish --token $X", ["X"]), ("--api-key=\"${X}\"", ["X"]), ("--password $X", ["X"]), ("--authkey $X", ["X"]),
    ("--secret $X", ["X"]), ("--token $X_PATH", []), ("--token $CI_JOB_ID", []), ("--token Bearer$X", []),
    ("--private-key $X", []), ("--secret id=a,src=$X", []), ("--tokens $X", []),
])
def test_a_secret_named_flag_passes_its_variable(arguments, names):
    assert _flag_secrets(arguments) == names


@pytest.mark.parametrize(("line", "names"), [
    ('echo "$DOCKER_AUTH_CONFIG" >> /kaniko/.docker/config.json', ["DOCKER_AUTH_CONFIG"]),
    ("echo $CFG | base64 -d > $HOME/.docker/config.json", ["CFG"]),
    ('echo "$CFG" | tee "$DOCKER_CONFIG/config.json"', ["CFG"]),
    ("cp $CFG_FILE /kaniko/.docker/config.json", ["CFG_FILE"]),
    ('echo "$CI_CFG" > /kaniko/.docker/config.json', []),
    ("cp $HOME/.docker/config.json /kaniko/.docker/config.json", []),
    ('echo "$CFG" > settings.json', []),
])
def test_a_whole_docker_config_from_a_variable(line, names):
    assert _whole_configs(line) == names
