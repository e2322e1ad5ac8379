"""gen-ci lint at scale: a 5,000-line GitLab pipeline split over a root file and 20 local includes.

    python bench/lint.py            # median of 7 runs of `gen-ci lint`, and of the read-and-rules
                                    # work alone (in process), against the 0.5 s goal
    python bench/lint.py --smoke    # one run of each, to prove the script works
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_SECONDS = 0.5
JOB = """\
{name}:
  extends: .docker
  stage: build
  services:
    - name: docker:27.3.1-dind
      alias: docker
  variables:
    IMAGE_NAME: "$CI_REGISTRY_IMAGE/{name}"
  rules:
    - if: $CI_COMMIT_REF_PROTECTED == "true" && $CI_COMMIT_BRANCH == "main"
  script:
    - docker build --tag "$IMAGE_NAME:$CI_COMMIT_SHA" services/{name}
    - docker run --rm --volume /var/run/docker.sock:/var/run/docker.sock aquasec/trivy:0.56.2 image --exit-code 1 "$IMAGE_NAME:$CI_COMMIT_SHA"
    - docker push "$IMAGE_NAME:$CI_COMMIT_SHA"
  after_script:
    - docker logout "$CI_REGISTRY"

"""


def make_pipeline(directory: Path, lines: int = 5000, includes: int = 20) -> Path:
    """The root file includes `includes` files of jobs, about `lines` lines in all."""
    per_file = -(-lines // (includes * JOB.count("\n")))  # rounded up: at least `lines` lines
    (directory / "ci").mkdir()
    for number in range(includes):
        body = "".join(JOB.format(name=f"service-{number}-{job}") for job in range(per_file))
        (directory / "ci" / f"part-{number:02d}.yml").write_text(body)
    root = directory / ".gitlab-ci.yml"
    root.write_text(
        "include:\n  - local: ci/*.yml\n"
        "default:\n  timeout: 30 minutes\n"
        ".docker:\n  image: docker:27.3.1-cli\n  variables:\n    DOCKER_HOST: tcp://docker:2376\n"
        "    DOCKER_TLS_CERTDIR: /certs\n    DOCKER_TLS_VERIFY: \"1\"\n    DOCKER_CERT_PATH: /certs/client\n"
    )
    return root


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    repeat = 1 if args.smoke else 7
    sys.path.insert(0, str(ROOT))
    from generator.lint.document import read_pipeline
    from generator.lint.engine import lint

    with tempfile.TemporaryDirectory() as work:
        root = make_pipeline(Path(work))
        total = sum(len(path.read_text().splitlines()) for path in [root, *sorted((Path(work) / "ci").glob("*.yml"))])
        in_process, command = [], []
        for _ in range(repeat):
            start = time.perf_counter()
            findings = lint(read_pipeline(root))
            in_process.append(time.perf_counter() - start)
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "generator", "lint", str(root)], capture_output=True, text=True, cwd=ROOT)
            command.append(time.perf_counter() - start)
        assert done.returncode == 0 and not findings, done.stdout + done.stderr
    work_s, command_s = statistics.median(in_process), statistics.median(command)
    print(f"gen-ci lint, {total} lines in 1 + 20 files ({'smoke' if args.smoke else f'median of {repeat}'}):")
    print(f"  read, follow includes and run every rule: {work_s * 1000:7.1f} ms   goal < {GOAL_SECONDS * 1000:.0f} ms")
    print(f"  the whole command, interpreter start included: {command_s * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
