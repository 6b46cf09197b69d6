-- Tenant counters by UTC hour and minute, so that a time-range total costs what
-- its two edges cost, not what its size is.
--
-- A total over (after, before) sums, per tenant and (status, DLQ flag):
--   * the daily counters (0003) of the whole days inside the range,
--   * the hourly counters of the whole hours of the two partial edge days,
--   * the minutely counters of the whole minutes of the two partial edge hours,
--   * a direct count, through the (org, env, created_at) index, of the two
--     partial edge minutes,
--   * the pending deltas of the whole minutes inside the range.
-- On the bench data (22,000 attempts a day in one environment) a week's total
-- reads about 300 counter rows and 30 attempts instead of 13,000 attempts per
-- partial edge day (1.4 ms each). Filters on connection or destination keep
-- the daily granularity (per-route hourly counters would hold as many rows as
-- a busy tenant has attempts): their edge days are counted directly, through
-- the route's index.
--
-- The tenant deltas are now keyed by minute (`minute`, the UTC minute of
-- created_at; `day` stays, derived from it); compaction folds them into all
-- four layers (minute, hour, day, all time) in one transaction, as before.
-- Writers' work per statement is unchanged (one delta upsert per counter key);
-- a writer's delta row moves to a new key once a minute instead of once a day.

-- Folds, recounts and this migration change folded counters one at a time
-- (0003's rule: table locks first, then the counters' advisory lock). Writers
-- wait until the new triggers exist.
LOCK TABLE delivery_attempts IN SHARE ROW EXCLUSIVE MODE;
SELECT pg_advisory_xact_lock(7286091635);

CREATE TABLE attempt_counts_hourly (
  org_id text NOT NULL,
  env_id text NOT NULL,
  hour   timestamp NOT NULL,  -- UTC, start of the hour
  status text NOT NULL,
  in_dlq boolean NOT NULL,
  n      bigint NOT NULL,
  PRIMARY KEY (org_id, env_id, hour, status, in_dlq)
);
CREATE INDEX attempt_counts_hourly_hour ON attempt_counts_hourly (hour);

CREATE TABLE attempt_counts_minutely (
  org_id text NOT NULL,
  env_id text NOT NULL,
  minute timestamp NOT NULL,  -- UTC, start of the minute
  status text NOT NULL,
  in_dlq boolean NOT NULL,
  n      bigint NOT NULL,
  PRIMARY KEY (org_id, env_id, minute, status, in_dlq)
);
CREATE INDEX attempt_counts_minutely_minute ON attempt_counts_minutely (minute);

-- The tenant counters are rebuilt from the rows below, so their pending deltas
-- (which carry no minute) go; the per-route layers are untouched.
DELETE FROM attempt_count_deltas;
ALTER TABLE attempt_count_deltas ADD COLUMN minute timestamp NOT NULL;
ALTER TABLE attempt_count_deltas DROP CONSTRAINT attempt_count_deltas_pkey;
ALTER TABLE attempt_count_deltas ADD PRIMARY KEY (org_id, env_id, status, in_dlq, minute, writer);

-- The row triggers: as in 0003, with the tenant deltas grouped by minute and the
-- route deltas by day.
CREATE OR REPLACE FUNCTION hookstream_count_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  WITH g AS (
    SELECT org_id, env_id, connection_id, destination_id, status, coalesce(is_dlq, 0) = 1 AS in_dlq,
           date_trunc('minute', created_at AT TIME ZONE 'UTC') AS minute, count(*) AS n
    FROM new_rows GROUP BY 1, 2, 3, 4, 5, 6, 7),
  by_route AS (
    INSERT INTO attempt_count_deltas_by_route AS c
      (org_id, env_id, connection_id, destination_id, status, in_dlq, day, writer, n)
    SELECT org_id, env_id, connection_id, destination_id, status, in_dlq, minute::date, pg_backend_pid(), sum(n)
    FROM g GROUP BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT (org_id, env_id, connection_id, destination_id, status, in_dlq, day, writer)
    DO UPDATE SET n = c.n + excluded.n)
  INSERT INTO attempt_count_deltas AS c (org_id, env_id, status, in_dlq, day, minute, writer, n)
  SELECT org_id, env_id, status, in_dlq, minute::date, minute, pg_backend_pid(), sum(n) FROM g GROUP BY 1, 2, 3, 4, 6
  ON CONFLICT (org_id, env_id, status, in_dlq, minute, writer) DO UPDATE SET n = c.n + excluded.n;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION hookstream_count_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  WITH g AS (
    SELECT org_id, env_id, connection_id, destination_id, status, coalesce(is_dlq, 0) = 1 AS in_dlq,
           date_trunc('minute', created_at AT TIME ZONE 'UTC') AS minute, -count(*) AS n
    FROM old_rows GROUP BY 1, 2, 3, 4, 5, 6, 7),
  by_route AS (
    INSERT INTO attempt_count_deltas_by_route AS c
      (org_id, env_id, connection_id, destination_id, status, in_dlq, day, writer, n)
    SELECT org_id, env_id, connection_id, destination_id, status, in_dlq, minute::date, pg_backend_pid(), sum(n)
    FROM g GROUP BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT (org_id, env_id, connection_id, destination_id, status, in_dlq, day, writer)
    DO UPDATE SET n = c.n + excluded.n)
  INSERT INTO attempt_count_deltas AS c (org_id, env_id, status, in_dlq, day, minute, writer, n)
  SELECT org_id, env_id, status, in_dlq, minute::date, minute, pg_backend_pid(), sum(n) FROM g GROUP BY 1, 2, 3, 4, 6
  ON CONFLICT (org_id, env_id, status, in_dlq, minute, writer) DO UPDATE SET n = c.n + excluded.n;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION hookstream_count_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  -- Only rows whose counted dimensions changed move between counters; an
  -- update of other columns nets to nothing and writes no delta.
  WITH g AS (
    SELECT org_id, env_id, connection_id, destination_id, status, in_dlq, minute, sum(n) AS n
    FROM (
      SELECT o.org_id, o.env_id, o.connection_id, o.destination_id, o.status, coalesce(o.is_dlq, 0) = 1 AS in_dlq,
             date_trunc('minute', o.created_at AT TIME ZONE 'UTC') AS minute, -1 AS n
      FROM old_rows o
      UNION ALL
      SELECT w.org_id, w.env_id, w.connection_id, w.destination_id, w.status, coalesce(w.is_dlq, 0) = 1,
             date_trunc('minute', w.created_at AT TIME ZONE 'UTC'), 1
      FROM new_rows w
    ) moved
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    HAVING sum(n) <> 0),
  by_route AS (
    INSERT INTO attempt_count_deltas_by_route AS c
      (org_id, env_id, connection_id, destination_id, status, in_dlq, day, writer, n)
    SELECT org_id, env_id, connection_id, destination_id, status, in_dlq, minute::date, pg_backend_pid(), sum(n)
    FROM g GROUP BY 1, 2, 3, 4, 5, 6, 7
    HAVING sum(n) <> 0
    ON CONFLICT (org_id, env_id, connection_id, destination_id, status, in_dlq, day, writer)
    DO UPDATE SET n = c.n + excluded.n)
  INSERT INTO attempt_count_deltas AS c (org_id, env_id, status, in_dlq, day, minute, writer, n)
  SELECT org_id, env_id, status, in_dlq, minute::date, minute, pg_backend_pid(), sum(n) FROM g GROUP BY 1, 2, 3, 4, 6
  HAVING sum(n) <> 0
  ON CONFLICT (org_id, env_id, status, in_dlq, minute, writer) DO UPDATE SET n = c.n + excluded.n;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION hookstream_count_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(7286091635);
  DELETE FROM attempt_count_deltas;
  DELETE FROM attempt_count_deltas_by_route;
  DELETE FROM attempt_counts_minutely;
  DELETE FROM attempt_counts_hourly;
  DELETE FROM attempt_counts_daily;
  DELETE FROM attempt_counts_daily_by_route;
  DELETE FROM attempt_counts;
  DELETE FROM attempt_counts_by_route;
  RETURN NULL;
END $$;

-- Compaction, as in 0003: the tenant deltas of a batch go into the minutely,
-- hourly, daily and all-time counters in one statement (so in one transaction
-- with their deletion).
CREATE OR REPLACE FUNCTION hookstream_fold_count_deltas(max_rows integer DEFAULT 10000) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  tenant_rows bigint;
  route_rows bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(7286091635);
  WITH taken AS (
    DELETE FROM attempt_count_deltas d
    WHERE (d.org_id, d.env_id, d.status, d.in_dlq, d.minute, d.writer) IN (
      SELECT t.org_id, t.env_id, t.status, t.in_dlq, t.minute, t.writer FROM attempt_count_deltas t
      LIMIT max_rows FOR UPDATE SKIP LOCKED)
    RETURNING d.*),
  g AS (
    SELECT org_id, env_id, minute, status, in_dlq, sum(n) AS n, count(*) AS folded
    FROM taken GROUP BY 1, 2, 3, 4, 5),
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

-- As in 0003, and the minutely and hourly counters of those days go too.
CREATE OR REPLACE FUNCTION hookstream_forget_attempt_days(first_day date, last_day date) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  lo date := coalesce(first_day, '-infinity');
  hi date := coalesce(last_day, 'infinity');
BEGIN
  PERFORM pg_advisory_xact_lock(7286091635);
  DELETE FROM attempt_count_deltas WHERE day >= lo AND day < hi;
  DELETE FROM attempt_count_deltas_by_route WHERE day >= lo AND day < hi;
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

-- The tenant counters, rebuilt from the rows (consistent by construction; on
-- 2,000,000 attempts this takes a few seconds, during which writers wait).
DELETE FROM attempt_counts_daily;
DELETE FROM attempt_counts;
INSERT INTO attempt_counts_minutely
SELECT org_id, env_id, date_trunc('minute', created_at AT TIME ZONE 'UTC'), status, coalesce(is_dlq, 0) = 1, count(*)
FROM delivery_attempts GROUP BY 1, 2, 3, 4, 5;
INSERT INTO attempt_counts_hourly
SELECT org_id, env_id, date_trunc('hour', minute), status, in_dlq, sum(n) FROM attempt_counts_minutely
GROUP BY 1, 2, 3, 4, 5;
INSERT INTO attempt_counts_daily
SELECT org_id, env_id, hour::date, status, in_dlq, sum(n) FROM attempt_counts_hourly GROUP BY 1, 2, 3, 4, 5;
INSERT INTO attempt_counts
SELECT org_id, env_id, status, in_dlq, sum(n) FROM attempt_counts_daily GROUP BY 1, 2, 3, 4;
