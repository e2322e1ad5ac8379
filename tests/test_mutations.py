"""Valid specs mutated into invalid ones: exit 2, a located error, and outputs left alone."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from tests.conftest import GOLDEN, invoke
from tests.test_errors import LINE

SPECS = sorted(GOLDEN.glob("*/spec.yml"))


def _paths(node, prefix=()):
    """Every node's path, except inside free-form maps (build_args), where any key is valid."""
    yield prefix
    if isinstance(node, dict) and prefix[-1:] != ("build_args",):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


def _incompatible(value):
    if isinstance(value, list):
        return 7
    if isinstance(value, dict):
        return 7  # not "text": a tag rule or a build arg may be a string or a mapping
    if isinstance(value, str):
        return [1]
    return {"x": 1}


@st.composite
def mutants(draw):
    spec_file = draw(st.sampled_from(SPECS))
    yaml = YAML(typ="rt")
    doc = yaml.load(spec_file.read_text())
    paths = [p for p in _paths(doc) if p]
    path = draw(st.sampled_from(paths))
    how = draw(st.sampled_from(["retype", "unknown-key"]))
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    if how == "unknown-key" and isinstance(parent[path[-1]], dict) and path[-1] != "build_args":
        parent[path[-1]]["surplus_key"] = 1
    else:
        parent[path[-1]] = _incompatible(parent[path[-1]])
    return spec_file, doc, path


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(mutants())
def test_mutated_specs_fail_cleanly(tmp_path_factory, case):
    spec_file, doc, path = case
    work = tmp_path_factory.mktemp("mutant")
    mutant = work / "spec.yml"
    with mutant.open("w") as handle:
        YAML(typ="rt").dump(doc, handle)
    output = work / "out.yml"
    output.write_text("keep me\n")
    platform = next(iter(YAML(typ="safe").load(spec_file.read_text())["targets"]))
    result = invoke("render", str(mutant), "--target", platform, "-o", str(output))
    assert result.exit_code == 2, (path, result.stdout[:200], result.stderr)
    assert "Traceback" not in result.stderr
    first = result.stderr.splitlines()[0]
    assert LINE.match(first), first
    assert re.match(rf"^{re.escape(str(mutant))}:\d+:\d+: ", first)
    assert output.read_text() == "keep me\n"
