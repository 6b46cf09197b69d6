-- Counting a one-row write costs one appended row.
--
-- 0003's writers upserted two delta rows per statement (per tenant and minute,
-- per route and day), from statement-level triggers over transition tables:
-- 16 one-row writers kept 0.48-0.60x of their speed without counters. Most of
-- that was the two upserts (index probe, conflict check, update) and the
-- transition-table machinery (a tuplestore and an INSERT ... SELECT ... GROUP BY
-- started per statement), not the counting itself. Now:
--
--   * one append-only log, attempt_count_log: a written attempt appends one
--     row (route, status, DLQ flag, UTC minute of created_at, n = +1), a deleted
--     one a row with n = -1, an update that moves an attempt between counters
--     both. Plain INSERTs: no conflict check, no row another writer can hold,
--     so writers never wait for each other or for a fold, and cannot deadlock
--     on counters in whatever order they touch them. A REPEATABLE READ writer
--     never meets a serialization failure from the fold (nothing it writes is
--     updated by anyone), and a prepared transaction holds no counter row.
--   * row-level triggers (one PL/pgSQL call, one INSERT ... VALUES, per row),
--     created on the parent table: PostgreSQL clones them to every partition,
--     present and future, so writes that name a partition are counted too.
--     The update trigger only fires when a counted column changes (WHEN).
--   * the fold (hookstream_fold_count_deltas) takes a batch of committed log
--     rows and adds them to the tenant's minute, hour, day and all-time
--     counters and to the route's day and all-time counters, in one statement
--     (one transaction): every snapshot sees a log row either pending or
--     folded, never both, so folded + pending stays exact in any snapshot.
--
-- The price moved to bulk writes: an INSERT or COPY of N rows appends N log
-- rows (0003 grouped them per statement) and readers sum a tenant's pending
-- log rows until the next fold (every 250 ms by default). README: figures.
--
-- Corrections (--recount) are log rows too. A log row counts for the tenant's
-- layers always, for the route's layers when it names a route: a tenant-only
-- correction has NULL connection and destination; a route-only correction is a
-- pair at the day's midnight, +n with the route and -n without, which cancel
-- for the tenant.
--
-- Locking rules (0003's, unchanged): functions that change folded counters
-- (fold, forget, recount, truncate) take the transaction advisory lock
-- 7286091635 first, so they run one at a time; code that also locks
-- delivery_attempts takes those table locks before the advisory lock.

LOCK TABLE delivery_attempts IN SHARE ROW EXCLUSIVE MODE;
LOCK TABLE attempt_count_deltas, attempt_count_deltas_by_route IN ACCESS EXCLUSIVE MODE;
SELECT pg_advisory_xact_lock(7286091635);

CREATE TABLE attempt_count_log (
  org_id         text NOT NULL,
  env_id         text NOT NULL,
  connection_id  text,            -- NULL: counts for the tenant only (a correction)
  destination_id text,
  status         text NOT NULL,
  in_dlq         boolean NOT NULL,
  minute         timestamp NOT NULL,  -- UTC minute of created_at
  n              bigint NOT NULL
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000,
        autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 5000,
        autovacuum_vacuum_cost_delay = 0);
-- The one index writers maintain: readers find a tenant's pending rows (of a
-- range of minutes) through it; route filters are checked on those few rows.
CREATE INDEX attempt_count_log_tenant ON attempt_count_log (org_id, env_id, minute);
-- No column statistics: the log's content changes every second, and statistics
-- taken while one tenant's burst was pending (its org and env the most common
-- values) would make the readers' plans (generic, cached per connection) scan
-- the whole log. With the default selectivity a tenant's rows are always
-- looked up through the index.
ALTER TABLE attempt_count_log ALTER COLUMN org_id SET STATISTICS 0, ALTER COLUMN env_id SET STATISTICS 0,
  ALTER COLUMN minute SET STATISTICS 0;

-- Pending deltas carry over: the tenant's as tenant-only rows, the routes' as
-- route-only pairs.
INSERT INTO attempt_count_log
SELECT org_id, env_id, NULL, NULL, status, in_dlq, minute, n FROM attempt_count_deltas WHERE n <> 0;
INSERT INTO attempt_count_log
SELECT org_id, env_id, connection_id, destination_id, status, in_dlq, day::timestamp, n
FROM attempt_count_deltas_by_route WHERE n <> 0
UNION ALL
SELECT org_id, env_id, NULL, NULL, status, in_dlq, day::timestamp, -n
FROM attempt_count_deltas_by_route WHERE n <> 0;

-- Out with the statement triggers: the parent's, and each partition's own (see
-- 0004) except TRUNCATE's, which stays statement-level. The guard of 0004
-- refuses to drop counting triggers unless told this is maintenance.
SELECT set_config('hookstream.partition_maintenance', 'on', true);
DROP TRIGGER delivery_attempts_count_insert ON delivery_attempts;
DROP TRIGGER delivery_attempts_count_delete ON delivery_attempts;
DROP TRIGGER delivery_attempts_count_update ON delivery_attempts;
DO $$
DECLARE
  part regclass;
BEGIN
  FOR part IN SELECT i.inhrelid::regclass FROM pg_inherits i WHERE i.inhparent = 'delivery_attempts'::regclass LOOP
    EXECUTE format('DROP TRIGGER delivery_attempts_count_insert ON %s', part);
    EXECUTE format('DROP TRIGGER delivery_attempts_count_delete ON %s', part);
    EXECUTE format('DROP TRIGGER delivery_attempts_count_update ON %s', part);
  END LOOP;
END $$;
SELECT set_config('hookstream.partition_maintenance', '', true);
DROP FUNCTION hookstream_count_inserted();
DROP FUNCTION hookstream_count_deleted();
DROP FUNCTION hookstream_count_updated();
DROP TABLE attempt_count_deltas;
DROP TABLE attempt_count_deltas_by_route;
DROP SEQUENCE attempt_count_correction_writer;

-- The row triggers' functions name every table and function with its schema
-- (fixed here, when the migration runs) instead of pinning search_path with a
-- SET clause: a function with SET runs through a GUC save and restore on every
-- call, which a per-row trigger cannot afford. AT TIME ZONE and coalesce are
-- grammar, resolved in pg_catalog whatever the search_path.
DO $$
DECLARE
  s text := quote_ident(current_schema());
  new_row text := 'NEW.org_id, NEW.env_id, NEW.connection_id, NEW.destination_id, NEW.status, '
                  'coalesce(NEW.is_dlq, 0) OPERATOR(pg_catalog.=) 1, '
                  'pg_catalog.date_trunc(''minute'', NEW.created_at AT TIME ZONE ''UTC''), 1';
  old_row text := 'OLD.org_id, OLD.env_id, OLD.connection_id, OLD.destination_id, OLD.status, '
                  'coalesce(OLD.is_dlq, 0) OPERATOR(pg_catalog.=) 1, '
                  'pg_catalog.date_trunc(''minute'', OLD.created_at AT TIME ZONE ''UTC''), -1';
BEGIN
  EXECUTE format($f$
    CREATE FUNCTION %1$s.hookstream_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $b$
    BEGIN
      INSERT INTO %1$s.attempt_count_log VALUES (%2$s);
      RETURN NULL;
    END $b$ $f$, s, new_row);
  EXECUTE format($f$
    CREATE FUNCTION %1$s.hookstream_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $b$
    BEGIN
      INSERT INTO %1$s.attempt_count_log VALUES (%2$s);
      RETURN NULL;
    END $b$ $f$, s, old_row);
  EXECUTE format($f$
    CREATE FUNCTION %1$s.hookstream_count_updated() RETURNS trigger LANGUAGE plpgsql AS $b$
    BEGIN
      INSERT INTO %1$s.attempt_count_log VALUES (%2$s), (%3$s);
      RETURN NULL;
    END $b$ $f$, s, old_row, new_row);
END $$;

CREATE TRIGGER delivery_attempts_count_insert AFTER INSERT ON delivery_attempts
  FOR EACH ROW EXECUTE FUNCTION hookstream_count_inserted();
CREATE TRIGGER delivery_attempts_count_delete AFTER DELETE ON delivery_attempts
  FOR EACH ROW EXECUTE FUNCTION hookstream_count_deleted();
-- Compared as rows: an update of other columns (a response, a retry time)
-- costs no trigger call at all.
CREATE TRIGGER delivery_attempts_count_update AFTER UPDATE ON delivery_attempts
  FOR EACH ROW WHEN ((OLD.org_id, OLD.env_id, OLD.connection_id, OLD.destination_id, OLD.status,
                      coalesce(OLD.is_dlq, 0) = 1, OLD.created_at)
                     IS DISTINCT FROM
                     (NEW.org_id, NEW.env_id, NEW.connection_id, NEW.destination_id, NEW.status,
                      coalesce(NEW.is_dlq, 0) = 1, NEW.created_at))
  EXECUTE FUNCTION hookstream_count_updated();

-- New partitions get the row triggers from the parent (cloned on ATTACH); only
-- TRUNCATE's statement trigger is their own.
CREATE OR REPLACE FUNCTION hookstream_add_attempt_partition_triggers(part regclass) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('CREATE TRIGGER delivery_attempts_count_truncate AFTER TRUNCATE ON %s FOR EACH STATEMENT '
                 'EXECUTE FUNCTION hookstream_count_partition_truncated()', part);
END $$;

CREATE OR REPLACE FUNCTION hookstream_count_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(7286091635);
  DELETE FROM attempt_count_log;
  DELETE FROM attempt_counts_minutely;
  DELETE FROM attempt_counts_hourly;
  DELETE FROM attempt_counts_daily;
  DELETE FROM attempt_counts_daily_by_route;
  DELETE FROM attempt_counts;
  DELETE FROM attempt_counts_by_route;
  RETURN NULL;
END $$;

-- Compaction: up to max_rows committed log rows into every folded layer, in
-- one statement. Rows of open transactions are invisible here and wait for the
-- next fold; nothing a writer does waits for this. Returns the rows folded.
CREATE OR REPLACE FUNCTION hookstream_fold_count_deltas(max_rows integer DEFAULT 10000) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  folded bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(7286091635);
  WITH taken AS (
    DELETE FROM attempt_count_log l
    WHERE l.ctid = ANY (ARRAY (SELECT t.ctid FROM attempt_count_log t LIMIT max_rows))
    RETURNING l.*),
  g AS (
    SELECT org_id, env_id, minute, status, in_dlq, sum(n) AS n, count(*) AS folded
    FROM taken GROUP BY 1, 2, 3, 4, 5),
  r AS (
    SELECT org_id, env_id, connection_id, destination_id, status, in_dlq, minute::date AS day, sum(n) AS n
    FROM taken WHERE connection_id IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING sum(n) <> 0),
  minutely AS (
    INSERT INTO attempt_counts_minutely AS c SELECT org_id, env_id, minute, status, in_dlq, n FROM g WHERE n <> 0
    ON CONFLICT (org_id, env_id, minute, status, in_dlq) DO UPDATE SET n = c.n + excluded.n),
  hourly AS (
    INSERT INTO attempt_counts_hourly AS c
    SELECT org_id, env_id, date_trunc('hour', minute), status, in_dlq, sum(n) FROM g GROUP BY 1, 2, 3, 4, 5
    HAVING sum(n) <> 0
    ON CONFLICT (org_id, env_id, hour, status, in_dlq) DO UPDATE SET n = c.n + excluded.n),
  daily AS (
    INSERT INTO attempt_counts_daily AS c
    SELECT org_id, env_id, minute::date, status, in_dlq, sum(n) FROM g GROUP BY 1, 2, 3, 4, 5
    HAVING sum(n) <> 0
    ON CONFLICT (org_id, env_id, day, status, in_dlq) DO UPDATE SET n = c.n + excluded.n),
  all_time AS (
    INSERT INTO attempt_counts AS c SELECT org_id, env_id, status, in_dlq, sum(n) FROM g GROUP BY 1, 2, 3, 4
    HAVING sum(n) <> 0
    ON CONFLICT (org_id, env_id, status, in_dlq) DO UPDATE SET n = c.n + excluded.n),
  route_daily AS (
    INSERT INTO attempt_counts_daily_by_route AS c
    SELECT org_id, env_id, connection_id, destination_id, status, in_dlq, day, n FROM r
    ON CONFLICT (org_id, env_id, connection_id, destination_id, status, in_dlq, day)
    DO UPDATE SET n = c.n + excluded.n),
  route_all_time AS (
    INSERT INTO attempt_counts_by_route AS c
    SELECT org_id, env_id, connection_id, destination_id, status, in_dlq, sum(n) FROM r GROUP BY 1, 2, 3, 4, 5, 6
    HAVING sum(n) <> 0
    ON CONFLICT (org_id, env_id, connection_id, destination_id, status, in_dlq) DO UPDATE SET n = c.n + excluded.n)
  SELECT coalesce(sum(g.folded), 0) INTO folded FROM g;
  RETURN folded;
END $$;

-- As in 0010, with the log in place of the two delta tables: pending rows of
-- those days are deleted, never folded (the caller's partition lock keeps
-- writers out of them).
CREATE OR REPLACE FUNCTION hookstream_forget_attempt_days(first_day date, last_day date) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  lo date := coalesce(first_day, '-infinity');
  hi date := coalesce(last_day, 'infinity');
BEGIN
  PERFORM pg_advisory_xact_lock(7286091635);
  DELETE FROM attempt_count_log WHERE minute >= lo::timestamp AND minute < hi::timestamp;
  DELETE FROM attempt_counts_minutely WHERE minute >= lo::timestamp AND minute < hi::timestamp;
  DELETE FROM attempt_counts_hourly WHERE hour >= lo::timestamp AND hour < hi::timestamp;
  WITH gone AS (
    DELETE FROM attempt_counts_daily WHERE day >= lo AND day < hi RETURNING *),
  g AS (SELECT org_id, env_id, status, in_dlq, sum(n) AS n FROM gone GROUP BY 1, 2, 3, 4)
  UPDATE attempt_counts c SET n = c.n - g.n FROM g
  WHERE (c.org_id, c.env_id, c.status, c.in_dlq) = (g.org_id, g.env_id, g.status, g.in_dlq);
  WITH gone AS (
    DELETE FROM attempt_counts_daily_by_route WHERE day >= lo AND day < hi RETURNING *),
  g AS (SELECT org_id, env_id, connection_id, destination_id, status, in_dlq, sum(n) AS n FROM gone
        GROUP BY 1, 2, 3, 4, 5, 6)
  UPDATE attempt_counts_by_route c SET n = c.n - g.n FROM g
  WHERE (c.org_id, c.env_id, c.connection_id, c.destination_id, c.status, c.in_dlq) =
        (g.org_id, g.env_id, g.connection_id, g.destination_id, g.status, g.in_dlq);
END $$;

-- CREATE OR REPLACE reset their settings: pin search_path again (see 0003).
-- These run once per statement or per fold, not per row.
DO $$
DECLARE
  f text;
BEGIN
  FOREACH f IN ARRAY ARRAY['hookstream_count_truncated()', 'hookstream_fold_count_deltas(integer)',
                           'hookstream_forget_attempt_days(date, date)',
                           'hookstream_add_attempt_partition_triggers(regclass)']
  LOOP
    EXECUTE format('ALTER FUNCTION %I.%s SET search_path = pg_catalog, %I, pg_temp',
                   current_schema(), f, current_schema());
  END LOOP;
END $$;
