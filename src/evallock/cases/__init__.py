"""Case files: loading, validation with file:line, and the dataset id."""

from typing import TYPE_CHECKING

from evallock._lazy import lazy_names
from evallock.cases._load import CaseFile, open_cases, read_raw_cases
from evallock.cases._schema import case_from_raw, case_head_from_raw

if TYPE_CHECKING:
    from evallock.cases._yaml import compose_yaml, construct_yaml, load_yaml

__all__ = [
    "CaseFile",
    "case_from_raw",
    "case_head_from_raw",
    "compose_yaml",
    "construct_yaml",
    "load_yaml",
    "open_cases",
    "read_raw_cases",
]

# PyYAML loads only when a YAML file (or evallock.yaml) is read, not on every run.
__getattr__ = lazy_names(
    __name__, {"compose_yaml": "_yaml", "construct_yaml": "_yaml", "load_yaml": "_yaml"}
)
