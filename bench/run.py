"""gen-ci benchmark: start-up, check at scale, warm rendering and memory, beside its peer.

    python bench/run.py            # full run: 7 repetitions, medians (a few minutes)
    python bench/run.py --smoke    # one repetition of small sizes, to prove the script works

The report ends with the pipelines' own cost (bench/cost.py): jobs, image pulls, scanner runs and
lines of every golden output, against the previous release's baseline.

The peer is check-jsonschema validating the same outputs against SchemaStore's GitHub workflow
schema, which users already run in the same hook chain. Ratios are against the peer measured in
this run; absolute times depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: bench.cost is imported from the checkout

from bench import cost

BIN = Path(sys.executable).parent
SPEC = ROOT / "golden" / "github-dind" / "spec.yml"


def _which(name: str) -> str:
    found = shutil.which(name, path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if not found:
        sys.exit(f"bench: {name} is not installed (pip install -e '.[test]')")
    return found


def measure(command: list[str], cwd: Path, repeat: int) -> tuple[float, float]:
    """(median seconds, peak MiB) of running command `repeat` times."""
    times, peaks = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
        times.append(time.perf_counter() - started)
        peaks.append(usage.ru_maxrss / 1024)
        code = os.waitstatus_to_exitcode(status)
        if code not in (0,):
            sys.exit(f"bench: {' '.join(command)} exited {code}: {process.stderr.read().decode()[:500]}")
    return statistics.median(times), max(peaks)


def make_repository(directory: Path, count: int) -> list[Path]:
    """A git repository with `count` specs, all in sync."""
    (directory / ".git").mkdir(parents=True)
    (directory / ".gen-ci").mkdir()
    text = SPEC.read_text()
    for index in range(count):
        spec = text.replace("name: acme-api", f"name: acme-api-{index}").replace(
            "github: .github/workflows/ci.yml", f"github: .github/workflows/ci{index}.yml")
        (directory / ".gen-ci" / f"app{index}.yml").write_text(spec)
    subprocess.run([_which("gen-ci"), "sync"], cwd=directory, check=True, capture_output=True)
    return sorted((directory / ".github" / "workflows").glob("*.yml"))


WARM = """
import json, resource, sys, time
from pathlib import Path
from generator.pipeline import generate
specs = sorted(Path(sys.argv[1]).glob(".gen-ci/*.yml"))
generate(specs[0], "github")  # imports and template compilation are not part of the per-spec cost
marks, started = {}, time.perf_counter()
for index, spec in enumerate(specs, 1):
    generate(spec, "github")
    if index in (10, 100, 1000) or index == len(specs):
        marks[index] = (time.perf_counter() - started) / index
print(json.dumps({"per_spec": marks, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="one repetition of small sizes")
    args = parser.parse_args()
    repeat = 1 if args.smoke else 7
    sizes = (1, 3) if args.smoke else (1, 10, 100)
    warm_count = 20 if args.smoke else 1000
    gen_ci, peer = _which("gen-ci"), _which("check-jsonschema")
    # pip compiles an installed package's modules (pre-commit installs gen-ci so); an editable
    # checkout, or PYTHONDONTWRITEBYTECODE, would otherwise recompile them on every run measured.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "generator")], check=True)
    peer_args = [peer, "--builtin-schema", "vendor.github-workflows"]
    rows: list[tuple[str, float, float, float | None, str]] = []

    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        floor = measure([sys.executable, "-c", "pass"], work, repeat)
        rows.append(("interpreter start (floor)", *floor, None, ""))

        one = make_repository(work / "one", 1)
        render = measure([gen_ci, ".gen-ci/app0.yml", "--target", "github"], work / "one", repeat)
        peer_one = measure([*peer_args, str(one[0])], work, repeat)
        rows.append(("cold render, 1 spec", *render, render[0] / peer_one[0], "<= 0.5"))
        rows.append(("  peer: validate its output", *peer_one, 1.0, ""))

        # The in-sync check beside the linters that run in the same hook chain on the same output.
        single = make_repository(work / "single", 1)
        check_one = measure([gen_ci, "check"], work / "single", repeat)
        actionlint = measure([_which("actionlint"), "-no-color", "-shellcheck=", str(single[0])], work, repeat)
        zizmor = measure([_which("zizmor"), "--offline", "--no-progress", str(single[0])], work, repeat)
        rows.append(("check in sync, 1 spec (vs actionlint)", *check_one, check_one[0] / actionlint[0], "<= 1.0"))
        rows.append(("  peer: actionlint on its output", *actionlint, 1.0, ""))
        rows.append(("check in sync, 1 spec (vs zizmor)", *check_one, check_one[0] / zizmor[0], "<= 0.5"))
        rows.append(("  peer: zizmor --offline on it", *zizmor, 1.0, ""))

        for size in sizes:
            outputs = make_repository(work / f"repo{size}", size)
            check = measure([gen_ci, "check"], work / f"repo{size}", repeat)
            peer_n = measure([*peer_args, *map(str, outputs)], work, repeat)
            rows.append((f"check in sync, {size} specs", *check, check[0] / peer_n[0], "<= 0.5" if size == max(sizes) else ""))
            rows.append((f"  peer: validate {size} outputs", *peer_n, 1.0, ""))

        make_repository(work / "warm", warm_count)
        warm = subprocess.run([sys.executable, "-c", WARM, str(work / "warm")], capture_output=True, text=True, check=True)
        result = json.loads(warm.stdout)

    print(f"gen-ci benchmark, {date.today()}, {platform.node()}: {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, {'smoke' if args.smoke else f'median of {repeat}'}")
    print()
    print(f"| {'measurement':<38} | {'time':>9} | {'peak MiB':>8} | {'vs peer':>7} | target |")
    print(f"|{'-' * 40}|{'-' * 11}|{'-' * 10}|{'-' * 9}|--------|")
    for name, seconds, peak, ratio, target in rows:
        shown = f"{ratio:.2f}x" if ratio is not None else ""
        print(f"| {name:<38} | {seconds * 1000:7.1f}ms | {peak:8.1f} | {shown:>7} | {target:<6} |")
    print()
    for count, per_spec in result["per_spec"].items():
        print(f"warm render: {per_spec * 1000:.2f} ms per spec over {count} specs (target <= 5 ms)")
    print(f"warm render of {warm_count} specs in one process: peak {result['peak_mib']:.1f} MiB (target < 60 MiB)")
    marks = sorted((int(k), v) for k, v in result["per_spec"].items())
    if len(marks) > 1:
        growth = marks[-1][1] / marks[0][1]
        print(f"growth: per-spec time at {marks[-1][0]} specs is {growth:.2f}x that at {marks[0][0]} (1.0 = linear)")
    print()
    print("pipeline cost")
    print()
    print(cost.report())


if __name__ == "__main__":
    main()
