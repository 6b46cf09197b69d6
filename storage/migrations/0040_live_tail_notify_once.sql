-- Live tail: a NOTIFY from one writing transaction at a time, not from each.
--
-- 0020's triggers sent a NOTIFY from every transaction that wrote attempts.
-- PostgreSQL queues notifications under one database-wide lock that a
-- notifying transaction holds from its pre-commit until its commit ends, so
-- every such writer committed one at a time: 16 one-row writers ran at about
-- 0.33x of their speed without the live tail's trigger (0.8x without the
-- NOTIFY, bench2m, 2 cores).
--
-- Now a transaction notifies only if it can take the transaction advisory lock
-- 7286091636 without waiting. A writer that cannot is one that wrote while
-- another notifying transaction was still open: that transaction's NOTIFY wakes
-- the listeners when it commits, and a listener that was woken reads again a
-- few milliseconds after every read that found events
-- (live_tail_config::follow_up), and at least every poll_interval. So a skipped
-- NOTIFY delays an event by at most one follow-up when the writer commits right
-- after its statement (autocommit, as delivery workers write), and by at most
-- poll_interval when it stays open longer and nothing else is written
-- meanwhile. A NOTIFY was only ever a wake-up (0020): no event can be lost.
--
-- Also: the functions now run with a pinned search_path, like the counters'
-- (0004), so a writer's search_path cannot redirect the events, the lock or
-- the NOTIFY.

CREATE OR REPLACE FUNCTION hookstream_log_inserted_attempts() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  INSERT INTO attempt_events (id, org_id, env_id, event_id, connection_id, destination_id, request_url,
    request_method, request_headers, request_body_size, response_status, response_headers, response_body,
    duration_ms, status, error, created_at, attempt_number, next_retry_at, is_dlq, dlq_at, trigger_type)
  SELECT n.id, n.org_id, n.env_id, n.event_id, n.connection_id, n.destination_id, n.request_url,
    n.request_method, n.request_headers, n.request_body_size, n.response_status, n.response_headers,
    n.response_body, n.duration_ms, n.status, n.error, n.created_at, n.attempt_number, n.next_retry_at,
    n.is_dlq, n.dlq_at, n.trigger_type
  FROM new_rows n;
  IF FOUND AND pg_try_advisory_xact_lock(7286091636) THEN
    PERFORM pg_notify('hookstream_attempt_events', '');
  END IF;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION hookstream_log_updated_attempts() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
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
  IF FOUND AND pg_try_advisory_xact_lock(7286091636) THEN
    PERFORM pg_notify('hookstream_attempt_events', '');
  END IF;
  RETURN NULL;
END $$;
