"""The public API at the top: what ``import evallock`` offers, loaded on first use."""

from __future__ import annotations

import subprocess
import sys

import pytest

import evallock


def test_every_exported_name_resolves_to_its_home() -> None:
    assert evallock.__all__ == sorted(evallock.__all__)
    for name in evallock.__all__:
        value = getattr(evallock, name)
        assert value is not None
        module = getattr(value, "__module__", "")
        assert module.startswith("evallock."), (name, module)


def test_the_verbs_a_user_reaches_for_are_there() -> None:
    for name in (
        "open_store",
        "open_cases",
        "run_eval",
        "compare_variants",
        "run_drift",
        "propose_candidates",
        "accept_candidate",
        "reject_candidate",
        "promote_candidates",
        "UsageError",
        "InfraError",
        "Run",
        "Trace",
    ):
        assert name in evallock.__all__, name


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_thing"):
        _ = evallock.no_such_thing


def test_import_evallock_loads_no_heavy_module() -> None:
    code = (
        "import sys, evallock\n"
        "heavy = [m for m in ('sqlalchemy', 'aiohttp', 'numpy', 'pydantic', 'typer') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
