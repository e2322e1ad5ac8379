"""The Groovy files a Jenkinsfile runs besides itself, when they live in its own repository: the
steps of a shared library it loads (`vars/<step>.groovy`, the repository being that library) and
the scripts it `load`s. Jenkins runs their code as the Jenkinsfile's, so lint reads them too."""

from __future__ import annotations

import re
from pathlib import Path

# `@Library('name') _`, `library 'name'`, `library(identifier: ...)`, `library identifier: ...`.
LIBRARY_USE = re.compile(r"@Library\s*\(|(?<![\w.])library\s*[('\"]|(?<![\w.])library\s+identifier\s*:")
LOADED = re.compile(r"""(?<![\w.])load\s*\(?\s*['"]([^'"$\n]+\.(?:groovy|gvy|Jenkinsfile))['"]""")
# A step called as a function, with a closure, or through one of its methods (`signalen.push(image)`).
CALLED = re.compile(r"(?<![\w.$])([a-z]\w*)\s*(?:\(|\{|\.\w+\s*\()")
COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
# How far up from the Jenkinsfile's directory the repository's root may be (`.jenkins/Jenkinsfile`).
LEVELS_UP = 3


def _roots(base: Path) -> list[Path]:
    roots = [base]
    for parent in list(base.parents)[:LEVELS_UP]:
        if (roots[-1] / ".git").exists():
            break
        roots.append(parent)
    return roots


def _libraries(path: Path, text: str, base: Path) -> list[Path]:
    """The repository's own `vars/` directories a file's step calls reach: a step file's own
    directory, or those of the repository a Jenkinsfile that loads a library sits in."""
    if path.parent.name == "vars":
        return [path.parent]
    return [root / "vars" for root in _roots(base) if (root / "vars").is_dir()] if LIBRARY_USE.search(text) else []


def library_steps(path: Path, text: str, base: Path) -> set[str]:
    """The steps the repository's own library defines, which lint reads in their own files."""
    return {step.stem for library in _libraries(path, text, base) for step in library.glob("*.groovy")}


LOADED_OBJECT = re.compile(r"\b(\w+)\s*=\s*" + LOADED.pattern)


def loaded_objects(text: str, base: Path) -> set[str]:
    """The variables holding a script of the repository that the file `load`s: their methods are
    read in that script."""
    roots = _roots(base)
    return {name for name, relative in LOADED_OBJECT.findall(text) if any((root / relative).is_file() for root in roots)}


def companions(path: Path, text: str, base: Path) -> list[Path]:
    """The library steps and loaded scripts the Jenkinsfile at path runs, followed through the files
    they name in turn; each once, never the Jenkinsfile itself, never a file outside the repository."""
    roots = _roots(base)
    libraries = _libraries(path, text, base)
    seen = {path.resolve()}
    found: list[Path] = []
    queue = [text]
    while queue:
        code = COMMENT.sub("", queue.pop(0))
        named = [library / f"{name}.groovy" for library in libraries for name in dict.fromkeys(CALLED.findall(code))]
        loaded = [root / relative for relative in LOADED.findall(code) for root in roots]
        for candidate in named + loaded:
            resolved = candidate.resolve()
            if resolved in seen or not resolved.is_file() or not any(resolved.is_relative_to(root.resolve()) for root in roots):
                continue
            seen.add(resolved)
            found.append(candidate)
            queue.append(candidate.read_text(encoding="utf-8", errors="replace"))
    return found
