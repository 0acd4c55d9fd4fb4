"""A rollout's record is acted on only once it passes its audit (store/audit.py): golive never
drives, commands, signs or confirms a rollout whose record or stored plan was edited outside it.
"""

from __future__ import annotations

from golive.errors import TamperedError
from golive.plan.model import Plan
from golive.store.audit import Verdict
from golive.store.base import Rollouts
from golive.store.records import RolloutRecord


async def verified(store: Rollouts, record: RolloutRecord) -> Plan:
    """The rollout's plan, once its whole record has passed the audit (TamperedError, exit 5,
    otherwise)."""
    audit = await store.audit(record.id)
    if audit.verdict is Verdict.TAMPERED:
        raise TamperedError(
            f"rollout {record.id} is TAMPERED: {audit.problem}. golive will not act on a record "
            f"that fails its audit; 'golive audit verify {record.id}' (see docs/audit.md)"
        )
    return store.load_plan(record)
