-- Exact totals that single-row writers do not queue for.
--
-- 0002 made every writer of a tenant upsert the same counter rows and hold their
-- locks until commit: 16 concurrent one-row writers into one environment ran at
-- 0.38x of their speed without counters, and transactions that touched several
-- counter keys in different orders could deadlock. Now three layers:
--
--   deltas   attempt_count_deltas, attempt_count_deltas_by_route: what writers
--            write. A delta row is keyed by the writing backend's pid
--            (`writer`), so no two open transactions ever write the same
--            counter row: writers never wait for each other on counters and
--            cannot deadlock on them, in whatever order they touch keys.
--   daily    attempt_counts_daily, attempt_counts_daily_by_route: folded counts
--            per UTC day of created_at. A day lies in exactly one partition of
--            delivery_attempts (0004), so dropping a partition subtracts its
--            days exactly; time-range totals can sum whole days.
--   all time attempt_counts, attempt_counts_by_route (from 0002): folded counts
--            over all days, so a total without a time range sums at most 8 rows
--            per tenant (by route: the rows of one connection or destination).
--
-- hookstream_fold_count_deltas() (the compaction, run by the server's
-- maintenance loop or `hookstream-server --maintain`) moves committed deltas
-- into both folded layers in one transaction. A total is folded + pending
-- deltas, read in one statement: every snapshot sees a delta either still
-- pending or already folded, never both and never neither, so totals are exact
-- in the reader's snapshot. Without compaction totals stay exact, but the
-- pending rows a reader sums grow with the number of distinct writer backends.
--
-- Locking rules (why nothing here can deadlock):
--   * writers only upsert their own pid's delta rows;
--   * every function that changes folded rows (fold, forget, recount) first takes
--     the transaction advisory lock 7286091635, so they run one at a time;
--   * fold skips delta rows locked by open writers (SKIP LOCKED) and waits for
--     nothing else; a writer may briefly wait for a fold, never the reverse;
--   * code that also locks delivery_attempts takes those table locks before the
--     advisory lock.
-- in_dlq is coalesce(is_dlq, 0) = 1, the same rule as the is_dlq filter; day is
-- (created_at AT TIME ZONE 'UTC')::date.

CREATE TABLE attempt_count_deltas (
  org_id text NOT NULL,
  env_id text NOT NULL,
  status text NOT NULL,
  in_dlq boolean NOT NULL,
  day    date NOT NULL,
  writer integer NOT NULL,  -- backend pid; negative: a --recount correction
  n      bigint NOT NULL,
  PRIMARY KEY (org_id, env_id, status, in_dlq, day, writer)
) WITH (fillfactor = 70, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000);

CREATE TABLE attempt_count_deltas_by_route (
  org_id         text NOT NULL,
  env_id         text NOT NULL,
  connection_id  text NOT NULL,
  destination_id text NOT NULL,
  status         text NOT NULL,
  in_dlq         boolean NOT NULL,
  day            date NOT NULL,
  writer         integer NOT NULL,
  n              bigint NOT NULL,
  PRIMARY KEY (org_id, env_id, connection_id, destination_id, status, in_dlq, day, writer)
) WITH (fillfactor = 70, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000);
CREATE INDEX attempt_count_deltas_by_route_destination
  ON attempt_count_deltas_by_route (org_id, env_id, destination_id);

CREATE TABLE attempt_counts_daily (
  org_id text NOT NULL,
  env_id text NOT NULL,
  day    date NOT NULL,
  status text NOT NULL,
  in_dlq boolean NOT NULL,
  n      bigint NOT NULL,
  PRIMARY KEY (org_id, env_id, day, status, in_dlq)
);
CREATE INDEX attempt_counts_daily_day ON attempt_counts_daily (day);

CREATE TABLE attempt_counts_daily_by_route (
  org_id         text NOT NULL,
  env_id         text NOT NULL,
  connection_id  text NOT NULL,
  destination_id text NOT NULL,
  status         text NOT NULL,
  in_dlq         boolean NOT NULL,
  day            date NOT NULL,
  n              bigint NOT NULL,
  PRIMARY KEY (org_id, env_id, connection_id, destination_id, status, in_dlq, day)
);
CREATE INDEX attempt_counts_daily_by_route_destination
  ON attempt_counts_daily_by_route (org_id, env_id, destination_id, day);
CREATE INDEX attempt_counts_daily_by_route_day ON attempt_counts_daily_by_route (day);

-- --recount writes its corrections as deltas of writers that never existed.
CREATE SEQUENCE attempt_count_correction_writer AS integer;

DROP TRIGGER delivery_attempts_count_insert ON delivery_attempts;
DROP TRIGGER delivery_attempts_count_delete ON delivery_attempts;
DROP TRIGGER delivery_attempts_count_update ON delivery_attempts;
DROP TRIGGER delivery_attempts_count_truncate ON delivery_attempts;
DROP FUNCTION hookstream_count_inserted();
DROP FUNCTION hookstream_count_deleted();
DROP FUNCTION hookstream_count_updated();
DROP FUNCTION hookstream_count_truncated();
DROP FUNCTION hookstream_apply_count_deltas(jsonb);

-- The three row triggers share their shape: group the transition rows by counter
-- key, upsert the per-route deltas and, from the same groups, the per-tenant
-- ones, in one statement. (Three functions rather than one with branches: each
-- keeps one cached plan over the transition tables it has.)
CREATE FUNCTION hookstream_count_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  WITH g AS (
    SELECT org_id, env_id, connection_id, destination_id, status, coalesce(is_dlq, 0) = 1 AS in_dlq,
           (created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n
    FROM new_rows GROUP BY 1, 2, 3, 4, 5, 6, 7),
  by_route AS (
    INSERT INTO attempt_count_deltas_by_route AS c
    SELECT org_id, env_id, connection_id, destination_id, status, in_dlq, day, pg_backend_pid(), n FROM g
    ON CONFLICT (org_id, env_id, connection_id, destination_id, status, in_dlq, day, writer)
    DO UPDATE SET n = c.n + excluded.n)
  INSERT INTO attempt_count_deltas AS c
  SELECT org_id, env_id, status, in_dlq, day, pg_backend_pid(), sum(n) FROM g GROUP BY 1, 2, 3, 4, 5
  ON CONFLICT (org_id, env_id, status, in_dlq, day, writer) DO UPDATE SET n = c.n + excluded.n;
  RETURN NULL;
END $$;

CREATE FUNCTION hookstream_count_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  WITH g AS (
    SELECT org_id, env_id, connection_id, destination_id, status, coalesce(is_dlq, 0) = 1 AS in_dlq,
           (created_at AT TIME ZONE 'UTC')::date AS day, -count(*) AS n
    FROM old_rows GROUP BY 1, 2, 3, 4, 5, 6, 7),
  by_route AS (
    INSERT INTO attempt_count_deltas_by_route AS c
    SELECT org_id, env_id, connection_id, destination_id, status, in_dlq, day, pg_backend_pid(), n FROM g
    ON CONFLICT (org_id, env_id, connection_id, destination_id, status, in_dlq, day, writer)
    DO UPDATE SET n = c.n + excluded.n)
  INSERT INTO attempt_count_deltas AS c
  SELECT org_id, env_id, status, in_dlq, day, pg_backend_pid(), sum(n) FROM g GROUP BY 1, 2, 3, 4, 5
  ON CONFLICT (org_id, env_id, status, in_dlq, day, writer) DO UPDATE SET n = c.n + excluded.n;
  RETURN NULL;
END $$;

CREATE FUNCTION hookstream_count_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  -- Only rows whose counted dimensions changed move between counters; an
  -- update of other columns nets to nothing and writes no delta.
  WITH g AS (
    SELECT org_id, env_id, connection_id, destination_id, status, in_dlq, day, sum(n) AS n
    FROM (
      SELECT o.org_id, o.env_id, o.connection_id, o.destination_id, o.status, coalesce(o.is_dlq, 0) = 1 AS in_dlq,
             (o.created_at AT TIME ZONE 'UTC')::date AS day, -1 AS n
      FROM old_rows o
      UNION ALL
      SELECT w.org_id, w.env_id, w.connection_id, w.destination_id, w.status, coalesce(w.is_dlq, 0) = 1,
             (w.created_at AT TIME ZONE 'UTC')::date, 1
      FROM new_rows w
    ) moved
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    HAVING sum(n) <> 0),
  by_route AS (
    INSERT INTO attempt_count_deltas_by_route AS c
    SELECT org_id, env_id, connection_id, destination_id, status, in_dlq, day, pg_backend_pid(), n FROM g
    ON CONFLICT (org_id, env_id, connection_id, destination_id, status, in_dlq, day, writer)
    DO UPDATE SET n = c.n + excluded.n)
  INSERT INTO attempt_count_deltas AS c
  SELECT org_id, env_id, status, in_dlq, day, pg_backend_pid(), sum(n) FROM g GROUP BY 1, 2, 3, 4, 5
  HAVING sum(n) <> 0
  ON CONFLICT (org_id, env_id, status, in_dlq, day, writer) DO UPDATE SET n = c.n + excluded.n;
  RETURN NULL;
END $$;

-- TRUNCATE of the whole table empties every tenant's counters.
CREATE FUNCTION hookstream_count_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(7286091635);
  DELETE FROM attempt_count_deltas;
  DELETE FROM attempt_count_deltas_by_route;
  DELETE FROM attempt_counts_daily;
  DELETE FROM attempt_counts_daily_by_route;
  DELETE FROM attempt_counts;
  DELETE FROM attempt_counts_by_route;
  RETURN NULL;
END $$;

-- Compaction: moves up to max_rows committed delta rows of each kind into the
-- daily and all-time counters, in one transaction (readers see the delta or its
-- folded sum, never both). Rows an open transaction holds are skipped and
-- folded next time. Returns the number of delta rows folded.
CREATE FUNCTION hookstream_fold_count_deltas(max_rows integer DEFAULT 10000) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  tenant_rows bigint;
  route_rows bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(7286091635);
  WITH taken AS (
    DELETE FROM attempt_count_deltas d
    WHERE (d.org_id, d.env_id, d.status, d.in_dlq, d.day, d.writer) IN (
      SELECT t.org_id, t.env_id, t.status, t.in_dlq, t.day, t.writer FROM attempt_count_deltas t
      LIMIT max_rows FOR UPDATE SKIP LOCKED)
    RETURNING d.*),
  g AS (
    SELECT org_id, env_id, day, status, in_dlq, sum(n) AS n, count(*) AS folded
    FROM taken GROUP BY 1, 2, 3, 4, 5),
  daily AS (
    INSERT INTO attempt_counts_daily AS c SELECT org_id, env_id, day, status, in_dlq, n FROM g WHERE n <> 0
    ON CONFLICT (org_id, env_id, day, status, in_dlq) DO UPDATE SET n = c.n + excluded.n),
  all_time AS (
    INSERT INTO attempt_counts AS c SELECT org_id, env_id, status, in_dlq, sum(n) FROM g GROUP BY 1, 2, 3, 4
    HAVING sum(n) <> 0
    ON CONFLICT (org_id, env_id, status, in_dlq) DO UPDATE SET n = c.n + excluded.n)
  SELECT coalesce(sum(folded), 0) INTO tenant_rows FROM g;

  WITH taken AS (
    DELETE FROM attempt_count_deltas_by_route d
    WHERE (d.org_id, d.env_id, d.connection_id, d.destination_id, d.status, d.in_dlq, d.day, d.writer) IN (
      SELECT t.org_id, t.env_id, t.connection_id, t.destination_id, t.status, t.in_dlq, t.day, t.writer
      FROM attempt_count_deltas_by_route t LIMIT max_rows FOR UPDATE SKIP LOCKED)
    RETURNING d.*),
  g AS (
    SELECT org_id, env_id, connection_id, destination_id, status, in_dlq, day, sum(n) AS n, count(*) AS folded
    FROM taken GROUP BY 1, 2, 3, 4, 5, 6, 7),
  daily AS (
    INSERT INTO attempt_counts_daily_by_route AS c
    SELECT org_id, env_id, connection_id, destination_id, status, in_dlq, day, n FROM g WHERE n <> 0
    ON CONFLICT (org_id, env_id, connection_id, destination_id, status, in_dlq, day)
    DO UPDATE SET n = c.n + excluded.n),
  all_time AS (
    INSERT INTO attempt_counts_by_route AS c
    SELECT org_id, env_id, connection_id, destination_id, status, in_dlq, sum(n) FROM g GROUP BY 1, 2, 3, 4, 5, 6
    HAVING sum(n) <> 0
    ON CONFLICT (org_id, env_id, connection_id, destination_id, status, in_dlq) DO UPDATE SET n = c.n + excluded.n)
  SELECT coalesce(sum(folded), 0) INTO route_rows FROM g;
  RETURN tenant_rows + route_rows;
END $$;

-- Forgets the counts of the UTC days [first_day, last_day) (NULL: unbounded) of
-- every tenant, when their rows go away without row triggers: a partition
-- dropped or truncated (0004). The caller must hold a lock that keeps writers
-- out of those days' rows (the partition's ACCESS EXCLUSIVE lock): their
-- pending deltas are deleted here, never folded.
CREATE FUNCTION hookstream_forget_attempt_days(first_day date, last_day date) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  lo date := coalesce(first_day, '-infinity');
  hi date := coalesce(last_day, 'infinity');
BEGIN
  PERFORM pg_advisory_xact_lock(7286091635);
  DELETE FROM attempt_count_deltas WHERE day >= lo AND day < hi;
  DELETE FROM attempt_count_deltas_by_route WHERE day >= lo AND day < hi;
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

-- Pin every function's search_path to the schema these tables live in (then
-- pg_temp, last): a caller's search_path with a same-named table or function
-- in another schema first cannot redirect the counters.
DO $$
DECLARE
  f text;
BEGIN
  FOREACH f IN ARRAY ARRAY['hookstream_count_inserted()', 'hookstream_count_deleted()',
                           'hookstream_count_updated()', 'hookstream_count_truncated()',
                           'hookstream_fold_count_deltas(integer)', 'hookstream_forget_attempt_days(date, date)']
  LOOP
    EXECUTE format('ALTER FUNCTION %I.%s SET search_path = pg_catalog, %I, pg_temp',
                   current_schema(), f, current_schema());
  END LOOP;
END $$;

-- Back-fill the daily counters from the rows, and rebuild the all-time ones
-- from them (which also repairs any drift 0002's counters had), under a lock
-- that keeps writers out until the new triggers exist.
LOCK TABLE delivery_attempts IN SHARE ROW EXCLUSIVE MODE;
INSERT INTO attempt_counts_daily_by_route
SELECT org_id, env_id, connection_id, destination_id, status, coalesce(is_dlq, 0) = 1,
       (created_at AT TIME ZONE 'UTC')::date, count(*)
FROM delivery_attempts GROUP BY 1, 2, 3, 4, 5, 6, 7;
INSERT INTO attempt_counts_daily
SELECT org_id, env_id, day, status, in_dlq, sum(n) FROM attempt_counts_daily_by_route GROUP BY 1, 2, 3, 4, 5;
DELETE FROM attempt_counts;
INSERT INTO attempt_counts
SELECT org_id, env_id, status, in_dlq, sum(n) FROM attempt_counts_daily GROUP BY 1, 2, 3, 4;
DELETE FROM attempt_counts_by_route;
INSERT INTO attempt_counts_by_route
SELECT org_id, env_id, connection_id, destination_id, status, in_dlq, sum(n)
FROM attempt_counts_daily_by_route GROUP BY 1, 2, 3, 4, 5, 6;

CREATE TRIGGER delivery_attempts_count_insert AFTER INSERT ON delivery_attempts
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION hookstream_count_inserted();
CREATE TRIGGER delivery_attempts_count_delete AFTER DELETE ON delivery_attempts
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION hookstream_count_deleted();
CREATE TRIGGER delivery_attempts_count_update AFTER UPDATE ON delivery_attempts
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION hookstream_count_updated();
CREATE TRIGGER delivery_attempts_count_truncate AFTER TRUNCATE ON delivery_attempts
  FOR EACH STATEMENT EXECUTE FUNCTION hookstream_count_truncated();
