-- Live tail: a log of new and changed attempts, for GET /v1/delivery-attempts/stream.
--
-- Why a log, and not the attempts table itself: a stream must resume after the
-- last event a client saw with no gap and no duplicate while writers commit
-- concurrently. Neither created_at (the transaction's start time) nor a serial
-- id (drawn before commit) orders rows by commit: a row with an earlier key can
-- commit after a reader has moved past that key, and would be skipped for ever.
-- So every inserted or changed attempt gets an event row carrying the writing
-- transaction's id (xid), and readers only take events of transactions older
-- than their snapshot's xmin: every transaction below xmin has ended, so the
-- set of events below it can no longer grow. Events are ordered by (xid, seq);
-- "everything up to position P" is then a prefix that never changes, and a
-- cursor (xid, seq) resumes exactly after it. (Details and the proof:
-- storage/include/hookstream/storage/attempt_event_log.hpp.)
--
-- Each event is a copy of the attempt's row as the writing statement left it:
-- a change is a new event with the new state, and replaying an old event shows
-- what it showed live (the filters are applied to that same state), whatever
-- happened to the row later. Deletes and truncates make no events.
--
-- Independent of the counter triggers (migration 0002): its own triggers, its
-- own table. Keep this migration after any migration that replaces the
-- delivery_attempts table (e.g. partitioning), or re-create the triggers there.

CREATE TABLE attempt_events (
  xid               xid8 NOT NULL DEFAULT pg_current_xact_id(),
  seq               bigint GENERATED ALWAYS AS IDENTITY,
  recorded_at       timestamptz NOT NULL DEFAULT now(),
  -- The attempt, column for column as in delivery_attempts.
  id                text NOT NULL,
  org_id            text NOT NULL,
  env_id            text NOT NULL,
  event_id          text NOT NULL,
  connection_id     text NOT NULL,
  destination_id    text NOT NULL,
  request_url       text NOT NULL,
  request_method    text NOT NULL,
  request_headers   text,
  request_body_size integer NOT NULL,
  response_status   integer,
  response_headers  text,
  response_body     bytea,
  duration_ms       integer,
  status            text NOT NULL,
  error             text,
  created_at        timestamptz NOT NULL,
  attempt_number    integer,
  next_retry_at     timestamptz,
  is_dlq            smallint,
  dlq_at            timestamptz,
  trigger_type      text,
  -- (xid, seq) alone is unique; org_id is in the key so that a layout that
  -- shards by tenant (storage/citus/distribute.sql) can keep it.
  PRIMARY KEY (xid, seq, org_id)
);
-- A subscriber's catch-up reads its tenant's events after its cursor.
CREATE INDEX attempt_events_by_tenant ON attempt_events (org_id, env_id, xid, seq);

-- Retention: events are pruned oldest first, always a prefix of the log, and
-- the last pruned position is kept here (one row), in the same statement as
-- the delete: a cursor before it may have lost events and is refused (410).
CREATE TABLE attempt_event_log (
  singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  pruned_xid xid8 NOT NULL DEFAULT '0',
  pruned_seq bigint NOT NULL DEFAULT 0
);
INSERT INTO attempt_event_log DEFAULT VALUES;

-- Statement-level with transition tables, like the counters: a bulk INSERT or
-- COPY pays one trigger call, not one per row. The NOTIFY only wakes the
-- servers' listeners (a lost one is made up by their periodic poll); it is
-- sent at commit, and not at all by a transaction that rolls back.
CREATE FUNCTION hookstream_log_inserted_attempts() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO attempt_events (id, org_id, env_id, event_id, connection_id, destination_id, request_url,
    request_method, request_headers, request_body_size, response_status, response_headers, response_body,
    duration_ms, status, error, created_at, attempt_number, next_retry_at, is_dlq, dlq_at, trigger_type)
  SELECT n.id, n.org_id, n.env_id, n.event_id, n.connection_id, n.destination_id, n.request_url,
    n.request_method, n.request_headers, n.request_body_size, n.response_status, n.response_headers,
    n.response_body, n.duration_ms, n.status, n.error, n.created_at, n.attempt_number, n.next_retry_at,
    n.is_dlq, n.dlq_at, n.trigger_type
  FROM new_rows n;
  IF FOUND THEN
    PERFORM pg_notify('hookstream_attempt_events', '');
  END IF;
  RETURN NULL;
END $$;

-- An UPDATE that leaves a row exactly as it was is not a change.
CREATE FUNCTION hookstream_log_updated_attempts() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO attempt_events (id, org_id, env_id, event_id, connection_id, destination_id, request_url,
    request_method, request_headers, request_body_size, response_status, response_headers, response_body,
    duration_ms, status, error, created_at, attempt_number, next_retry_at, is_dlq, dlq_at, trigger_type)
  SELECT n.id, n.org_id, n.env_id, n.event_id, n.connection_id, n.destination_id, n.request_url,
    n.request_method, n.request_headers, n.request_body_size, n.response_status, n.response_headers,
    n.response_body, n.duration_ms, n.status, n.error, n.created_at, n.attempt_number, n.next_retry_at,
    n.is_dlq, n.dlq_at, n.trigger_type
  FROM new_rows n
  WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.id = n.id AND ROW(o.*) IS NOT DISTINCT FROM ROW(n.*));
  IF FOUND THEN
    PERFORM pg_notify('hookstream_attempt_events', '');
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER delivery_attempts_live_tail_insert AFTER INSERT ON delivery_attempts
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION hookstream_log_inserted_attempts();
CREATE TRIGGER delivery_attempts_live_tail_update AFTER UPDATE ON delivery_attempts
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION hookstream_log_updated_attempts();
