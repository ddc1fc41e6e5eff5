"""Case files: loading, validation with file:line, and the dataset id."""

from evallock.cases._load import CaseFile, load_cases, open_cases, read_raw_cases
from evallock.cases._schema import case_from_raw, case_head_from_raw

__all__ = [
    "CaseFile",
    "case_from_raw",
    "case_head_from_raw",
    "load_cases",
    "open_cases",
    "read_raw_cases",
]
