"""The wheel carries templates and schemas: installed elsewhere, it renders every golden identically."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile

from tests.conftest import GOLDEN, ROOT


def test_wheel_renders_every_golden_identically(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )
    (wheel,) = wheels.glob("gen_ci-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "generator/templates/github/pipeline.yml.j2" in names
    assert "generator/templates/gitlab/pipeline.yml.j2" in names
    assert "generator/schemas/spec.schema.json" in names
    assert "generator/pins.json" in names

    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--target", str(site), str(wheel)],
        check=True, capture_output=True, timeout=300,
    )
    work = tmp_path / "elsewhere"
    shutil.copytree(GOLDEN, work / "golden")
    (work / ".git").mkdir()  # output paths and headers are relative to the repository root
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run([sys.executable, "-P", "-c", "import generator; print(generator.__file__)"],
                           cwd=work, env=env, capture_output=True, text=True, check=True)
    assert where.stdout.startswith(str(site))
    for spec in sorted(GOLDEN.glob("*/spec.yml")):
        for expected in sorted(spec.parent.glob("*.yml")):
            if expected.name == "spec.yml":
                continue
            relative = f"golden/{spec.parent.name}/spec.yml"
            # Scenario 34's policy-<dialect>.yml is `gen-ci policy --format <dialect>`'s output.
            command = ["policy", relative, "--format", expected.stem.removeprefix("policy-")] if expected.stem.startswith("policy-") \
                else ["render", relative, "--target", expected.stem]
            result = subprocess.run(
                [sys.executable, "-P", "-m", "generator", *command],
                cwd=work, env=env, capture_output=True, text=True, timeout=60,
            )
            assert result.returncode == 0, result.stderr
            assert result.stdout == expected.read_text(), f"{relative} {expected.stem}"


def test_the_version_is_the_changelogs_newest_and_gen_ci_says_it(cli):
    from generator import __version__
    from tests.conftest import ROOT

    newest = next(line for line in (ROOT / "CHANGELOG.md").read_text().splitlines() if line.startswith("## "))
    assert newest == f"## {__version__}"
    assert cli("--version").stdout.strip().endswith(__version__)
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
