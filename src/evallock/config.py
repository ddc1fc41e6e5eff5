"""Settings: ``evallock.yaml`` merged with command-line flags (a flag wins over the file).

The file's sections validate straight into the frozen types the code runs on,
one type per concept: ``target:`` → :class:`~evallock.session.TargetSpec`,
``judge:`` → :class:`~evallock.session.JudgeSpec`, ``gate:`` →
:class:`~evallock.gate.GateThresholds`, ``run:`` →
:class:`~evallock.runner.RunOptions`. pydantic validates them at the edge;
unknown fields are errors that name the file and the field, so a typo never
silently changes a gate. Flags then replace fields through one merge,
:func:`overlay`.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from evallock.calibration import CalibrationFloor
from evallock.errors import ConfigError
from evallock.gate import GateThresholds
from evallock.online import EvaluatorRule
from evallock.runner import RunOptions
from evallock.session import JudgeSpec, TargetSpec

__all__ = [
    "CONFIG_FILE",
    "DEFAULT_STORE",
    "Settings",
    "judge_of",
    "load_settings",
    "overlay",
    "resolve_secret",
    "target_of",
]

CONFIG_FILE = "evallock.yaml"
DEFAULT_STORE = "sqlite:///.evallock/evallock.db"

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_Spec = TypeVar("_Spec", bound="DataclassInstance")


class Settings(BaseModel):
    """Everything ``evallock.yaml`` can say, each section as the type the code runs on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    store: str = DEFAULT_STORE
    target: TargetSpec = Field(default_factory=TargetSpec)
    judge: JudgeSpec = Field(default_factory=JudgeSpec)
    gate: GateThresholds = Field(default_factory=GateThresholds)
    run: RunOptions = Field(default_factory=RunOptions)
    baseline: str = "last-pass"
    """``run.baseline`` in the file: ``last-pass``, ``none`` or a run id."""
    calibration: CalibrationFloor = Field(default_factory=CalibrationFloor)
    """When the judge counts as calibrated against people's labels."""
    evaluators: tuple[EvaluatorRule, ...] = ()
    """Online evaluators that ``evallock serve`` runs on live traces (``evallock evaluate``
    over stored ones); each item's ``assert`` is its checks."""
    root: str = "."
    """The directory the config was read from; relative paths in it are relative to it."""

    @model_validator(mode="before")
    @classmethod
    def _file_layout(cls, data: Any) -> Any:
        """Map the file's spelling onto the types: ``run.retries``, ``run.cache``, ``run.baseline``.

        Raises:
            ValueError: a secret written into the file (``api_key``).
        """
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for section in ("target", "judge"):
            if isinstance(data.get(section), dict) and "api_key" in data[section]:
                raise ValueError(
                    f"{section}.api_key: secrets never live in files; name the environment"
                    f" variable that holds it with {section}.api_key_env"
                )
        evaluators = data.get("evaluators")
        if isinstance(evaluators, list):
            data["evaluators"] = [
                {("asserts" if k == "assert" else k): v for k, v in item.items()}
                if isinstance(item, dict)
                else item
                for item in evaluators
            ]
        run = data.get("run")
        if isinstance(run, dict):
            run = dict(run)
            if "retries" in run:
                run["retry"] = {"retries": run.pop("retries")}
            if "cache" in run:
                run["cache_target"] = run.pop("cache")
            if "baseline" in run:
                data["baseline"] = run.pop("baseline")
            data["run"] = run
        return data

    def resolve(self, path: str) -> Path:
        """A path from the config, relative to the config's directory."""
        candidate = Path(path)
        return candidate if candidate.is_absolute() else Path(self.root) / candidate


def overlay(base: _Spec, **flags: Any) -> _Spec:
    """``base`` with each flag that was given (not None) in place of its field.

    The one flags-over-config merge: a flag wins over the file, a flag left out
    keeps the file's value (or the default). The type's own checks run again on
    the result, so a bad flag is refused as a bad file value is.

    >>> overlay(GateThresholds(min_pass_rate=0.8), min_pass_rate=None, max_new_failures=2)
    GateThresholds(min_pass_rate=0.8, max_new_failures=2)
    """
    given = {name: value for name, value in flags.items() if value is not None}
    return replace(base, **given) if given else base


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
        problems = "; ".join(_problem(e) for e in exc.errors())
        raise ConfigError(f"{path}: {problems}") from None
    except ConfigError as exc:  # a section's own check (``RunOptions.__post_init__`` …)
        raise ConfigError(f"{path}: {exc}") from None


_UNKNOWN = frozenset({"extra_forbidden", "unexpected_keyword_argument"})


def _problem(error: Any) -> str:
    """``section.field: what is wrong`` for one pydantic error."""
    where = ".".join(str(p) for p in error["loc"])
    what = "unknown field" if error["type"] in _UNKNOWN else error["msg"]
    what = what.removeprefix("Value error, ")
    return f"{where}: {what}" if where else what


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


def target_of(settings: Settings, **flags: Any) -> TargetSpec:
    """The target: each flag given (not None) over ``target:``, the prompt file resolved
    against the config's folder, the API key read from the variable it names.

    ``keys`` (a mapping) is added to the config's keys, a flag winning on the same key.

    Raises:
        ConfigError: a flag the type refuses, or the key's variable is not set.
    """
    target = settings.target
    keys = flags.pop("keys", None)
    prompt = flags.pop("prompt", None)
    chosen = overlay(
        target,
        prompt=str(prompt)
        if prompt
        else (str(settings.resolve(target.prompt)) if target.prompt else None),
        keys={**target.keys, **keys} if keys else None,
        **flags,
    )
    return replace(chosen, api_key=resolve_secret(chosen.api_key_env))


def judge_of(settings: Settings, **flags: Any) -> JudgeSpec:
    """The judge: each flag given (not None) over ``judge:``, its API key read.

    Raises:
        ConfigError: the key's variable is not set.
    """
    judge = overlay(settings.judge, **flags)
    return replace(judge, api_key=resolve_secret(judge.api_key_env))
