"""Policy variables (``${aws:username}``, ``${aws:PrincipalTag/team, 'none'}``, ``${*}``) and wildcard patterns."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from diagnostics.model import ContextValue

# The request context as the evaluator holds it: lower-cased keys.
Context = Mapping[str, ContextValue]

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_DEFAULT = re.compile(r"^\s*([^,\s]+)\s*,\s*'([^']*)'\s*$")
# ${*}, ${?} and ${$} stand for the literal characters, so a policy can match a real asterisk.
_ESCAPES: Final = {"*": "*", "?": "?", "$": "$"}


@dataclass(frozen=True)
class Literal:
    """Policy text: in a pattern its ``*`` and ``?`` are wildcards."""

    text: str


@dataclass(frozen=True)
class Exact:
    """Text that always matches itself only: an escape such as ``${*}`` or a substituted variable value."""

    text: str


@dataclass(frozen=True)
class Variable:
    key: str  # lower-cased context key
    default: str | None


Chunk = Literal | Exact | Variable


class Unresolved(Exception):
    """A variable has no usable value (absent without a default, or multi-valued): the text matches nothing."""


class UnknownValue(Exception):
    """A variable refers to a context key whose value is not known."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True)
class Template:
    """A policy string split into literal text, escapes and variables."""

    source: str
    chunks: tuple[Chunk, ...]

    @property
    def has_variables(self) -> bool:
        return any(isinstance(chunk, Variable) for chunk in self.chunks)

    @property
    def variable_keys(self) -> tuple[str, ...]:
        return tuple(chunk.key for chunk in self.chunks if isinstance(chunk, Variable))

    def resolve(self, context: Context, unknown: frozenset[str]) -> tuple[Literal | Exact, ...]:
        """Substitute variables; raise Unresolved or UnknownValue when a value is missing or not known."""
        out: list[Literal | Exact] = []
        for chunk in self.chunks:
            if not isinstance(chunk, Variable):
                out.append(chunk)
                continue
            if chunk.key in unknown:
                raise UnknownValue(chunk.key)
            value = context.get(chunk.key)
            if value is None or (isinstance(value, tuple) and not value):
                if chunk.default is None:
                    raise Unresolved(chunk.key)
                out.append(Exact(chunk.default))
            elif isinstance(value, tuple):
                if len(value) != 1:
                    raise Unresolved(chunk.key)
                out.append(Exact(value[0]))
            else:
                out.append(Exact(value))
        return tuple(out)


def parse_template(text: str, *, variables: bool) -> Template:
    """Split ``text`` into chunks; with ``variables`` False (policy Version 2008-10-17) ``${...}`` is plain text."""
    if not variables or "${" not in text:
        return Template(text, (Literal(text),))
    chunks: list[Chunk] = []
    pos = 0
    for match in _VARIABLE.finditer(text):
        if match.start() > pos:
            chunks.append(Literal(text[pos : match.start()]))
        body = match.group(1).strip()
        if body in _ESCAPES:
            chunks.append(Exact(_ESCAPES[body]))
        else:
            with_default = _DEFAULT.match(body)
            if with_default:
                chunks.append(Variable(with_default.group(1).lower(), with_default.group(2)))
            else:
                chunks.append(Variable(body.lower(), None))
        pos = match.end()
    if pos < len(text):
        chunks.append(Literal(text[pos:]))
    return Template(text, tuple(chunks))


def glob_regex(chunks: tuple[Literal | Exact, ...], *, star: str = ".*", question: str = ".") -> str:
    """A regular expression (without anchors) for resolved chunks: wildcards only in literal policy text."""
    parts: list[str] = []
    for chunk in chunks:
        if isinstance(chunk, Exact):
            parts.append(re.escape(chunk.text))
            continue
        for char in chunk.text:
            if char == "*":
                parts.append(star)
            elif char == "?":
                parts.append(question)
            else:
                parts.append(re.escape(char))
    return "".join(parts)


def plain_text(chunks: tuple[Literal | Exact, ...]) -> str:
    return "".join(chunk.text for chunk in chunks)
