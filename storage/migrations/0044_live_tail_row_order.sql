-- Live tail: the changes of one attempt are in the log in the order they were
-- made.
--
-- 0020 placed every event at its writing transaction's xid. An xid is taken at
-- a transaction's first write, not when it changes a given row: a transaction
-- that took its xid first can change an attempt after a younger transaction
-- has committed its own change of it (the row lock orders the two changes, the
-- xids do not). The older transaction's event then sorted before the younger
-- one's, and the attempt's last event in the log showed a state the row no
-- longer had; a stream's client kept that stale state. (Found by the resume
-- test's unfiltered clients, once in many runs; reproduced exactly by
-- tests/integration/event_log_test.cpp.)
--
-- Now a change's event is placed at the later of its transaction's xid and the
-- position xid of the attempt's latest event, with a new seq. That keeps the
-- log's promise (attempt_event_log.hpp): an event is only ever placed at or
-- above its own transaction's xid, and while that transaction is open no
-- reader passes its xid (it holds every snapshot's xmin at or below it), so the
-- event lands behind no reader. The attempt's earlier events were all committed
-- before this change could take the row, so their seqs are smaller: at the same
-- position xid, this event sorts after them.
--
-- The look-up is one index range scan per statement over the events placed
-- above this transaction's xid (younger transactions' events: few, unless this
-- transaction stays open long while others write), aggregated and hashed
-- against the changed rows; nothing is looked up per row. Inserts are placed as
-- before: a new attempt has no events yet (only an id deleted and inserted
-- again could have older ones, and deletes are not part of the stream).
CREATE OR REPLACE FUNCTION hookstream_log_updated_attempts() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  INSERT INTO attempt_events (xid, id, org_id, env_id, event_id, connection_id, destination_id, request_url,
    request_method, request_headers, request_body_size, response_status, response_headers, response_body,
    duration_ms, status, error, created_at, attempt_number, next_retry_at, is_dlq, dlq_at, trigger_type)
  SELECT greatest(pg_current_xact_id(), later.xid), n.id, n.org_id, n.env_id, n.event_id, n.connection_id,
    n.destination_id, n.request_url, n.request_method, n.request_headers, n.request_body_size, n.response_status,
    n.response_headers, n.response_body, n.duration_ms, n.status, n.error, n.created_at, n.attempt_number,
    n.next_retry_at, n.is_dlq, n.dlq_at, n.trigger_type
  FROM new_rows n
  LEFT JOIN (
    SELECT e.org_id, e.env_id, e.id, max(e.xid) AS xid
    FROM attempt_events e
    JOIN (SELECT DISTINCT t.org_id, t.env_id FROM new_rows t) tenant
      ON e.org_id = tenant.org_id AND e.env_id = tenant.env_id
    WHERE e.xid > pg_current_xact_id()
    GROUP BY e.org_id, e.env_id, e.id
  ) later ON later.org_id = n.org_id AND later.env_id = n.env_id AND later.id = n.id
  WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.id = n.id AND ROW(o.*) IS NOT DISTINCT FROM ROW(n.*));
  IF FOUND AND pg_try_advisory_xact_lock(7286091636) THEN
    PERFORM pg_notify('hookstream_attempt_events', '');
  END IF;
  RETURN NULL;
END $$;
