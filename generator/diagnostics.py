"""Problems found in a spec, located at a line and column, in one printable form."""

from __future__ import annotations

from dataclasses import dataclass

# Ids link to their entry in gen-ci's docs (each has an anchor named after the id).
DOCS = "docs/errors.md#"
LINT_DOCS = "docs/lint.md#"

# Every id gen-ci can report: (docs anchor, what it means and how to fix it).
CODES: dict[str, tuple[str, str]] = {
    "GC001": ("yaml-syntax", "The spec is not readable as UTF-8 YAML: bad bytes, tabs in indentation, a syntax error, or a lone UTF-16 surrogate."),
    "GC002": ("yaml-structure", "The spec is empty, has several documents, is not a mapping, has a non-string key, expands past 100,000 nodes through aliases, nests deeper than 64 levels, or exceeds 1 MB."),
    "GC003": ("duplicate-key", "A key appears twice in one mapping; gen-ci never keeps the last one silently."),
    "GC010": ("unknown-key", "A key the schema does not know; the message suggests the closest known key."),
    "GC011": ("wrong-type", "A value of the wrong type. YAML 1.2 reads yes/no/on/off as strings: write true or false."),
    "GC012": ("value-not-allowed", "A value outside the allowed set (suggesting the closest), or a --target the spec does not declare."),
    "GC013": ("malformed-value", "A string that does not match its pattern: repository, ref, path, label, digest, secret name."),
    "GC014": ("missing-key", "A required key is missing."),
    "GC015": ("out-of-range", "A number, length or list size outside its bounds."),
    "GC101": ("iptables-icc-conflict", "iptables and icc both off: dockerd refuses to start. Use network: isolated or network: icc-off."),
    "GC102": ("multi-platform-client-too-old", "Several platforms for an image rendered for GitLab with a docker.version whose buildx cannot merge OCI layouts (before 29.4.0)."),
    "GC103": ("cache-unusable", "cache: gha on GitLab, whose docker builder cannot export to GitHub's cache."),
    "GC104": ("push-without-credentials", "Pushing without usable credentials: secrets without names, oidc without role and region, the GitHub token to a registry other than ghcr.io, or GitLab's job token to a registry other than the project's own."),
    "GC105": ("threshold-without-scanner", "A scan setting without a scanner that can honour it: fail_on, ignore_unfixed, mode or security_report with scan.tool: none, or GitLab's report with grype."),
    "GC106": ("duplicate-image-id", "An image id that cannot name jobs: two images share one (given or derived), one taken from a repository breaks the id pattern or is a YAML word (null, true, on), or an image's jobs would take another's or gen-ci's own job names (app on arm64 and app-arm64)."),
    "GC107": ("socket-without-runner-tags", "Socket mode on GitLab without runner tags selecting runners that bind the host socket."),
    "GC108": ("oidc-unsupported", "auth: oidc for a registry that is not Amazon ECR; OIDC here gets AWS credentials."),
    "GC109": ("setting-without-effect", "A dind setting in socket mode, or bip/mtu with the isolated profile, which has no bridge."),
    "GC110": ("secrets-without-environment", "Secrets on GitHub outside an environment: registry secrets without push.environment, or build secrets without push.build_environment."),
    "GC111": ("service-daemon-without-digest", "Retired in 0.4.0: every daemon image is pinned by digest (GC172)."),
    "GC112": ("cron-out-of-range", "A schedule field outside its range, an unknown month or weekday name, a zero step, or runs closer than 5 minutes apart."),
    "GC113": ("no-trigger", "Every trigger is off or empty, so the pipeline could never run; both platforms reject such a file."),
    "GC114": ("push-ref-unreachable", "A push branch or tag pattern that no trigger pattern reaches, so it could never push."),
    "GC115": ("unsafe-output-path", "An output path that is a spec, the pin file, another target's file, a symlink, or outside the repository once links are followed."),
    "GC116": ("invalid-pin-overrides", "The project's .gen-ci/pins.json is not valid: unknown action or tool image, a SHA that is not 40 hex digits, a version that is not vX.Y.Z, an image override in another repository, or without tag and sha256 digest."),
    "GC117": ("repository-or-publish", "An image names neither repository nor publish, or both."),
    "GC118": ("invalid-tag-rule", "A fixed tag name longer than Docker's 128 characters with the image's tag_prefix and tag_suffix, or a bare name one typo away from a keyword (lastest)."),
    "GC119": ("variants-collide", "Two images publish tags with the same prefix and suffix to one repository, so one would overwrite the other."),
    "GC120": ("secret-in-build-arg", "A build arg whose name looks like a secret (TOKEN, PASSWORD, SECRET, KEY); build args stay in the image's history, so use images[].secrets."),
    "GC121": ("secret-name-invalid", "A secret name the platform refuses, such as one starting with GITHUB_ on GitHub."),
    "GC122": ("sign-without-push", "push.sign is set, and nothing is ever pushed to sign."),
    "GC123": ("signing-identity-unverifiable", "Signing in a workflow other workflows call (triggers.call or github.called): its certificate names a ref the job cannot see, so verification could never match."),
    "GC124": ("runner-mapping-unused", "runners.platforms names a platform that no image builds."),
    "GC125": ("emulation-conflict", "emulate: true for a platform that also has native runners, or that the default runners already are."),
    "GC126": ("image-unpinned", "A service or prepare image with no tag, tagged latest, or tagged with a name holding no version (lts, alpine, bookworm): it changes under the pipeline."),
    "GC127": ("path-outside-repository", "A change filter path that leaves the repository (..)."),
    "GC128": ("container-conflict", "Two services with one name, or a prepare output outside the build context."),
    "GC129": ("cache-unwritable", "cache: registry without cache_repository, on a registry the publish job never logs in to, or (GitLab, several platforms) one logged in to through OIDC."),
    "GC131": ("jenkins-unsupported", "Something the Jenkins target does not render: rootless mode, several platforms per image, change filters, a registry cache, OIDC or platform registries, signing, or socket mode on Kubernetes agents."),
    "GC132": ("jenkins-settings-unused", "A jenkins setting with no effect: the agent runtime target without targets.jenkins or with Kubernetes agents, credentials for a host no image publishes to, a label for Kubernetes agents, or jenkins settings without targets.jenkins."),
    "GC152": ("label-reserved", "One of the OCI labels gen-ci computes (source, revision, version, created) written in images[].labels: its value would be lost."),
    "GC153": ("checkout-test-invalid", "A checkout test with compose but no service (or the reverse), both compose and script, or a candidate variable the job itself uses."),
    "GC172": ("tool-image-unpinned", "docker.version before 29 (the one engine line gen-ci renders), another 29.x without docker.dind_digest and docker.cli_digest, or a docker.buildkit other than the one gen-ci pins by digest."),
    "GC170": ("prepare-variable-refused", "prepare.variables names a variable that can carry a credential, or one that is no CI variable of the spec's platforms."),
    "GC171": ("prepared-version-unset", "build_args {from: prepare} without prepare.version_file, a version_file nothing reads, or one outside the prepare step's outputs."),
    "GC151": ("versions-incomplete", "versions that cannot name a version: from: file without file, a file with from: tag, or a file outside the repository."),
    "GC150": ("tag-rule-never-fires", "A tag rule no publishing run could apply: events push.events does not list, refs push.branches and push.tags never name, or semver/latest where no run builds a version tag."),
    "GC130": ("rootless-unsupported", "Something docker.mode rootless cannot do without a daemon or privilege: dind settings, GitHub, grype, several platforms, services, prepare, registry cache, OIDC."),
    "GC165": ("own-job-name-clash", "gitlab.publish_needs names one of gen-ci's own job names (build-*, candidate-*, publish-*, tags-*, scan-*, sign-*, describe-*, check-generated) or a GitLab keyword: in the merged pipeline one job would replace the other."),
    "GC166": ("combine-setting-unused", "gitlab or github settings for a platform the spec does not render (Jenkins has no include or call), publish_needs without gitlab.include, or publish_needs with nothing to publish."),
    "GC167": ("include-unsupported", "gitlab.include with docker.mode rootless: the included file is rendered for daemon jobs only."),
    "GC140": ("registry-login-clash", "Two registries of one image log in to one registry host with different credentials; Docker keeps one login a host, so give them the same credentials."),
    "GC154": ("build-arg-image-incomplete", "A build arg {from: image} without image, or image without from: image."),
    "GC155": ("build-arg-image-unknown", "A build arg {from: image} naming no other image of the spec: an unknown id (the closest is suggested) or the image itself."),
    "GC156": ("image-chain-cycle", "Images built from each other in a circle (a from b, b from a): none could build first."),
    "GC157": ("image-chain-platforms", "An image built from another with different platforms: each platform builds from the base's candidate of the same platform."),
    "GC158": ("image-chain-unsupported", "Something an image chain cannot do: the Jenkins target, docker.mode rootless, change filters (paths) or a registry cache on an image of the chain, or GitLab with a docker.version whose buildx cannot read OCI layouts (before 29.4.0)."),
    "GC141": ("build-arg-name-reserved", "A build arg whose value ends in white space, named like a variable the GitHub build step's own tools read (PATH, DOCKER_*, HTTP_PROXY...): such values travel in that step's environment."),
    "GC160": ("dockerfile-check-level-unsupported", "images[].dockerfile_check.fail_on with tool: buildkit, whose checks have one level and fail on any finding."),
    "GC161": ("dockerfile-check-digest", "images[].dockerfile_check.digest with tool: buildkit, whose check runs in the builder gen-ci already pins: the digest would pin nothing."),
    "GC162": ("dockerfile-check-rule", "An ignored rule the tool does not know: a hadolint id with BuildKit, a BuildKit name with hadolint, a misspelt BuildKit check, or a rule ignored twice."),
    "GC163": ("dockerfile-check-unsupported", "images[].dockerfile_check in docker.mode rootless (no daemon to run it in) or with the Jenkins target, which does not render it; BuildKit's check on an image with computed build args."),
    "GC178": ("tool-image-invalid", "tool_images names a tool gen-ci runs no image for (the closest is suggested), or gives a reference without a tag and a sha256 digest."),
    "GC179": ("tool-image-engine", "tool_images names docker-dind or docker-cli, whose tag follows docker.version: write docker.version with docker.dind_digest and docker.cli_digest."),
    "GC169": ("tool-image-pinned-twice", "A tool pinned both in tool_images and by scan.digest or images[].dockerfile_check.digest: keep one."),
    "GC173": ("exceptions-unsupported", "scan.exceptions with a scanner that cannot end them on their day: grype, whose ignore rules carry no end date, or scan.tool: none."),
    "GC174": ("exception-invalid", "A vulnerability exception whose until is no calendar day (2026-02-30), or one vulnerability id excepted twice."),
    "GC175": ("mirror-bypassed", "With docker.mirror, an image a job would pull past the mirror: a service, prepare or tool image of a registry other than Docker Hub that the spec does not name in the mirror."),
    "GC176": ("mirror-unsupported", "docker.mirror where gen-ci cannot route every pull: docker.mode rootless, socket mode on GitLab or Jenkins, whose host daemon pulls base images by its own configuration, or GitLab's dependency proxy with a target other than GitLab."),
    "GC168": ("policy-without-identity", "gen-ci policy for a spec that signs nothing (push.sign: false, or nothing pushed), or whose repository is unknown (no push.upstream and no --repository)."),
    "GC164": ("dockerfile-check-client-too-old", "Retired in 0.4.0: every client image is 29.x, whose buildx has build checks (GC172)."),
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
