"""Keys and slice labels fold in narrow terminals: never cut to "customer_tier=e…"."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

from rich.console import Console

from evallock.records import Candidate
from evallock.report.candidates_terminal import print_candidates


def test_candidate_keys_fold_instead_of_being_cut() -> None:
    keys = {"intent": "refund", "customer_tier": "enterprise", "prompt_version": "refund-v4"}
    now = datetime(2026, 12, 1, tzinfo=UTC)
    candidate = Candidate(
        candidate_id="ab3b09be", created_at=now, updated_at=now, state="pending",
        trace_ids=("ab" * 16,), input="We were invoiced twice for contract 56330.",
        output="30 days", keys=keys, reason="thumbs-down", signature="s",
    )  # fmt: skip
    out = io.StringIO()
    print_candidates([candidate], Console(file=out, width=72, color_system=None))
    cells = "".join(
        line.split("│")[4].strip() for line in out.getvalue().splitlines() if line.count("│") > 4
    )
    assert "…" not in cells
    assert re.sub(
        r"\s", "", cells
    ) == "intent=refund customer_tier=enterprise prompt_version=refund-v4".replace(" ", "")
