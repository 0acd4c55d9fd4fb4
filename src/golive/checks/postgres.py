"""PostgreSQL checks: connect, a query and its expected value, replication lag.

The connection string comes from a secret reference or a literal without a password; neither
the string nor the password is ever part of a message.
"""

from __future__ import annotations

import psycopg

from golive.checks.base import Probe, meets, one_line
from golive.plan.checks import Postgres, describe_target
from golive.plan.values import reveal

_LAG = """
SELECT pg_is_in_recovery(),
       CASE WHEN pg_is_in_recovery()
            THEN EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())
            ELSE (SELECT EXTRACT(EPOCH FROM max(replay_lag)) FROM pg_stat_replication)
       END
"""


async def probe(o: Postgres) -> Probe:
    where = describe_target(o.dsn)
    try:
        conn = await psycopg.AsyncConnection.connect(reveal(o.dsn), autocommit=True)
    except psycopg.Error as exc:
        return Probe.failed("", f"cannot connect to PostgreSQL ({where}): {one_line(exc)}")
    async with conn:
        try:
            row = await (await conn.execute(o.query)).fetchone()
        except psycopg.Error as exc:
            return Probe.failed("", f"the query failed: {one_line(exc)}")
        value = "" if row is None or not row else str(row[0])
        if o.expect is not None and not meets(value, o.expect):
            return Probe.failed(value, f"the query returned {value!r}, expected {o.expect!r}")
        if o.max_replication_lag is None:
            return Probe.passed(value, f"PostgreSQL answered {o.query!r} with {value!r}")
        lag_row = await (await conn.execute(_LAG)).fetchone()
    assert lag_row is not None
    replica, lag = bool(lag_row[0]), lag_row[1]
    if lag is None:
        why = "no replay yet on this replica" if replica else "no replica is connected"
        return Probe.failed("", f"replication lag unknown: {why}")
    seconds = float(lag)
    value = f"{seconds:.1f}s lag"
    if seconds > o.max_replication_lag:
        return Probe.failed(
            value, f"replication lag {seconds:.1f}s is over {o.max_replication_lag:g}s"
        )
    return Probe.passed(value, f"replication lag {seconds:.1f}s")
