-- name: insert_rollout
INSERT INTO rollouts (id, service, plan_path, plan_digest, plan_text, phase, state, version,
                      created_at, updated_at)
VALUES (:id, :service, :plan_path, :plan_digest, :plan_text, :phase, :state, 1, :now, :now);

-- name: get_rollout
SELECT * FROM rollouts WHERE id = :id;

-- name: find_rollouts
SELECT * FROM rollouts WHERE substr(id, 1, length(:prefix)) = :prefix ORDER BY created_at DESC;

-- name: list_rollouts
SELECT * FROM rollouts ORDER BY created_at DESC LIMIT :limit;

-- name: list_rollouts_of_service
SELECT * FROM rollouts WHERE service = :service ORDER BY created_at DESC LIMIT :limit;

-- name: active_for_service
SELECT * FROM rollouts
WHERE service = :service AND phase IN ('progressing', 'paused', 'rolling_back')
ORDER BY created_at DESC;

-- name: active
SELECT * FROM rollouts WHERE phase IN ('progressing', 'paused', 'rolling_back') ORDER BY created_at;

-- name: retiring
SELECT * FROM rollouts
WHERE (:service IS NULL OR service = :service)
  AND phase IN ('promoted', 'rolled_back', 'aborted', 'failed')
  AND json_array_length(state, '$.retiring') > 0
ORDER BY created_at;

-- name: update_rollout
UPDATE rollouts SET phase = :phase, state = :state, version = version + 1, updated_at = :now
WHERE id = :id AND version = :expected;

-- name: take_lease
UPDATE rollouts SET lease_owner = :owner, lease_until = :until WHERE id = :id;

-- name: release_lease
UPDATE rollouts SET lease_owner = NULL, lease_until = NULL WHERE id = :id AND lease_owner = :owner;

-- name: all_rollout_ids
SELECT id FROM rollouts ORDER BY created_at, id;

-- name: seal_rollout
UPDATE rollouts SET seal = :seal WHERE id = :id;

-- name: last_hash
SELECT seq, hash FROM events WHERE rollout_id = :id ORDER BY seq DESC LIMIT 1;

-- name: insert_event
INSERT INTO events (rollout_id, at, kind, message, data, prev_hash, hash)
VALUES (:id, :at, :kind, :message, :data, :prev_hash, :hash);

-- name: events
SELECT * FROM events WHERE rollout_id = :id AND seq > :after ORDER BY seq;

-- name: events_of_kind
SELECT * FROM events WHERE rollout_id = :id AND kind = :kind ORDER BY seq;

-- name: insert_measurement
INSERT INTO measurements (rollout_id, at, canary_weight, stable, canary, mac)
VALUES (:id, :at, :weight, :stable, :canary, :mac);

-- name: measurements
SELECT * FROM measurements WHERE rollout_id = :id ORDER BY at;

-- name: insert_commands
INSERT INTO commands (rollout_id, at, verb, by, reason, source, step, paused_at)
VALUES (:id, :at, :verb, :by, :reason, :source, :step, :paused_at);

-- name: commands
SELECT * FROM commands WHERE rollout_id = :id ORDER BY id;

-- name: commands_row
SELECT * FROM commands WHERE id = :row_id;

-- name: pending_commands
SELECT * FROM commands WHERE rollout_id = :id AND consumed_at IS NULL ORDER BY id;

-- name: consume_command
UPDATE commands SET consumed_at = :now WHERE id = :command_id;

-- name: insert_signoffs
INSERT INTO signoffs (rollout_id, at, step, revision, gate, role, by, decision, note, source)
VALUES (:id, :at, :step, :revision, :gate, :role, :by, :decision, :note, :source);

-- name: signoffs
SELECT * FROM signoffs WHERE rollout_id = :id ORDER BY id;

-- name: signoffs_row
SELECT * FROM signoffs WHERE id = :row_id;

-- name: insert_confirmations
INSERT INTO confirmations (rollout_id, at, item, role, by, note)
VALUES (:id, :at, :item, :role, :by, :note);

-- name: confirmations
SELECT * FROM confirmations WHERE rollout_id = :id ORDER BY id;

-- name: confirmations_row
SELECT * FROM confirmations WHERE id = :row_id;

-- name: insert_token
INSERT INTO tokens (hash, user, roles, created_at, admin, expires_at)
VALUES (:hash, :user, :roles, :now, :admin, :expires_at);

-- name: find_token
SELECT * FROM tokens WHERE hash = :hash;

-- name: list_tokens
SELECT * FROM tokens ORDER BY created_at;

-- name: tokens_by_prefix
SELECT * FROM tokens WHERE substr(hash, 1, length(:prefix)) = :prefix;

-- name: revoke_token
UPDATE tokens SET revoked_at = :now WHERE hash = :hash AND revoked_at IS NULL;

-- name: last_token_hash
SELECT hash FROM token_log ORDER BY seq DESC LIMIT 1;

-- name: insert_token_log
INSERT INTO token_log (at, kind, message, data, prev_hash, hash)
VALUES (:at, :kind, :message, :data, :prev_hash, :hash);

-- name: token_log
SELECT * FROM token_log ORDER BY seq;

-- name: unsealed_rollout
SELECT mac FROM unsealed_rollouts WHERE id = :id;


-- name: insert_outbox
INSERT OR IGNORE INTO outbox (id, rollout_id, channel, kind, severity, title, text, data, target,
                              created_at, next_at)
VALUES (:id, :rollout_id, :channel, :kind, :severity, :title, :text, :data, :target, :now, :now)

-- name: outbox_claimants
SELECT DISTINCT claimed_by FROM outbox
WHERE status = 'pending' AND claimed_by IS NOT NULL AND claimed_until >= :now

-- name: outbox_due
SELECT * FROM outbox
WHERE status = 'pending' AND next_at <= :now
  AND (claimed_by IS NULL OR claimed_until < :now
       OR claimed_by IN (SELECT value FROM json_each(:dead)))
ORDER BY next_at, created_at, rowid LIMIT :limit

-- name: outbox_claim
UPDATE outbox SET claimed_by = :owner, claimed_until = :until WHERE id = :id

-- name: outbox_settle
UPDATE outbox SET status = :status, attempts = attempts + 1, next_at = :next_at,
       last_error = :error, done_at = :done_at, claimed_by = NULL, claimed_until = NULL
WHERE id = :id AND status = 'pending'

-- name: outbox_release
UPDATE outbox SET claimed_by = NULL, claimed_until = NULL
WHERE claimed_by = :owner AND status = 'pending'

-- name: outbox_of
SELECT * FROM outbox WHERE (:rollout_id IS NULL OR rollout_id = :rollout_id)
ORDER BY created_at, rowid LIMIT :limit
