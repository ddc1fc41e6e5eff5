"""promptfoo configs brought over: ``promptfooconfig.yaml`` read into evallock cases and settings.

What is read (interop §5): ``prompts`` (a string, a list, ``file://`` prompt files whose
prompts are separated by a ``---`` line, ``{id, label, raw}``), ``providers`` (OpenAI and
OpenAI-compatible ids: ``openai:<model>``, ``openai:chat:<model>``, with
``config.apiBaseUrl``), ``tests`` (inline, ``file://`` YAML / JSON / JSONL / CSV files and
globs), ``defaultTest`` (its ``assert`` first, its ``vars`` under the test's, its
``threshold``), ``vars`` (a list value expands into one case per element, as promptfoo
does) and the assertions evallock has an equal for (the table :data:`ASSERTIONS`;
``not-`` forms too; ``llm-rubric``, ``model-graded-closedqa`` and ``factuality`` become
the case's judge rubric).

evallock sends one user message per case: each case's ``input`` is the promptfoo prompt
rendered with the case's variables (Jinja2 reads promptfoo's Nunjucks ``{{ var }}``), and
the variables are kept as the case's ``vars``. Anything that has no evallock equal (a
second prompt, a provider that is not OpenAI-compatible, ``javascript`` and ``python``
assertions, ``weight`` …) is listed with the line it came from: never dropped silently.
"""

from __future__ import annotations

import csv
import glob
import io
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evallock.errors import UsageError

__all__ = ["ASSERTIONS", "PromptfooImport", "import_promptfoo"]

ASSERTIONS: dict[str, str] = {
    "equals": "equals",
    "contains": "contains",
    "icontains": "icontains",
    "contains-any": "contains-any",
    "contains-all": "contains-all",
    "icontains-any": "icontains-any",
    "icontains-all": "icontains-all",
    "regex": "regex",
    "starts-with": "starts-with",
    "is-json": "is-json",
    "similar": "similar",
    "similar:cosine": "similar",
    "latency": "latency-ms",
}
"""promptfoo assertion type → evallock's."""
_JUDGED = frozenset(
    {"llm-rubric", "model-graded-closedqa", "factuality", "model-graded-factuality"}
)
_CODE = frozenset({"javascript", "python", "ruby", "webhook"})
_OPENAI = re.compile(r"^openai:(?:chat:)?(?P<model>[^:]+)$")


@dataclass
class PromptfooImport:
    """What a promptfoo config becomes: cases, the target and judge, and what did not map."""

    cases: list[dict[str, Any]] = field(default_factory=list)
    target: dict[str, Any] = field(default_factory=dict)
    judge: dict[str, Any] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)
    """``file:line: what, and why`` for everything left behind."""


def import_promptfoo(path: str | Path) -> PromptfooImport:
    """Read a promptfoo config (YAML or JSON) into evallock cases and settings.

    Raises:
        UsageError: the file cannot be read, is not a promptfoo config, or has no prompt.
    """
    import yaml

    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
        root = yaml.compose(text)
        config = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"{file}: cannot read the promptfoo config: {exc}") from None
    if not isinstance(config, dict) or "prompts" not in config:
        raise UsageError(f"{file}: not a promptfoo config (no `prompts:`)")
    lines = _lines(root)
    out = PromptfooImport()
    base = file.parent

    def note(where: tuple[Any, ...], what: str) -> None:
        out.unmapped.append(f"{file}:{lines.get(where, 1)}: {what}")

    prompt = _prompt(config["prompts"], base, note)
    _providers(config.get("providers"), out, note)
    default = config.get("defaultTest") or {}
    if not isinstance(default, dict):
        note(("defaultTest",), "defaultTest from a file is not read; its checks are not applied")
        default = {}
    for key in sorted(
        set(config) - {"prompts", "providers", "tests", "defaultTest", "description"}
    ):
        note((key,), f"`{key}` has no evallock equal (left out)")
    tests = _tests(config.get("tests") or [], base, note)
    for index, (test, where) in enumerate(tests):
        _cases(test, default, prompt, where or ("tests", index), out, note, index)
    return out


def _lines(root: Any) -> dict[tuple[Any, ...], int]:
    """The 1-based line of each mapping key and sequence item, by path."""
    import yaml

    found: dict[tuple[Any, ...], int] = {}

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        found[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                walk(value, (*path, key.value))
                found[(*path, key.value)] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, (*path, index))

    if root is not None:
        walk(root, ())
    return found


def _prompt(given: Any, base: Path, note: Any) -> str | list[dict[str, Any]]:
    prompts: list[Any] = []
    for item in given if isinstance(given, list) else [given]:
        if isinstance(item, dict):
            item = item.get("raw") or item.get("id")
        if isinstance(item, str) and item.startswith("file://"):
            prompts.extend(_prompt_file(base / item.removeprefix("file://")))
        elif isinstance(item, str):
            prompts.append(item)
    if not prompts:
        raise UsageError("prompts: no prompt evallock can read (a string or a file:// file)")
    for index in range(1, len(prompts)):
        note(
            ("prompts", index),
            f"prompt {index + 1} left out: evallock runs one prompt per target"
            " (compare two with `evallock ab --a prompt=… --b prompt=…`)",
        )
    first: str | list[dict[str, Any]] = prompts[0]
    return first


def _prompt_file(path: Path) -> list[Any]:
    import json

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"prompts: {path}: {exc.strerror or exc}") from None
    if path.suffix in (".json",):
        messages = json.loads(text)
        return [messages] if isinstance(messages, list) else [text]
    return [part.strip() for part in re.split(r"(?m)^---$", text) if part.strip()]


def _providers(given: Any, out: PromptfooImport, note: Any) -> None:
    for index, item in enumerate(given if isinstance(given, list) else [given] if given else []):
        ident = item.get("id") if isinstance(item, dict) else item
        config = item.get("config") or {} if isinstance(item, dict) else {}
        match = _OPENAI.match(str(ident or ""))
        if match is None:
            note(("providers", index), f"provider {ident!r} left out: not OpenAI-compatible")
            continue
        if out.target:
            note(("providers", index), f"provider {ident!r} left out: evallock runs one target")
            continue
        base_url = config.get("apiBaseUrl") or (
            f"https://{config['apiHost']}/v1"
            if config.get("apiHost")
            else "https://api.openai.com/v1"
        )
        out.target = {
            "base_url": base_url,
            "model": match["model"],
            "api_key_env": "OPENAI_API_KEY",
        }
        params = {k: config[k] for k in ("temperature", "max_tokens", "top_p") if k in config}
        if params:
            out.target["params"] = params


def _tests(
    given: Any, base: Path, note: Any
) -> list[tuple[dict[str, Any], tuple[Any, ...] | None]]:
    found: list[tuple[dict[str, Any], tuple[Any, ...] | None]] = []
    items = given if isinstance(given, list) else [given]
    for index, item in enumerate(items):
        if isinstance(item, dict):
            found.append((item, ("tests", index) if isinstance(given, list) else None))
        elif isinstance(item, str) and item.startswith("file://"):
            pattern = str(base / item.removeprefix("file://"))
            paths = sorted(glob.glob(pattern)) or [pattern]
            for path in paths:
                found.extend((test, None) for test in _test_file(Path(path)))
        else:
            note(
                ("tests", index),
                f"tests entry {str(item)[:60]!r} left out: not a test or a file://",
            )
    return found


def _test_file(path: Path) -> list[dict[str, Any]]:
    import json

    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"tests: {path}: {exc.strerror or exc}") from None
    if path.suffix == ".csv":
        return [_csv_test(row) for row in csv.DictReader(io.StringIO(text))]
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    data = yaml.safe_load(text)
    return [t for t in (data if isinstance(data, list) else [data]) if isinstance(t, dict)]


def _csv_test(row: dict[str, str]) -> dict[str, Any]:
    """A promptfoo CSV row: columns are vars, ``__expected…`` columns are assertions."""
    test: dict[str, Any] = {"vars": {}, "assert": []}
    for column, value in row.items():
        if column.startswith("__expected") and value:
            test["assert"].append(_assertion_from_string(value))
        elif column == "__description":
            test["description"] = value
        elif not column.startswith("__"):
            test["vars"][column] = value
    return test


def _assertion_from_string(text: str) -> dict[str, Any]:
    """promptfoo's CSV spelling: ``contains: x``, ``grade: rubric``; plain text: equals."""
    kind, sep, value = text.partition(":")
    kind = kind.strip()
    if sep and (kind in ASSERTIONS or kind.removeprefix("not-") in ASSERTIONS or kind in _JUDGED):
        return {"type": kind, "value": value.strip()}
    if sep and kind in ("grade", "llm-rubric"):
        return {"type": "llm-rubric", "value": value.strip()}
    if text.strip() == "is-json":
        return {"type": "is-json"}
    return {"type": "equals", "value": text}


def _cases(
    test: dict[str, Any],
    default: dict[str, Any],
    prompt: str | list[dict[str, Any]],
    where: tuple[Any, ...],
    out: PromptfooImport,
    note: Any,
    index: int,
) -> None:
    from jinja2 import Environment, StrictUndefined, TemplateError

    variables = {**(default.get("vars") or {}), **(test.get("vars") or {})}
    asserts = [*(default.get("assert") or []), *(test.get("assert") or [])]
    if test.get("threshold", default.get("threshold")) is not None:
        note((*where, "threshold"), "threshold left out: evallock cases pass when every check does")
    checks, rubric = _checks(asserts, where, len(default.get("assert") or []), note)
    listed = {k: v for k, v in variables.items() if isinstance(v, list)}
    expand = not (test.get("options") or {}).get("disableVarExpansion")
    combos = (
        [dict(zip(listed, values, strict=True)) for values in itertools.product(*listed.values())]
        if listed and expand
        else [{}]
    )
    env = Environment(undefined=StrictUndefined, autoescape=False)  # noqa: S701 - text, not HTML
    for number, combo in enumerate(combos):
        values = {**variables, **combo}
        try:
            if isinstance(prompt, str):
                rendered: Any = env.from_string(prompt).render(**values)
            else:
                rendered = [
                    {**m, "content": env.from_string(str(m.get("content", ""))).render(**values)}
                    for m in prompt
                ]
        except TemplateError as exc:
            note(where, f"test left out: the prompt does not render with its vars ({exc})")
            continue
        ident = f"pf-{index + 1:03d}" + (f"-{number + 1}" if len(combos) > 1 else "")
        case: dict[str, Any] = {"id": ident, "input": rendered, "vars": values}
        if checks:
            case["assert"] = checks
        if rubric:
            case["judge"] = {"rubric": rubric}
            case["grader"] = "judge"
        if test.get("description"):
            case["description"] = str(test["description"])
        metadata = test.get("metadata") or {}
        keys = {k: v for k, v in metadata.items() if isinstance(v, str | int | float | bool)}
        if keys:
            case["keys"] = keys
        out.cases.append(case)


def _checks(
    asserts: list[Any], where: tuple[Any, ...], defaults: int, note: Any
) -> tuple[list[dict[str, Any]], str | None]:
    checks: list[dict[str, Any]] = []
    rubric: str | None = None
    for position, item in enumerate(asserts):
        at = (
            ("defaultTest", "assert", position)
            if position < defaults
            else (*where, "assert", position - defaults)
        )
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            note(at, "assertion left out: no type")
            continue
        kind: str = item["type"]
        negated = kind.startswith("not-") and kind != "not-"
        base_kind = kind.removeprefix("not-") if negated else kind
        if item.get("weight") not in (None, 1):
            note(at, f"{kind}: weight left out (evallock checks all pass or the case fails)")
        if base_kind in _JUDGED and not negated:
            rubric = str(item.get("value", ""))
            continue
        if base_kind in _CODE:
            note(at, f"{kind} left out: evallock runs no code from a config (write a grader plugin,"
                     " entry point evallock.assertions)")  # fmt: skip
            continue
        mapped = ASSERTIONS.get(base_kind)
        if mapped is None:
            note(at, f"{kind} left out: no evallock equal")
            continue
        check: dict[str, Any] = {"type": f"not-{mapped}" if negated else mapped}
        if "value" in item:
            check["value"] = item["value"]
        if item.get("threshold") is not None:
            check["threshold"] = item["threshold"]
        checks.append(check)
    return checks, rubric
