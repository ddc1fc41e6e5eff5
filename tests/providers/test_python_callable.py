"""Python callables as targets, and prompt templates."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import pytest

from evallock.errors import UsageError
from evallock.providers import CallableProvider, PromptTemplate, ProviderError, build_messages
from evallock.records import Case


@pytest.fixture
def bots(tmp_path: Path):
    (tmp_path / "mybots.py").write_text(
        "import asyncio\n"
        "def sync_bot(messages):\n    return 'sync:' + messages[-1]['content']\n"
        "async def async_bot(messages):\n    await asyncio.sleep(0)\n    return {'output': 'async', 'tokens_in': 3, 'cost': 0.004}\n"
        "def broken(messages):\n    raise RuntimeError('boom')\n"
        "def wrong_type(messages):\n    return 42\n"
        "NOT_CALLABLE = 1\n"
    )
    sys.path.insert(0, str(tmp_path))
    yield
    sys.path.remove(str(tmp_path))
    sys.modules.pop("mybots", None)


def complete(spec: str, text: str = "hi"):
    async def go():
        return await CallableProvider(spec).complete([{"role": "user", "content": text}], timeout=5)

    return anyio.run(go)


def test_sync_and_async_callables(bots) -> None:
    assert complete("mybots:sync_bot", "q").text == "sync:q"
    result = complete("mybots:async_bot")
    assert result.text == "async" and result.tokens_in == 3 and result.cost == 0.004
    assert CallableProvider("mybots:sync_bot").target_id == "python:mybots:sync_bot"


def test_callable_failures_are_case_errors_not_retried(bots) -> None:
    with pytest.raises(ProviderError, match="RuntimeError: boom") as info:
        complete("mybots:broken")
    assert not info.value.retryable
    with pytest.raises(ProviderError, match="returned int"):
        complete("mybots:wrong_type")


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("nocolon", "module:function"),
        ("no_such_module_xyz:f", "cannot import"),
        ("mybots:missing", "has no missing"),
        ("mybots:NOT_CALLABLE", "not callable"),
    ],
)
def test_bad_specs_are_usage_errors(bots, spec, needle) -> None:
    with pytest.raises(UsageError, match=needle):
        CallableProvider(spec)


def test_prompt_renders_input_and_vars_as_the_system_message(tmp_path: Path) -> None:
    path = tmp_path / "p.txt"
    path.write_text("Plan: {{ plan }}. Question: {{ input }}")
    prompt = PromptTemplate.from_file(path)
    case = Case(id="a", input="Refund?", vars={"plan": "pro"})
    assert build_messages(case, prompt) == [
        {"role": "system", "content": "Plan: pro. Question: Refund?"},
        {"role": "user", "content": "Refund?"},
    ]
    with pytest.raises(ValueError, match="'plan' is undefined"):
        build_messages(Case(id="b", input="x"), prompt)


def test_chat_input_is_passed_as_messages(tmp_path: Path) -> None:
    messages = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b"},
        {"role": "user", "content": "c"},
    ]
    case = Case(id="a", input=messages)
    assert build_messages(case, None) == messages


def test_template_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("line one\n{% if %}\n")
    with pytest.raises(UsageError, match=r"bad.txt:2: prompt template"):
        PromptTemplate.from_file(path)


@pytest.mark.parametrize(
    "source",
    [
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ vars.update({'plan': 'free'}) }}",
        "{{ input.__class__ }}",
        "{{ 'a' * 1000000000 }}",
        "{{ 9 ** 99999999 }}",
        "{{ (10 ** 9000) * (10 ** 9000) * (10 ** 9000) * (10 ** 9000) }}",
    ],
)
def test_templates_render_in_the_sandbox_and_a_violation_is_a_usage_error(
    tmp_path: Path, source: str
) -> None:
    path = tmp_path / "evil.txt"
    path.write_text(source)
    prompt = PromptTemplate.from_file(path)
    with pytest.raises(UsageError, match=f"prompt template {path}: not allowed in the sandbox"):
        build_messages(Case(id="a", input="hi", vars={"plan": "pro"}), prompt)


@pytest.mark.parametrize(
    ("source", "needle"),
    [
        ("{{ 1 / n }}", "ZeroDivisionError"),
        ("{% for i in range(100000) %}{{ 'x' * 20 }}{% endfor %}", "passes 1,048,576 characters"),
        ("{{ missing }}", "'missing' is undefined"),
    ],
)
def test_a_template_that_cannot_render_for_a_case_is_a_value_error(
    tmp_path: Path, source: str, needle: str
) -> None:
    path = tmp_path / "p.txt"
    path.write_text(source)
    prompt = PromptTemplate.from_file(path)
    with pytest.raises(ValueError, match=needle) as caught:
        build_messages(Case(id="a", input="hi", vars={"n": 0}), prompt)
    assert not isinstance(caught.value, UsageError)


def test_ordinary_templates_still_render(tmp_path: Path) -> None:
    path = tmp_path / "p.txt"
    path.write_text(
        "{% for k, v in vars|dictsort %}{{ k }}={{ v|upper }};{% endfor %} {{ input|length }}"
        " {{ '-' * 3 }} {{ 2 ** 10 }} {{ vars.plan.title() }}\n"
    )
    prompt = PromptTemplate.from_file(path)
    rendered = build_messages(Case(id="a", input="hey", vars={"plan": "pro"}), prompt)
    assert rendered[0]["content"] == "plan=PRO; 3 --- 1024 Pro\n"


def test_a_prompt_file_that_is_not_utf8_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "p.txt"
    path.write_bytes(b"\xff\xfe bad")
    with pytest.raises(UsageError, match="cannot read"):
        PromptTemplate.from_file(path)


@pytest.mark.parametrize(
    "source",
    [
        "You are Acme support.\n",
        "no trailing newline",
        "windows\r\nline\rbreaks\r\n\r\n",
        "braces { } }} %} #} and { {x} } { %",
        "",
        "\n\n",
    ],
)
def test_a_prompt_without_template_syntax_renders_as_jinja2_would(
    tmp_path: Path, source: str
) -> None:
    path = tmp_path / "p.txt"
    path.write_bytes(source.encode())
    prompt = PromptTemplate.from_file(path)
    case = Case(id="a", input="hi", vars={"n": 1})
    from evallock.providers._prompt import _sandbox

    expected = _sandbox().from_string(source).render(input="hi", vars={"n": 1}, n=1)
    assert build_messages(case, prompt)[0]["content"] == expected


def test_a_plain_prompt_is_used_without_importing_jinja2(tmp_path: Path) -> None:
    import subprocess

    path = tmp_path / "p.txt"
    path.write_text("You are Acme support.\n")
    code = (
        "import sys\n"
        "from evallock.providers import PromptTemplate, build_messages\n"
        "from evallock.records import Case\n"
        f"prompt = PromptTemplate.from_file({str(path)!r})\n"
        "print(build_messages(Case(id='a', input='hi'), prompt)[0]['content'], end='')\n"
        "print('|', 'jinja2' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == "You are Acme support.\n| False\n"


def test_a_plain_prompt_past_the_limit_is_an_error_on_the_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evallock.providers import _prompt

    monkeypatch.setattr(_prompt, "MAX_PROMPT", 10)
    path = tmp_path / "p.txt"
    path.write_text("x" * 11)
    prompt = PromptTemplate.from_file(path)
    with pytest.raises(ValueError, match="the rendered prompt passes 10 characters"):
        build_messages(Case(id="a", input="hi"), prompt)
