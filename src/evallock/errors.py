"""The exception tree: every error that stops a command, and its exit code.

Errors that happen to one case (a target timeout, a grader that cannot parse a
judge reply) are *data* on that case's record, never exceptions that stop a run.
The exceptions here are for the run itself::

    EvallockError                   base; never raised directly
    ├── UsageError                  exit 2: bad input, flags or config
    │   ├── CaseFileError           a case file with bad lines (file:line: reason, each)
    │   ├── ConfigError             evallock.yaml or a flag that does not make sense
    │   ├── CandidateNotFoundError  no candidate has this id or id prefix (HTTP 404)
    │   └── CandidateStateError     its state does not allow the action (HTTP 409)
    └── InfraError                  exit 3: something we depend on is unreachable
        ├── TargetError             the service under test, after retries
        ├── JudgeError              the judge model, after retries
        └── StoreError              the store cannot be opened or written

Exit code 1 (the gate failed, an alert fired) is a verdict, not an exception.
"""

from __future__ import annotations

__all__ = [
    "CandidateNotFoundError",
    "CandidateStateError",
    "CaseFileError",
    "ConfigError",
    "EvallockError",
    "InfraError",
    "JudgeError",
    "StoreError",
    "TargetError",
    "UsageError",
]


class EvallockError(Exception):
    """Base of every error that stops a command; `exit_code` is what the CLI returns."""

    exit_code = 2


class UsageError(EvallockError):
    """Bad input, flags or configuration: exit 2."""

    exit_code = 2


class CaseFileError(UsageError):
    """A case file with one or more bad lines; nothing of it was loaded."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = problems[:20]
        more = f"\n… and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__("\n".join(shown) + more)


class ConfigError(UsageError):
    """evallock.yaml or a flag that does not make sense."""


class CandidateNotFoundError(UsageError):
    """No candidate has this id or id prefix (an HTTP route answers 404)."""


class CandidateStateError(UsageError):
    """The candidate's state does not allow the action, e.g. it is promoted (HTTP 409)."""


class InfraError(EvallockError):
    """Something the command depends on is unreachable: exit 3."""

    exit_code = 3


class TargetError(InfraError):
    """The service under test could not be reached after retries."""


class JudgeError(InfraError):
    """The judge model could not be reached after retries."""


class StoreError(InfraError):
    """The store cannot be opened, migrated or written."""
