"""Attestation predicates, written inside CI by a pinned Python image from the job's own data.

gen-ci never imports this file: the rendered pipelines carry its text and run it with
`python3 -c`, so it must stay standard-library only and fit Python 3.9 and later.

    scan TOOL FAIL_ON MODE IGNORE_UNFIXED   (stdin: trivy's `version --format json`, then its
                                             JSON report; or grype's JSON report alone)
    provenance                              (GitLab only: reads the job's CI variables)

Both print one predicate as JSON: cosign's vuln predicate (scanner, version, database date,
counts by severity, whether the policy passed) and SLSA provenance v1.
"""

import json
import os
import sys
from datetime import datetime, timezone

LEVELS = ["critical", "high", "medium", "low"]
BUILD_TYPE = "https://gen-ci.dev/buildtypes/gitlab-docker/v1"


def documents(text):
    decoder = json.JSONDecoder()
    found, at = [], 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at == len(text):
            return found
        document, at = decoder.raw_decode(text, at)
        found.append(document)


def timestamp(value=None):
    """RFC 3339 in UTC, seconds precision: what Go's time.Time reads back."""
    moment = datetime.now(timezone.utc)
    if value:
        try:
            # fromisoformat reads at most six fraction digits; scanners write nine.
            head, _, rest = value.partition(".")
            zone = rest.lstrip("0123456789") if rest else ""
            moment = datetime.fromisoformat((head + zone).replace("Z", "+00:00")).astimezone(timezone.utc)
        except ValueError:
            pass
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def git_ref(env):
    if env.get("GITHUB_REF"):
        return env["GITHUB_REF"]
    if env.get("CI_COMMIT_TAG"):
        return "refs/tags/" + env["CI_COMMIT_TAG"]
    return "refs/heads/" + env.get("CI_COMMIT_BRANCH", env.get("CI_COMMIT_REF_NAME", ""))


def invocation(env, parameters):
    if env.get("GITHUB_ACTIONS") == "true":
        server = env["GITHUB_SERVER_URL"]
        run = "%s/%s/actions/runs/%s/attempts/%s" % (server, env["GITHUB_REPOSITORY"], env["GITHUB_RUN_ID"], env.get("GITHUB_RUN_ATTEMPT", "1"))
        return {"parameters": parameters, "uri": run, "event_id": env["GITHUB_RUN_ID"], "builder.id": server + "/" + env["GITHUB_WORKFLOW_REF"]}
    identity = "%s//%s@%s" % (env["CI_PROJECT_URL"], env.get("CI_CONFIG_PATH", ".gitlab-ci.yml"), git_ref(env))
    return {"parameters": parameters, "uri": env["CI_JOB_URL"], "event_id": env["CI_PIPELINE_ID"], "builder.id": identity}


def trivy_facts(version, report):
    database = version.get("VulnerabilityDB") or {}
    severities = [
        finding.get("Severity", "UNKNOWN")
        for result in report.get("Results") or []
        for finding in result.get("Vulnerabilities") or []
    ]
    release = version.get("Version", "")
    return {
        "uri": "pkg:github/aquasecurity/trivy@" + release,
        "version": release,
        "db": {"uri": "", "version": str(database.get("UpdatedAt", ""))},
        "severities": severities,
        "started": report.get("CreatedAt"),
    }


def grype_facts(report):
    descriptor = report.get("descriptor") or {}
    database = descriptor.get("db") or {}
    status = database.get("status") or database
    release = descriptor.get("version", "")
    return {
        "uri": "pkg:github/anchore/grype@" + release,
        "version": release,
        "db": {"uri": str(status.get("from", "")), "version": str(status.get("built", ""))},
        "severities": [(match.get("vulnerability") or {}).get("severity", "Unknown") for match in report.get("matches") or []],
        "started": descriptor.get("timestamp"),
    }


def scan_predicate(tool, fail_on, mode, ignore_unfixed, stdin, env):
    found = documents(stdin)
    facts = trivy_facts(found[0], found[1]) if tool == "trivy" else grype_facts(found[0])
    counts = {}
    for severity in facts["severities"]:
        counts[severity.lower()] = counts.get(severity.lower(), 0) + 1
    failing = LEVELS[: LEVELS.index(fail_on) + 1]
    parameters = {"fail_on": fail_on, "mode": mode, "ignore_unfixed": ignore_unfixed == "true"}
    return {
        "invocation": invocation(env, parameters),
        "scanner": {
            "uri": facts["uri"],
            "version": facts["version"],
            "db": facts["db"],
            "result": {
                "counts": {level: counts.get(level, 0) for level in LEVELS + ["negligible", "unknown"]},
                "policy": {"fail_on": fail_on, "enforced": mode == "gate", "passed": not any(counts.get(level) for level in failing)},
            },
        },
        "metadata": {"scanStartedOn": timestamp(facts["started"]), "scanFinishedOn": timestamp()},
    }


def provenance_predicate(env):
    ref = git_ref(env)
    return {
        "buildDefinition": {
            "buildType": BUILD_TYPE,
            "externalParameters": {
                "source": {"uri": env["CI_PROJECT_URL"], "ref": ref, "config": env.get("CI_CONFIG_PATH", ".gitlab-ci.yml")},
                "pipelineSource": env.get("CI_PIPELINE_SOURCE", ""),
            },
            "internalParameters": {"pipeline": env.get("CI_PIPELINE_URL", "")},
            "resolvedDependencies": [
                {"uri": "git+%s@%s" % (env["CI_PROJECT_URL"], ref), "digest": {"gitCommit": env["CI_COMMIT_SHA"]}},
            ],
        },
        "runDetails": {
            "builder": {"id": "%s/%s/-/runners/%s" % (env.get("CI_SERVER_URL", ""), env.get("CI_PROJECT_PATH", ""), env.get("CI_RUNNER_ID", ""))},
            "metadata": {"invocationId": env["CI_JOB_URL"], "startedOn": timestamp(env.get("CI_JOB_STARTED_AT"))},
        },
    }


def main(argv, stdin, env):
    if argv[:1] == ["scan"] and len(argv) == 5:
        predicate = scan_predicate(*argv[1:], stdin.read(), env)
    elif argv == ["provenance"]:
        predicate = provenance_predicate(env)
    else:
        sys.stderr.write("usage: scan TOOL FAIL_ON MODE IGNORE_UNFIXED | provenance\n")
        return 2
    json.dump(predicate, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], sys.stdin, dict(os.environ)))
