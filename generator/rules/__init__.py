"""The semantic rules a schema-valid spec must pass, one module per concern; each rule yields
located diagnostics, and every problem of a spec is reported at once."""

from __future__ import annotations

from typing import Any

from generator.diagnostics import SpecError
from generator.loading import LoadedSpec
from generator.rules.chains import (
    build_arg_image,
    chain_job_names_clash,
    image_chain_cycle,
    image_chain_old_client,
    image_chain_unsupported,
)
from generator.rules.combining import (
    combine_setting_unused,
    include_unsupported,
    own_job_name_clash,
)
from generator.rules.common import Rule
from generator.rules.daemon import (
    iptables_and_icc_off,
    socket_without_runner_tags,
    tool_image_unpinned,
)
from generator.rules.dockerfile import (
    dockerfile_check_settings,
    dockerfile_check_unsupported,
)
from generator.rules.exceptions import exception_invalid, exceptions_unsupported
from generator.rules.images import (
    build_arg_trimmed_on_github,
    build_secrets_unreachable,
    cache_unusable,
    cache_unwritable,
    checkout_test_invalid,
    duplicate_image_ids,
    image_unpinned,
    label_reserved,
    path_outside_repository,
    prepare_variable_refused,
    prepared_version_unset,
    secret_in_build_arg,
    services_and_prepare,
    threshold_without_scanner,
)
from generator.rules.mirror import mirror_bypassed, mirror_unsupported
from generator.rules.platforms import (
    multi_platform_on_old_client,
    runner_mapping_unused,
)
from generator.rules.registries import (
    oidc_unsupported,
    push_without_credentials,
    registry_logins_clash,
    registry_secret_name_refused,
    repository_or_publish,
    secrets_without_environment,
    signing_unverifiable,
)
from generator.rules.settings import setting_without_effect
from generator.rules.tags import (
    invalid_tag_rule,
    tag_rule_never_fires,
    variants_collide,
    versions_incomplete,
)
from generator.rules.targets import (
    jenkins_limits,
    jenkins_settings_unused,
    rootless_limits,
)
from generator.rules.tool_images import tool_image_pinned_twice, tool_images_invalid
from generator.rules.triggers import (
    _cron_problem,  # noqa: F401 - the property test filters cron lines with it
    cron_out_of_range,
    no_trigger,
    publish_event_unreachable,
    push_ref_unreachable,
    ref_class_backwards,
)

RULES: list[Rule] = [
    iptables_and_icc_off,
    multi_platform_on_old_client,
    runner_mapping_unused,
    cache_unusable,
    push_without_credentials,
    threshold_without_scanner,
    duplicate_image_ids,
    label_reserved,
    socket_without_runner_tags,
    oidc_unsupported,
    setting_without_effect,
    secrets_without_environment,
    tool_image_unpinned,
    cron_out_of_range,
    no_trigger,
    push_ref_unreachable,
    publish_event_unreachable,
    ref_class_backwards,
    repository_or_publish,
    invalid_tag_rule,
    variants_collide,
    versions_incomplete,
    secret_in_build_arg,
    build_secrets_unreachable,
    registry_secret_name_refused,
    signing_unverifiable,
    image_unpinned,
    path_outside_repository,
    services_and_prepare,
    prepare_variable_refused,
    prepared_version_unset,
    checkout_test_invalid,
    cache_unwritable,
    rootless_limits,
    jenkins_limits,
    jenkins_settings_unused,
    tag_rule_never_fires,
    registry_logins_clash,
    build_arg_trimmed_on_github,
    build_arg_image,
    image_chain_cycle,
    image_chain_unsupported,
    image_chain_old_client,
    chain_job_names_clash,
    own_job_name_clash,
    combine_setting_unused,
    include_unsupported,
    dockerfile_check_settings,
    dockerfile_check_unsupported,
    tool_images_invalid,
    tool_image_pinned_twice,
    exceptions_unsupported,
    exception_invalid,
    mirror_unsupported,
    mirror_bypassed,
]


def check_rules(spec: dict[str, Any], loaded: LoadedSpec) -> None:
    found = [d for rule in RULES for d in rule(spec, loaded)]
    if found:
        raise SpecError(found)
