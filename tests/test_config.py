"""evallock.yaml validates straight into the frozen types; flags replace fields through one merge."""

from __future__ import annotations

from pathlib import Path

import pytest

from evallock.cli._common import gate_from, judge_from, run_options, target_from
from evallock.config import Settings, load_settings, overlay
from evallock.errors import ConfigError
from evallock.gate import GateThresholds
from evallock.runner import RunOptions
from evallock.session import JudgeSpec, TargetSpec


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "evallock.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_sections_are_the_types_the_code_runs_on(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        "target:\n  base_url: http://svc/v1\n  model: bot\n  prompt: prompts/v4.txt\n"
        "  keys: {prompt_version: v4}\n"
        "judge: {base_url: http://judge/v1, model: j, rubric: be kind}\n"
        "gate: {min_pass_rate: 0.8, max_new_failures: 2}\n"
        "run: {concurrency: 4, trials: 3, timeout: 5, retries: 1, cache: true, baseline: none}\n",
    )
    settings = load_settings(path)
    assert isinstance(settings.target, TargetSpec)
    assert isinstance(settings.judge, JudgeSpec)
    assert isinstance(settings.gate, GateThresholds)
    assert isinstance(settings.run, RunOptions)
    assert settings.target.keys == {"prompt_version": "v4"}
    assert settings.gate == GateThresholds(min_pass_rate=0.8, max_new_failures=2)
    assert (settings.run.concurrency, settings.run.trials, settings.run.timeout) == (4, 3, 5.0)
    assert settings.run.retry.retries == 1
    assert settings.run.cache_target is True
    assert settings.baseline == "none"
    assert settings.judge.params == {"temperature": 0}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("run: {concurrency: 0}\n", "concurrency must be within 1–1024, got 0"),
        ("run: {retries: 99}\n", "retries must be within 0–20, got 99"),
        ("run: {timeout: -1}\n", "timeout must be a positive number"),
        ("gate: {min_pass_rate: 1.5}\n", "min_pass_rate must be within [0, 1]"),
        ("gate: {max_new_failures: -1}\n", "max_new_failures must be 0 or more"),
        ("run: {concurency: 4}\n", "run.concurency: unknown field"),
        ("target: {modle: bot}\n", "target.modle: unknown field"),
        ("judge: {rubric: [1, 2]}\n", "judge.rubric: Input should be a valid string"),
        ("target: {api_key: sk-123}\n", "target.api_key: secrets never live in files"),
        ("judge: {api_key: sk-123}\n", "judge.api_key_env"),
        ("tagret: {}\n", "tagret: unknown field"),
    ],
)
def test_a_bad_file_names_the_file_and_the_field(tmp_path: Path, text: str, message: str) -> None:
    path = _config(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)
    assert "sk-123" not in str(caught.value)


def test_overlay_a_flag_wins_a_missing_flag_keeps_the_file() -> None:
    base = RunOptions(concurrency=4, trials=3)
    assert overlay(base, concurrency=None, trials=None) is base
    assert overlay(base, concurrency=8, trials=None) == RunOptions(concurrency=8, trials=3)
    with pytest.raises(ConfigError, match="trials must be within"):
        overlay(base, trials=0)


def test_cli_helpers_merge_flags_over_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SVC_KEY", "secret-1")
    path = _config(
        tmp_path,
        "target: {base_url: http://svc/v1, model: bot, prompt: p.txt, api_key_env: SVC_KEY,"
        " keys: {prompt_version: v3, tier: free}}\n"
        "judge: {base_url: http://judge/v1, model: j}\n"
        "run: {concurrency: 4, retries: 2}\n"
        "gate: {min_pass_rate: 0.7}\n",
    )
    settings = load_settings(path)
    target = target_from(settings, model="bot-v4", keys=["prompt_version=v4"])
    assert target.model == "bot-v4"
    assert target.base_url == "http://svc/v1"
    assert target.prompt == str(tmp_path / "p.txt")  # relative to the config's directory
    assert target.keys == {"prompt_version": "v4", "tier": "free"}
    assert target.api_key == "secret-1"
    assert "secret-1" not in repr(target)
    judge = judge_from(settings, base_url=None, model="j2", api_key_env=None, rubric="strict")
    assert (judge.base_url, judge.model, judge.rubric) == ("http://judge/v1", "j2", "strict")
    options = run_options(settings, concurrency=None, trials=2, timeout=None, retries=None)
    assert (options.concurrency, options.trials, options.retry.retries) == (4, 2, 2)
    assert (
        run_options(
            settings, concurrency=None, trials=None, timeout=None, retries=0, cache=True
        ).retry.retries
        == 0
    )
    gate = gate_from(settings, min_pass_rate=None, max_new_failures=3)
    assert gate == GateThresholds(min_pass_rate=0.7, max_new_failures=3)


def test_settings_without_a_file_are_the_types_defaults() -> None:
    settings = Settings()
    assert settings.run == RunOptions()
    assert settings.gate == GateThresholds()
    assert settings.target == TargetSpec()
    assert settings.baseline == "last-pass"
