"""The SaaS's calls beyond the contract's chain, and where each is answered (shared by edge and worker).

``/rank`` is answered by the edge itself (pure computation over the given scores). The others need what
the warehouse holds (the tenant's companies and signals, stored sessions, feedback), so they run on one
more stage of the chain, ``intelligence``, in the warehouse writer's role. ``__diag`` also visits it, to
learn whether the warehouse answers.
"""

from __future__ import annotations

INTELLIGENCE_STAGE = "intelligence"
MORE_STAGES = (INTELLIGENCE_STAGE,)

ENRICH = "/api/os/enrich"
SESSION = "/api/os/intelligence/session"
FEEDBACK = "/api/os/intelligence/feedback"
DEAL_EVALUATION = "/api/os/intelligence/deal-evaluation"
DIAG = "/api/os/__diag"
INTELLIGENCE_ENDPOINTS = frozenset({ENRICH, SESSION, FEEDBACK, DEAL_EVALUATION, DIAG})
