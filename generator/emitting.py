"""Parse rendered text back and print it canonically, under a header that says where it came from."""

from __future__ import annotations

import io


class RenderedInvalid(Exception):
    """A template produced text that is not YAML: a gen-ci bug, never the user's."""


def canonical(rendered: str) -> str:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    yaml = YAML(typ="rt")
    yaml.version = (1, 2)
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    # Without it ruamel escapes characters beyond U+FFFF as surrogate pairs, which read back as different text.
    yaml.allow_unicode = True
    yaml.preserve_quotes = False
    try:
        document = yaml.load(rendered)
    except YAMLError as exc:
        raise RenderedInvalid(f"gen-ci rendered invalid YAML (please report this): {exc}") from None
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    body = buffer.getvalue()
    # ruamel writes a %YAML directive for an explicit version; the platforms' parsers don't want it.
    if body.startswith("%YAML"):
        body = body.split("---\n", 1)[1]
    return body
