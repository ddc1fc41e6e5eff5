"""promptfoo configs brought over: ``promptfooconfig.yaml`` read into evallock cases and settings.

What is read (interop §5):

- ``prompts``: a string, a list, ``file://`` prompt files (prompts separated by a ``---``
  line; ``.json`` / ``.yaml`` files hold a chat message list), ``{id, label, raw}``.
- ``providers``: OpenAI and OpenAI-compatible ids (``openai:<model>``,
  ``openai:chat:<model>``, ``openai:responses:<model>``) with ``config.apiBaseUrl`` /
  ``apiHost``, ``apiKeyEnvar`` and sampling parameters. ``defaultTest.options.provider``
  (the grader) becomes the judge.
- ``tests``: inline, ``file://`` YAML / JSON / JSONL / CSV files and globs (CSV columns are
  vars; ``__expected…`` columns are checks in promptfoo's assertion-string grammar;
  ``__description``, ``__threshold``, ``__prefix``, ``__suffix``, ``__metadata:<key>``).
- ``scenarios``: every ``config`` var-set through every test of the scenario.
- ``defaultTest`` (inline or ``file://``): its checks first, its vars, options and
  metadata under the test's, its ``threshold``.
- ``vars`` (a list value expands into one case per element unless
  ``options.disableVarExpansion``), ``metadata`` and ``tags`` (as keys), ``threshold`` and
  ``weight`` (evallock scores a case as promptfoo scores a test), ``assert-set``
  (flattened with its weight shared out, which keeps the score exact), ``$ref`` to
  ``#/…`` (``assertionTemplates``), ``{{ var }}`` in assertion values,
  ``options.prefix`` / ``suffix``, the ``providers`` / ``prompts`` filters, and
  ``evaluateOptions.maxConcurrency`` / ``repeat`` (concurrency and trials).
- Assertions with an evallock equal (the table :data:`ASSERTIONS`, ``not-`` forms too);
  ``llm-rubric`` and ``model-graded-closedqa`` become the case's judge rubric (a
  ``threshold`` on its 0–1 score becomes the 1–5 pass score), ``factuality`` the judge
  grading against the fact as the reference answer.

evallock sends one user message per case: each case's ``input`` is the promptfoo prompt
rendered with the case's variables (Jinja2 reads promptfoo's Nunjucks ``{{ var }}``), and
the variables are kept as the case's ``vars``. Anything that has no evallock equal (a
second prompt, a provider that is not OpenAI-compatible, ``javascript`` and ``python``
assertions, ``transform`` …) is listed with the file and line it came from: never dropped
silently.
"""

from __future__ import annotations

import csv
import fnmatch
import glob
import io
import itertools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evallock.errors import UsageError
from evallock.promptfoo._checks import assertion_from_string, map_checks

__all__ = ["PromptfooImport", "import_promptfoo"]

_OPENAI = re.compile(r"^openai:(?:(?P<api>chat|responses):)?(?P<model>[^:]+)$")
_TOP_LEVEL = frozenset(
    {
        "description",
        "prompts",
        "providers",
        "tests",
        "defaultTest",
        "scenarios",
        "assertionTemplates",
        "tags",
        "evaluateOptions",
    }
)
_TEST_KEYS = frozenset(
    {
        "description",
        "vars",
        "assert",
        "threshold",
        "metadata",
        "options",
        "providers",
        "prompts",
    }
)
_MAX_REF_DEPTH = 32


@dataclass
class PromptfooImport:
    """What a promptfoo config becomes: cases, the target and judge, and what did not map."""

    cases: list[dict[str, Any]] = field(default_factory=list)
    target: dict[str, Any] = field(default_factory=dict)
    """``base_url``, ``model``, ``api_key_env`` and, when given, ``api`` and ``params``."""
    judge: dict[str, Any] = field(default_factory=dict)
    """The same shape, from ``defaultTest.options.provider``; empty when the config names
    no grader (then the target grades, as promptfoo's default grader is an OpenAI model)."""
    run: dict[str, int] = field(default_factory=dict)
    """``concurrency`` and ``trials``, from ``evaluateOptions``."""
    unmapped: list[str] = field(default_factory=list)
    """``file:line: what, and why`` for everything left behind."""


def _read_yaml(path: Path, what: str) -> tuple[Any, _Lines]:
    """A YAML / JSON file's data, as js-yaml reads it (YAML 1.2: ``Yes`` is text), with
    the bounds of evallock's own YAML reader, and where each part of it is.

    Raises:
        UsageError: the file cannot be read or parsed, or crosses a bound.
    """
    import yaml

    from evallock.cases import compose_yaml, construct_yaml

    try:
        text = path.read_text(encoding="utf-8")
        node = compose_yaml(text, core_schema=True)
        data = None if node is None else construct_yaml(node, core_schema=True)
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{what}: {path}: {getattr(exc, 'strerror', None) or exc}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{what}: {path}: {' '.join(str(exc).split())}") from None
    return data, _Lines(path, node)


class _Lines:
    """Where each part of one YAML / JSON file is: ``file:line`` by path."""

    def __init__(self, file: Path, root: Any) -> None:
        self.file = file
        self.found: dict[tuple[Any, ...], int] = {}
        if root is not None:
            self._walk(root, ())

    def _walk(self, node: Any, path: tuple[Any, ...]) -> None:
        import yaml

        self.found[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                self._walk(value, (*path, key.value))
                self.found[(*path, key.value)] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._walk(item, (*path, index))

    def at(self, path: tuple[Any, ...]) -> str:
        """``file:line`` of ``path``, or of the nearest part of the file that holds it."""
        while path and path not in self.found:
            path = path[:-1]
        return f"{self.file}:{self.found.get(path, 1)}"


Where = Callable[[tuple[Any, ...]], str]
"""A test's locator: a path inside the test → ``file:line``."""


def _inside(lines: _Lines, here: tuple[Any, ...]) -> Where:
    """The locator of a test at ``here`` in a YAML / JSON file."""

    def at(sub: tuple[Any, ...]) -> str:
        return lines.at((*here, *sub))

    return at


def _fixed(where: str) -> Where:
    """The locator of a test on one line (a CSV row, a JSONL line)."""

    def at(sub: tuple[Any, ...]) -> str:
        return where

    return at


@dataclass
class _Test:
    data: dict[str, Any]
    at: Where
    description: str | None = None


@dataclass
class _Prompt:
    template: str | list[dict[str, Any]]
    names: tuple[str, ...]
    """What a test's ``prompts`` filter may call it: its label, id, file or text."""


@dataclass
class _Context:
    base: Path
    root: dict[str, Any]
    lines: _Lines
    out: PromptfooImport
    prompt: _Prompt
    provider_names: tuple[str, ...] = ()

    def note(self, where: str, what: str) -> None:
        self.out.unmapped.append(f"{where}: {what}")

    def sort_notes(self) -> None:
        """The notes in file and line order, as a reader goes through the config."""

        def place(note: str) -> tuple[str, int]:
            file, line, _ = note.split(":", 2) if note.count(":") >= 2 else (note, "0", "")
            return file, int(line) if line.isdigit() else 0

        self.out.unmapped.sort(key=place)


def import_promptfoo(path: str | Path) -> PromptfooImport:
    """Read a promptfoo config (YAML or JSON) into evallock cases and settings.

    Raises:
        UsageError: the file cannot be read, is not a promptfoo config, has no prompt, or
            a ``$ref`` that does not resolve.
    """
    file = Path(path)
    config, lines = _read_yaml(file, "cannot read the promptfoo config")
    if not isinstance(config, dict) or "prompts" not in config:
        raise UsageError(f"{file}: not a promptfoo config (no `prompts:`)")
    config = _deref(config, config, lines, ())
    out = PromptfooImport()
    notes: list[str] = []
    prompt = _prompt(config["prompts"], file.parent, lines, notes)
    ctx = _Context(base=file.parent, root=config, lines=lines, out=out, prompt=prompt)
    out.unmapped.extend(notes)
    _providers(config.get("providers"), ctx)
    for key in sorted(set(config) - _TOP_LEVEL):
        ctx.note(lines.at((key,)), f"`{key}` has no evallock equal (left out)")
    _evaluate_options(config.get("evaluateOptions"), ctx)
    default = _default_test(config.get("defaultTest"), ctx)
    tags = _mapping(config.get("tags"))
    tests = list(_tests(config.get("tests"), ("tests",), ctx))
    tests.extend(_scenarios(config.get("scenarios"), ctx))
    for number, test in enumerate(tests, start=1):
        _cases(test, default, tags, number, ctx)
    ctx.sort_notes()
    return out


# --- $ref -----------------------------------------------------------------------------


def _deref(node: Any, root: dict[str, Any], lines: _Lines, path: tuple[Any, ...]) -> Any:
    """``node`` with each ``{"$ref": "#/a/b"}`` replaced by what it points to in the config."""
    depth = 0
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise UsageError(f"{lines.at(path)}: $ref {ref!r}: only #/… inside the config is read")
        depth += 1
        if depth > _MAX_REF_DEPTH:
            raise UsageError(f"{lines.at(path)}: $ref {ref!r} goes round in circles")
        target: Any = root
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(target, dict) and part in target:
                target = target[part]
            elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
                target = target[int(part)]
            else:
                raise UsageError(f"{lines.at(path)}: $ref {ref!r} points at nothing")
        node = target
    if isinstance(node, dict):
        return {k: _deref(v, root, lines, (*path, k)) for k, v in node.items()}
    if isinstance(node, list):
        return [_deref(v, root, lines, (*path, i)) for i, v in enumerate(node)]
    return node


# --- prompts and providers ------------------------------------------------------------


def _prompt(given: Any, base: Path, lines: _Lines, notes: list[str]) -> _Prompt:
    prompts: list[_Prompt] = []
    places: list[str] = []
    items = given if isinstance(given, list) else [given]
    for index, item in enumerate(items):
        where = lines.at(("prompts", index) if isinstance(given, list) else ("prompts",))
        names: tuple[str, ...] = ()
        if isinstance(item, dict):
            names = tuple(str(item[k]) for k in ("label", "id") if item.get(k))
            item = item.get("raw") or item.get("id")
        if isinstance(item, str) and item.startswith("file://"):
            name = item.removeprefix("file://")
            if Path(name).suffix in (".js", ".ts", ".py", ".mjs", ".cjs"):
                notes.append(f"{where}: prompt {item} left out: evallock runs no prompt function")
                continue
            for template in _prompt_file(base / name):
                prompts.append(_Prompt(template, (*names, item, name)))
                places.append(where)
        elif isinstance(item, str):
            prompts.append(_Prompt(item, (*names, item)))
            places.append(where)
    if not prompts:
        raise UsageError("prompts: no prompt evallock can read (a string or a file:// file)")
    for number in range(1, len(prompts)):
        notes.append(
            f"{places[number]}: prompt {number + 1} left out: evallock runs one prompt per"
            " target (compare two with `evallock ab --a prompt=… --b prompt=…`)"
        )
    return prompts[0]


def _prompt_file(path: Path) -> list[str | list[dict[str, Any]]]:
    if path.suffix in (".json", ".yaml", ".yml"):
        messages, _ = _read_yaml(path, "prompts")
        if isinstance(messages, list) and all(
            isinstance(m, dict) and "role" in m for m in messages
        ):
            return [messages]
        raise UsageError(f"prompts: {path}: expected a list of chat messages (role, content)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"prompts: {path}: {getattr(exc, 'strerror', None) or exc}") from None
    return [part.strip() for part in re.split(r"(?m)^---$", text) if part.strip()]


def _provider(item: Any) -> tuple[str, dict[str, Any], str | None]:
    if isinstance(item, dict):
        config = item.get("config")
        label = item.get("label")
        return (
            str(item.get("id") or ""),
            config if isinstance(config, dict) else {},
            str(label) if label else None,
        )
    return str(item or ""), {}, None


def _openai_target(
    ident: str, config: dict[str, Any], where: str, ctx: _Context
) -> dict[str, Any] | None:
    """The target an OpenAI-compatible provider id names, or None for any other provider."""
    match = _OPENAI.match(ident)
    if match is None:
        return None
    base_url = config.get("apiBaseUrl") or (
        f"https://{config['apiHost']}/v1" if config.get("apiHost") else "https://api.openai.com/v1"
    )
    target: dict[str, Any] = {
        "base_url": str(base_url),
        "model": match["model"],
        "api_key_env": str(config.get("apiKeyEnvar") or "OPENAI_API_KEY"),
    }
    if match["api"] == "responses":
        target["api"] = "responses"
    params = {k: config[k] for k in ("temperature", "max_tokens", "top_p", "seed") if k in config}
    if params:
        target["params"] = params
    if "apiKey" in config:
        ctx.note(where, "apiKey left out: secrets come from environment variables (apiKeyEnvar)")
    return target


def _providers(given: Any, ctx: _Context) -> None:
    listed = isinstance(given, list)
    for index, item in enumerate(given if listed else [given] if given else []):
        where = ctx.lines.at(("providers", index) if listed else ("providers",))
        ident, config, label = _provider(item)
        target = _openai_target(ident, config, where, ctx)
        if target is None:
            hint = " (a Python provider: target.python)" if ident.startswith("file://") else ""
            ctx.note(where, f"provider {ident!r} left out: not OpenAI-compatible{hint}")
            continue
        if ctx.out.target:
            ctx.note(
                where,
                f"provider {ident!r} left out: evallock runs one target"
                " (compare two with `evallock ab`)",
            )
            continue
        ctx.out.target = target
        ctx.provider_names = tuple(n for n in (ident, label) if n)
        if isinstance(item, dict):
            for key in sorted(set(item) - {"id", "label", "config"}):
                ctx.note(where, f"provider {key} left out: no evallock equal")


def _evaluate_options(given: Any, ctx: _Context) -> None:
    if not isinstance(given, dict):
        return
    for key, value in given.items():
        where = ctx.lines.at(("evaluateOptions", key))
        if key == "maxConcurrency" and isinstance(value, int) and value > 0:
            ctx.out.run["concurrency"] = value
        elif key == "repeat" and isinstance(value, int) and value > 0:
            ctx.out.run["trials"] = value
        elif key not in ("showProgressBar", "cache"):
            ctx.note(where, f"evaluateOptions.{key} left out: no evallock equal")


# --- tests ----------------------------------------------------------------------------


def _default_test(given: Any, ctx: _Context) -> _Test:
    where = ctx.lines.at(("defaultTest",))
    if isinstance(given, str) and given.startswith("file://"):
        loaded = list(_test_file(ctx.base / given.removeprefix("file://"), ctx))
        if len(loaded) != 1:
            raise UsageError(f"{where}: defaultTest {given}: expected one test, got {len(loaded)}")
        default = loaded[0]
    elif isinstance(given, dict):
        default = _Test(given, _inside(ctx.lines, ("defaultTest",)))
    elif given is None:
        default = _Test({}, _fixed(where))
    else:
        raise UsageError(f"{where}: defaultTest must be a test or a file://, got {given!r}")
    options = default.data.get("options")
    if isinstance(options, dict) and options.get("provider") is not None:
        ident, config, _ = _provider(options["provider"])
        judge = _openai_target(ident, config, default.at(("options", "provider")), ctx)
        if judge is None:
            ctx.note(
                default.at(("options", "provider")),
                f"grader {ident!r} left out: not OpenAI-compatible (the target grades)",
            )
        else:
            ctx.out.judge = judge
        default.data = {
            **default.data,
            "options": {k: v for k, v in options.items() if k != "provider"},
        }
    _note_options(default.data.get("options"), default, ctx)
    return default


def _tests(given: Any, path: tuple[Any, ...], ctx: _Context) -> Iterator[_Test]:
    if given is None:
        return
    listed = isinstance(given, list)
    for index, item in enumerate(given if listed else [given]):
        here = (*path, index) if listed else path
        if isinstance(item, dict) and "path" not in item:
            yield _Test(item, _inside(ctx.lines, here))
        elif isinstance(item, str) and item.startswith("file://"):
            pattern = str(ctx.base / item.removeprefix("file://"))
            paths = sorted(glob.glob(pattern)) or [pattern]
            for found in paths:
                yield from _test_file(Path(found), ctx)
        else:
            shown = str(item)[:60]
            ctx.note(ctx.lines.at(here), f"tests entry {shown!r} left out: not a test or a file://")


def _scenarios(given: Any, ctx: _Context) -> Iterator[_Test]:
    """Each scenario's tests, once for each of its ``config`` var-sets (promptfoo's matrix)."""
    if given is None:
        return
    for index, scenario in enumerate(given if isinstance(given, list) else [given]):
        here = ("scenarios", index)
        if not isinstance(scenario, dict):
            ctx.note(ctx.lines.at(here), "scenario left out: not a mapping with config and tests")
            continue
        configs = scenario.get("config") or [{}]
        tests = list(_tests(scenario.get("tests"), (*here, "tests"), ctx))
        for config in configs if isinstance(configs, list) else [configs]:
            if not isinstance(config, dict) or "$values" in config:
                ctx.note(ctx.lines.at((*here, "config")), "scenario config entry left out")
                continue
            for test in tests:
                merged = _merge(config, test.data)
                parts = (scenario.get("description"), test.data.get("description"))
                label = " / ".join(str(part) for part in parts if part)
                if label:
                    merged["description"] = label
                yield _Test(merged, test.at)


def _test_file(path: Path, ctx: _Context) -> Iterator[_Test]:
    if path.suffix not in (".csv", ".jsonl"):
        data, lines = _read_yaml(path, "tests")
        items = data if isinstance(data, list) else [data]
        for index, test in enumerate(items):
            here: tuple[Any, ...] = (index,) if isinstance(data, list) else ()
            if isinstance(test, dict):
                test = _deref(test, ctx.root, lines, here)
                yield _Test(test, _inside(lines, here))
            else:
                ctx.note(lines.at(here), "tests entry left out: not a test")
        return
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"tests: {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if path.suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        for row in reader:
            where = f"{path}:{reader.line_num}"
            yield _Test(_csv_test(row, where, ctx), _fixed(where))
        return
    for number, line in enumerate(text.splitlines(), start=1):  # JSONL
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{where}: not JSON: {exc}") from None
        if isinstance(data, dict):
            yield _Test(data, _fixed(where))
        else:
            ctx.note(where, "tests entry left out: not a test")


def _csv_test(row: dict[str, str | None], where: str, ctx: _Context) -> dict[str, Any]:
    """A promptfoo CSV row: columns are vars, ``__`` columns say how to check and label."""
    test: dict[str, Any] = {"vars": {}, "assert": []}
    options: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    for column, value in row.items():
        value = value or ""
        if column is None:
            ctx.note(where, "cells past the header's columns left out")
        elif column.startswith("__expected") and value:
            test["assert"].append(assertion_from_string(value))
        elif column == "__description":
            test["description"] = value
        elif column == "__threshold" and value:
            test["threshold"] = float(value)
        elif column in ("__prefix", "__suffix") and value:
            options[column.strip("_")] = value
        elif column.startswith("__metadata:") and value:
            key = column.removeprefix("__metadata:")
            if key.endswith("[]"):
                metadata[key[:-2]] = ",".join(
                    part.replace("\\,", ",").strip() for part in re.split(r"(?<!\\),", value)
                )
            else:
                metadata[key] = value
        elif column.startswith("__") and value:
            ctx.note(where, f"column {column} left out: no evallock equal")
        elif not column.startswith("__"):
            test["vars"][column] = value
    if options:
        test["options"] = options
    if metadata:
        test["metadata"] = metadata
    return test


def _merge(default: dict[str, Any], test: dict[str, Any]) -> dict[str, Any]:
    """promptfoo's merge (``src/evaluator.ts``): the default's checks first, its vars,
    options and metadata under the test's, its threshold unless the test has one."""
    merged = {**default, **test}
    for key in ("vars", "options", "metadata"):
        if isinstance(default.get(key), dict) or isinstance(test.get(key), dict):
            merged[key] = {**(default.get(key) or {}), **(test.get(key) or {})}
    merged["assert"] = [*(default.get("assert") or []), *(test.get("assert") or [])]
    if test.get("threshold") is None and default.get("threshold") is not None:
        merged["threshold"] = default["threshold"]
    return merged


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _chosen(filters: Any, names: tuple[str, ...]) -> bool:
    """Whether a test's ``providers`` / ``prompts`` filter lets the chosen one through."""
    wanted = filters if isinstance(filters, list) else [filters]
    return any(fnmatch.fnmatchcase(name, str(w)) for w in wanted for name in names)


# --- cases ----------------------------------------------------------------------------


def _cases(test: _Test, default: _Test, tags: dict[str, Any], number: int, ctx: _Context) -> None:
    from jinja2 import Environment, StrictUndefined, TemplateError

    data = test.data
    merged = _merge(default.data, data)
    for key in sorted(set(data) - _TEST_KEYS):
        ctx.note(test.at((key,)), f"test {key} left out: no evallock equal")
    if "providers" in data and not _chosen(data["providers"], ctx.provider_names):
        ctx.note(test.at(("providers",)), "test left out: its providers filter excludes the target")
        return
    if "prompts" in data and not _chosen(data["prompts"], ctx.prompt.names):
        ctx.note(test.at(("prompts",)), "test left out: its prompts filter excludes the prompt")
        return
    options: dict[str, Any] = _mapping(merged.get("options"))
    _note_options(data.get("options"), test, ctx)
    variables = _mapping(merged.get("vars"))
    listed = {k: v for k, v in variables.items() if isinstance(v, list)}
    combos = (
        [dict(zip(listed, values, strict=True)) for values in itertools.product(*listed.values())]
        if listed and not options.get("disableVarExpansion")
        else [{}]
    )
    defaults = len(default.data.get("assert") or [])
    env = Environment(undefined=StrictUndefined, autoescape=False)  # noqa: S701 - text, not HTML
    prefix, suffix = str(options.get("prefix") or ""), str(options.get("suffix") or "")
    for index, combo in enumerate(combos, start=1):
        values = {**variables, **combo}
        try:
            rendered: Any
            if isinstance(ctx.prompt.template, str):
                rendered = prefix + env.from_string(ctx.prompt.template).render(**values) + suffix
            else:
                rendered = [
                    {**m, "content": env.from_string(str(m.get("content", ""))).render(**values)}
                    for m in ctx.prompt.template
                ]
            items = [_render(item, env, values) for item in merged["assert"]]
        except TemplateError as exc:
            ctx.note(test.at(()), f"test left out: it does not render with its vars ({exc})")
            continue
        case: dict[str, Any] = {
            "id": f"pf-{number:03d}" + (f"-{index}" if len(combos) > 1 else ""),
            "input": rendered,
            "vars": values,
        }
        map_checks(items, case, _noter(test, default, defaults, ctx, quiet=index > 1))
        if "assert" not in case and "judge" not in case:
            ctx.note(
                test.at(()), f"{case['id']} left out: none of its checks has an evallock equal"
            )
            continue
        threshold = merged.get("threshold")
        if threshold is not None:
            case["threshold"] = float(threshold)
        if merged.get("description"):
            case["description"] = str(merged["description"])
        keys = {
            str(k): v
            for k, v in {**tags, **_mapping(merged.get("metadata"))}.items()
            if isinstance(v, str | int | float | bool)
        }
        if keys:
            case["keys"] = keys
        ctx.out.cases.append(case)


_OPTIONS = frozenset({"prefix", "suffix", "disableVarExpansion"})


def _note_options(options: Any, test: _Test, ctx: _Context) -> None:
    for key in sorted(set(options) - _OPTIONS if isinstance(options, dict) else ()):
        ctx.note(test.at(("options", key)), f"options.{key} left out: no evallock equal")


def _render(item: Any, env: Any, values: dict[str, Any]) -> Any:
    """An assertion with ``{{ var }}`` in its values rendered (promptfoo renders them too)."""
    if isinstance(item, str) and ("{{" in item or "{%" in item):
        return env.from_string(item).render(**values)
    if isinstance(item, dict):
        return {k: v if k == "type" else _render(v, env, values) for k, v in item.items()}
    if isinstance(item, list):
        return [_render(v, env, values) for v in item]
    return item


def _noter(test: _Test, default: _Test, defaults: int, ctx: _Context, *, quiet: bool) -> Any:
    """``note(position, what, *sub)`` for the merged assertions (the default test's first);
    ``quiet`` for a later expansion of the same test, whose notes were made already."""

    def note(position: int, what: str, *sub: Any) -> None:
        if quiet:
            return
        if position < defaults:
            ctx.note(default.at(("assert", position, *sub)), what)
        else:
            ctx.note(test.at(("assert", position - defaults, *sub)), what)

    return note
