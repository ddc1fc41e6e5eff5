"""Prompt templates: a Jinja2 file rendered into the system message of each request.

Templates render in Jinja2's immutable sandbox: no attribute that reaches
Python's internals (``__class__``, ``__globals__`` …), no method that changes a
value, ``range`` of at most 100,000. A template that tries is stopped with
:class:`~evallock.errors.UsageError` (exit 2) naming the file. Beyond the
sandbox, ``*`` and ``**`` may not build values past a bound, and the rendered
prompt is at most :data:`MAX_PROMPT` characters (past it, an error on the case).

A file without Jinja2 syntax (no ``{{``, ``{%`` or ``{#``) is its own rendering;
it is used as it is, without importing Jinja2.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evallock.errors import UsageError
from evallock.records import Case, Message

if TYPE_CHECKING:
    import jinja2

__all__ = ["MAX_PROMPT", "PromptTemplate", "build_messages"]

MAX_PROMPT = 1_048_576
"""Longest rendered prompt, in characters."""
_MAX_EXPONENT = 10_000
_MAX_BITS = 100_000
_DELIMITERS = ("{{", "{%", "{#")
"""Where Jinja2's default syntax starts: a source without any of them is plain text."""


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    """A compiled Jinja2 prompt; ``{{ input }}`` and every name in ``vars`` are defined.

    Undefined names are errors on the case that lacks them, never silent blanks.
    """

    path: str
    source: str
    _template: jinja2.Template | str = field(repr=False, compare=False)
    """The compiled template, or the prompt itself for a file without Jinja2 syntax."""

    @classmethod
    def from_file(cls, path: str | Path) -> PromptTemplate:
        """Compile a template file.

        Raises:
            UsageError: the file is missing or not a valid template (with its line).
        """
        file = Path(path)
        try:
            source = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"prompt {file}: cannot read: {exc}") from None
        if not any(delimiter in source for delimiter in _DELIMITERS):
            # Jinja2 would render it as it is (read_text made every line break "\n", as
            # Jinja2 does): no template to compile, no Jinja2 to import (some 15 ms).
            return cls(str(file), source, source)
        import jinja2

        env = _sandbox()
        try:
            template = env.from_string(source)
        except jinja2.TemplateSyntaxError as exc:
            raise UsageError(f"{file}:{exc.lineno}: prompt template: {exc.message}") from None
        return cls(str(file), source, template)

    def render(self, case: Case) -> str:
        """Render for one case.

        Raises:
            ValueError: the template cannot be rendered for this case (an undefined
                name, a failing expression, a prompt past :data:`MAX_PROMPT`).
            UsageError: the template does what the sandbox forbids (exit 2).
        """
        if isinstance(self._template, str):
            if len(self._template) > MAX_PROMPT:
                raise ValueError(f"prompt template {self.path}: {_too_long()}")
            return self._template
        from jinja2.exceptions import SecurityError, UndefinedError

        user = case.input if isinstance(case.input, str) else _last_user_text(case.input)
        context: dict[str, Any] = {**case.vars, "input": user, "vars": case.vars}
        try:
            return "".join(_limited(self._template.generate(context)))
        except SecurityError as exc:
            raise UsageError(
                f"prompt template {self.path}: not allowed in the sandbox: {exc}"
            ) from None
        except UndefinedError as exc:
            raise ValueError(f"prompt template {self.path}: {exc.message}") from None
        except _TooLong as exc:
            raise ValueError(f"prompt template {self.path}: {exc}") from None
        except (ArithmeticError, LookupError, TypeError, ValueError, RecursionError) as exc:
            raise ValueError(f"prompt template {self.path}: {type(exc).__name__}: {exc}") from None


class _TooLong(Exception):
    """The rendered prompt passed :data:`MAX_PROMPT`."""


def _sandbox() -> jinja2.Environment:
    """The immutable sandbox with strict undefined names and bounded ``*`` and ``**``."""
    from jinja2 import StrictUndefined
    from jinja2.exceptions import SecurityError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class PromptSandbox(ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**"})

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            problem = _oversized(operator, left, right)
            if problem is not None:
                raise SecurityError(problem)
            return super().call_binop(context, operator, left, right)

    return PromptSandbox(undefined=StrictUndefined, keep_trailing_newline=True)


def _oversized(operator: str, left: Any, right: Any) -> str | None:
    """Why ``left operator right`` would build a value past the bounds, or None."""
    ints = isinstance(left, int) and isinstance(right, int)
    if operator == "**":
        if _is_number(left) and _is_number(right) and abs(right) > _MAX_EXPONENT:
            return f"the exponent {right} is larger than {_MAX_EXPONENT:,}"
        if ints and abs(left).bit_length() * abs(right) > _MAX_BITS:
            return f"{left} ** {right} has more than {_MAX_BITS:,} bits"
        return None
    if ints:
        if abs(left).bit_length() + abs(right).bit_length() > _MAX_BITS:
            return f"the product has more than {_MAX_BITS:,} bits"
        return None
    for seq, times in ((left, right), (right, left)):
        repeats = isinstance(seq, str | list | tuple) and isinstance(times, int)
        if repeats and len(seq) * times > MAX_PROMPT:
            return f"repeating {len(seq):,} items {times:,} times passes {MAX_PROMPT:,}"
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _limited(chunks: Iterator[str]) -> Iterator[str]:
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > MAX_PROMPT:
            raise _TooLong(_too_long())
        yield chunk


def _too_long() -> str:
    return f"the rendered prompt passes {MAX_PROMPT:,} characters"


def _last_user_text(messages: list[Message]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user" and isinstance(message.get("content"), str):
            return str(message["content"])
    return ""


def build_messages(case: Case, prompt: PromptTemplate | None) -> list[Message]:
    """The chat messages for a case: the rendered prompt as system message, then the input.

    Raises:
        ValueError: the prompt cannot be rendered for this case.
    """
    messages: list[Message] = []
    if prompt is not None:
        messages.append({"role": "system", "content": prompt.render(case)})
    if isinstance(case.input, str):
        messages.append({"role": "user", "content": case.input})
    else:
        messages.extend(case.input)
    return messages
