-- migration: 1
CREATE TABLE rollouts (
    id          TEXT PRIMARY KEY,
    service     TEXT NOT NULL,
    plan_path   TEXT NOT NULL,
    plan_digest TEXT NOT NULL,
    plan_text   TEXT NOT NULL,
    phase       TEXT NOT NULL CHECK (phase IN ('progressing', 'paused', 'rolling_back',
                                     'promoted', 'rolled_back', 'aborted', 'failed')),
    state       TEXT NOT NULL,
    version     INTEGER NOT NULL,
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL,
    lease_owner TEXT,
    lease_until REAL
);
CREATE INDEX rollouts_service ON rollouts (service, phase);
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    rollout_id TEXT NOT NULL REFERENCES rollouts (id),
    at         REAL NOT NULL,
    kind       TEXT NOT NULL,
    message    TEXT NOT NULL,
    data       TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX events_rollout ON events (rollout_id, seq);
CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TABLE measurements (
    rollout_id    TEXT NOT NULL REFERENCES rollouts (id),
    at            REAL NOT NULL,
    canary_weight REAL NOT NULL,
    stable        TEXT NOT NULL,
    canary        TEXT NOT NULL
);
CREATE INDEX measurements_rollout ON measurements (rollout_id, at);
CREATE TABLE commands (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    rollout_id  TEXT NOT NULL REFERENCES rollouts (id),
    at          REAL NOT NULL,
    verb        TEXT NOT NULL CHECK (verb IN ('pause', 'resume', 'promote', 'abort', 'rollback')),
    by          TEXT NOT NULL,
    reason      TEXT NOT NULL,
    consumed_at REAL
);

-- migration: 2
CREATE TABLE signoffs (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    rollout_id TEXT NOT NULL REFERENCES rollouts (id),
    at         REAL NOT NULL,
    step       INTEGER NOT NULL,
    revision   TEXT NOT NULL,
    gate       TEXT NOT NULL,
    role       TEXT NOT NULL,
    by         TEXT NOT NULL,
    decision   TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
    note       TEXT NOT NULL,
    UNIQUE (rollout_id, step, revision, role)
);
CREATE TABLE confirmations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    rollout_id TEXT NOT NULL REFERENCES rollouts (id),
    at         REAL NOT NULL,
    item       TEXT NOT NULL,
    role       TEXT NOT NULL,
    by         TEXT NOT NULL,
    note       TEXT NOT NULL,
    UNIQUE (rollout_id, item)
);
CREATE TABLE tokens (
    hash       TEXT PRIMARY KEY,
    user       TEXT NOT NULL,
    roles      TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TRIGGER signoffs_append_only_update BEFORE UPDATE ON signoffs
BEGIN SELECT RAISE(ABORT, 'sign-offs are append-only'); END;
CREATE TRIGGER signoffs_append_only_delete BEFORE DELETE ON signoffs
BEGIN SELECT RAISE(ABORT, 'sign-offs are append-only'); END;

-- migration: 3
-- The record proves itself (store/seal.py): the rollouts row carries an HMAC over its columns
-- and its journal's head. NULL: written before golive 0.2.0, reported as unsealed.
ALTER TABLE rollouts ADD COLUMN seal TEXT;

-- migration: 4
-- operator commands carry how their author was identified, and 'skip' is a verb
CREATE TABLE commands_v4 (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    rollout_id  TEXT NOT NULL REFERENCES rollouts (id),
    at          REAL NOT NULL,
    verb        TEXT NOT NULL CHECK (verb IN ('pause', 'resume', 'promote', 'abort', 'rollback',
                                              'skip')),
    by          TEXT NOT NULL,
    reason      TEXT NOT NULL,
    consumed_at REAL,
    source      TEXT NOT NULL DEFAULT ''
);
INSERT INTO commands_v4 (id, rollout_id, at, verb, by, reason, consumed_at)
    SELECT id, rollout_id, at, verb, by, reason, consumed_at FROM commands;
DROP TABLE commands;
ALTER TABLE commands_v4 RENAME TO commands;
ALTER TABLE signoffs ADD COLUMN source TEXT NOT NULL DEFAULT '';
-- one active rollout per service, enforced where two controllers cannot both win
CREATE UNIQUE INDEX rollouts_one_active ON rollouts (service)
    WHERE phase IN ('progressing', 'paused', 'rolling_back');
-- tokens: admin, expiry, revocation; and their own hash-chained journal
ALTER TABLE tokens ADD COLUMN admin INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN expires_at REAL;
ALTER TABLE tokens ADD COLUMN revoked_at REAL;
CREATE TABLE token_log (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    at        REAL NOT NULL,
    kind      TEXT NOT NULL,
    message   TEXT NOT NULL,
    data      TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE TRIGGER token_log_append_only_update BEFORE UPDATE ON token_log
BEGIN SELECT RAISE(ABORT, 'the token log is append-only'); END;
CREATE TRIGGER token_log_append_only_delete BEFORE DELETE ON token_log
BEGIN SELECT RAISE(ABORT, 'the token log is append-only'); END;

-- migration: 5
-- The rollouts written before records were sealed, registered with a MAC (golive_unsealed_mac,
-- store/sqlite.py) as this migration runs: one whose seal is removed later is not among them,
-- so removing a seal (and its head file) cannot pass an edited rollout off as an old one.
CREATE TABLE unsealed_rollouts (
    id  TEXT PRIMARY KEY,
    mac TEXT NOT NULL
);
INSERT INTO unsealed_rollouts (id, mac)
    SELECT id, golive_unsealed_mac(id) FROM rollouts WHERE seal IS NULL;
-- measurements (what the judge replays on resume) carry a MAC: an edited counter is refused;
-- those recorded before this migration are sealed as they stand
ALTER TABLE measurements ADD COLUMN mac TEXT;
UPDATE measurements
    SET mac = golive_measurement_mac(rollout_id, at, canary_weight, stable, canary);
-- an operator command is bound to the step and the pause its author saw (engine/decide.py)
ALTER TABLE commands ADD COLUMN step INTEGER;
ALTER TABLE commands ADD COLUMN paused_at REAL;

-- migration: 6
-- the outbox: notifications written in the same transaction as the events that caused them,
-- sent by a worker (golive/notify/worker.py) that claims them for a while; not sealed (like a
-- lease, a delivery is not a decision), and never holding a secret (targets are references)
CREATE TABLE outbox (
    id            TEXT PRIMARY KEY,
    rollout_id    TEXT NOT NULL REFERENCES rollouts (id),
    channel       TEXT NOT NULL,
    kind          TEXT NOT NULL,
    severity      TEXT NOT NULL,
    title         TEXT NOT NULL,
    text          TEXT NOT NULL,
    data          TEXT NOT NULL,
    target        TEXT NOT NULL,
    created_at    REAL NOT NULL,
    status        TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_at       REAL NOT NULL,
    claimed_by    TEXT,
    claimed_until REAL,
    last_error    TEXT NOT NULL DEFAULT '',
    done_at       REAL
);
CREATE INDEX outbox_due ON outbox (status, next_at);
CREATE INDEX outbox_rollout ON outbox (rollout_id, created_at);
