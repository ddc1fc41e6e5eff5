"""Prompt templates: a Jinja2 file rendered into the system message of each request."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evallock.errors import UsageError
from evallock.records import Case, Message

if TYPE_CHECKING:
    import jinja2

__all__ = ["PromptTemplate", "build_messages"]


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    """A compiled Jinja2 prompt; ``{{ input }}`` and every name in ``vars`` are defined.

    Undefined names are errors on the case that lacks them, never silent blanks.
    """

    path: str
    source: str
    _template: jinja2.Template = field(repr=False, compare=False)

    @classmethod
    def from_file(cls, path: str | Path) -> PromptTemplate:
        """Compile a template file.

        Raises:
            UsageError: the file is missing or not a valid template (with its line).
        """
        import jinja2

        file = Path(path)
        try:
            source = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"prompt {file}: cannot read: {exc}") from None
        env = jinja2.Environment(  # noqa: S701 - renders plain text for an LLM, not HTML
            undefined=jinja2.StrictUndefined, keep_trailing_newline=True
        )
        try:
            template = env.from_string(source)
        except jinja2.TemplateSyntaxError as exc:
            raise UsageError(f"{file}:{exc.lineno}: prompt template: {exc.message}") from None
        return cls(str(file), source, template)

    def render(self, case: Case) -> str:
        """Render for one case.

        Raises:
            ValueError: a name the template uses is not defined for this case.
        """
        import jinja2

        user = case.input if isinstance(case.input, str) else _last_user_text(case.input)
        context: dict[str, Any] = {**case.vars, "input": user, "vars": case.vars}
        try:
            return self._template.render(context)
        except jinja2.UndefinedError as exc:
            raise ValueError(f"prompt template {self.path}: {exc.message}") from None


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
