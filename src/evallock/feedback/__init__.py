"""Feedback to golden set: signals → candidates → review → promotion as a lock.

::

    from evallock.feedback import (
        accept_candidate, promote_candidates, propose_candidates, resolve_actor,
    )

    actor = resolve_actor()                       # --actor, $EVALLOCK_ACTOR, the OS user
    plan = propose_candidates(store, kinds=["thumbs-down"], golden=dataset.cases, actor=actor)
    accept_candidate(store, "4bf92f35", expected="refunded within 5 business days",
                     variables={"plan": "enterprise"}, actor=actor)
    result = promote_candidates(store, "evals/golden.jsonl", actor=actor)
    print(result.dataset_id)                      # the golden set's new id

The same functions back the CLI (``evallock candidates …``) and the review routes
of the HTTP service; none of them imports a web or CLI framework.
"""

from evallock.errors import CandidateNotFoundError, CandidateStateError
from evallock.feedback._candidate_store import Candidates, CandidateStore
from evallock.feedback._caseline import (
    CASE_KEYS,
    case_id_for,
    case_line,
    default_note,
    validate_case_line,
)
from evallock.feedback._dedupe import (
    COSINE_THRESHOLD,
    JACCARD_THRESHOLD,
    Embedder,
    NearDuplicateIndex,
    jaccard,
    normalise_text,
    signature_of,
    word_set,
)
from evallock.feedback._promote import LockCheck, PromoteResult, promote_candidates
from evallock.feedback._propose import (
    ProposalPlan,
    case_text,
    plan_proposals,
    propose_candidates,
    propose_trace,
    task_keys,
)
from evallock.feedback._review import (
    CandidateDetail,
    accept_candidate,
    candidate_to_dict,
    event_to_dict,
    list_candidates,
    reject_candidate,
    resolve_actor,
    show_candidate,
)
from evallock.records import (
    SIGNAL_KINDS,
    Candidate,
    CandidateEvent,
    CandidateState,
    Signal,
    SignalKind,
)

__all__ = [
    "CASE_KEYS",
    "COSINE_THRESHOLD",
    "JACCARD_THRESHOLD",
    "SIGNAL_KINDS",
    "Candidate",
    "CandidateDetail",
    "CandidateEvent",
    "CandidateNotFoundError",
    "CandidateState",
    "CandidateStateError",
    "CandidateStore",
    "Candidates",
    "Embedder",
    "LockCheck",
    "NearDuplicateIndex",
    "PromoteResult",
    "ProposalPlan",
    "Signal",
    "SignalKind",
    "accept_candidate",
    "candidate_to_dict",
    "case_id_for",
    "case_line",
    "case_text",
    "default_note",
    "event_to_dict",
    "jaccard",
    "list_candidates",
    "normalise_text",
    "plan_proposals",
    "promote_candidates",
    "propose_candidates",
    "propose_trace",
    "reject_candidate",
    "resolve_actor",
    "show_candidate",
    "signature_of",
    "task_keys",
    "validate_case_line",
    "word_set",
]
