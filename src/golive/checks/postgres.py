"""PostgreSQL checks: connect, a query and its expected value, replication lag.

The connection string comes from a secret reference or a literal without a password. Messages
name the target without credentials; a string libpq cannot parse is "invalid connection
string", never libpq's words (they quote the part they could not parse, often the password).
"""

from __future__ import annotations

import psycopg

from golive.checks.base import Probe, meets, one_line
from golive.plan.checks import Postgres, describe_connection
from golive.secrets import reveal

# On a replica: 0 when everything received is replayed, else the age of the last replayed
# transaction. On a primary: the largest replay_lag of its replicas (NULL while idle = 0).
_LAG = """
SELECT pg_is_in_recovery(),
       CASE WHEN pg_is_in_recovery() THEN
            CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                 ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END
            ELSE (SELECT COALESCE(EXTRACT(EPOCH FROM max(replay_lag)), 0)
                  FROM pg_stat_replication) END,
       (SELECT count(*) FROM pg_stat_replication)
"""


def _why(exc: psycopg.Error) -> str:
    text = one_line(exc)
    if "invalid" in text and "connection option" in text:  # a value libpq could not read
        return "invalid connection string"
    return text


async def probe(o: Postgres) -> Probe:
    dsn = reveal(o.dsn)
    where = describe_connection(o.dsn, dsn)
    try:
        conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
    except psycopg.ProgrammingError:  # libpq refused the string itself
        return Probe.failed(
            "", f"cannot connect to PostgreSQL at {where}: invalid connection string"
        )
    except psycopg.Error as exc:
        return Probe.failed("", f"cannot connect to PostgreSQL at {where}: {_why(exc)}")
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
    replica, lag, replicas = bool(lag_row[0]), lag_row[1], int(lag_row[2])
    if not replica and replicas == 0:
        return Probe.failed("", "replication lag unknown: no replica is connected")
    if lag is None:
        return Probe.failed("", "replication lag unknown: nothing replayed yet on this replica")
    seconds = float(lag)
    value = f"{seconds:.1f}s lag"
    if seconds > o.max_replication_lag:
        return Probe.failed(
            value, f"replication lag {seconds:.1f}s is over {o.max_replication_lag:g}s"
        )
    where = "this replica" if replica else f"the slowest of {replicas} replicas"
    return Probe.passed(value, f"replication lag {seconds:.1f}s on {where}")
