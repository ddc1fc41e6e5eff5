"""Settings: ``evallock.yaml`` merged with command-line flags (a flag wins over the file).

pydantic validates the file at the edge; unknown fields are errors that name
the file and the field, so a typo never silently changes a gate.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evallock.errors import ConfigError

__all__ = [
    "CONFIG_FILE",
    "DEFAULT_STORE",
    "GateSettings",
    "JudgeSettings",
    "RunSettings",
    "Settings",
    "TargetSettings",
    "load_settings",
    "resolve_secret",
]

CONFIG_FILE = "evallock.yaml"
DEFAULT_STORE = "sqlite:///.evallock/evallock.db"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TargetSettings(_Strict):
    """The service under test."""

    base_url: str | None = None
    model: str | None = None
    api_key_env: str | None = None
    prompt: str | None = None
    python: str | None = None
    keys: dict[str, str] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)


class JudgeSettings(_Strict):
    """The LLM judge."""

    base_url: str | None = None
    model: str | None = None
    api_key_env: str | None = None
    rubric: str | None = None
    params: dict[str, Any] = Field(default_factory=lambda: {"temperature": 0})


class GateSettings(_Strict):
    """When a run fails the deploy."""

    min_pass_rate: float = Field(default=0.9, ge=0, le=1)
    max_new_failures: int = Field(default=0, ge=0)


class RunSettings(_Strict):
    """How a run asks the target."""

    concurrency: int = Field(default=16, ge=1, le=1024)
    trials: int = Field(default=1, ge=1, le=100)
    timeout: float = Field(default=60.0, gt=0)
    retries: int = Field(default=5, ge=0, le=20)
    baseline: str = "last-pass"


class Settings(_Strict):
    """Everything ``evallock.yaml`` can say."""

    store: str = DEFAULT_STORE
    target: TargetSettings = Field(default_factory=TargetSettings)
    judge: JudgeSettings = Field(default_factory=JudgeSettings)
    gate: GateSettings = Field(default_factory=GateSettings)
    run: RunSettings = Field(default_factory=RunSettings)
    root: str = "."
    """The directory the config was read from; relative paths in it are relative to it."""

    def resolve(self, path: str) -> Path:
        """A path from the config, relative to the config's directory."""
        candidate = Path(path)
        return candidate if candidate.is_absolute() else Path(self.root) / candidate


def load_settings(config: str | Path | None = None) -> Settings:
    """Read ``evallock.yaml`` (or ``config``); defaults when there is no file.

    Raises:
        ConfigError: the file is unreadable, not YAML, or has unknown/invalid fields.
    """
    if config is None:
        env = os.environ.get("EVALLOCK_CONFIG")
        path = Path(env) if env else Path(CONFIG_FILE)
        if not path.exists():
            return Settings(store=os.environ.get("EVALLOCK_STORE", DEFAULT_STORE))
    else:
        path = Path(config)
        if not path.exists():
            raise ConfigError(f"{path}: no such config file")
    import yaml

    # Imported here: only a config file on disk needs the YAML bounds (and the cases package).
    from evallock.cases import load_yaml

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from None
    try:
        data = load_yaml(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or exc
        raise ConfigError(f"{where}: cannot read config: {problem}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    data.setdefault("root", str(path.parent))
    if "EVALLOCK_STORE" in os.environ and "store" not in data:
        data["store"] = os.environ["EVALLOCK_STORE"]
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: "
            f"{'unknown field' if e['type'] == 'extra_forbidden' else e['msg']}"
            for e in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from None


def resolve_secret(env_var: str | None) -> str | None:
    """The value of the environment variable a config names; secrets never live in files.

    Raises:
        ConfigError: the config names a variable that is not set.
    """
    if not env_var:
        return None
    value = os.environ.get(env_var)
    if value is None:
        raise ConfigError(f"environment variable {env_var} is not set (named by api_key_env)")
    return value
