-- delivery_attempts partitioned by month of created_at (UTC), for retention
-- that drops whole months instead of deleting rows one by one.
--
-- Layout: one partition per UTC calendar month, created ahead of time by
-- hookstream_create_attempt_partitions() (the server's maintenance loop or
-- `hookstream-server --maintain`); delivery_attempts_history, which holds
-- everything before the first monthly partition (the table as it was before this
-- migration, attached as it is: converting 2,000,000 rows (3.7 GB) took 8 s here, not a
-- copy); delivery_attempts_future, everything after the last month. There is no
-- DEFAULT partition: it would keep the planner from reading partitions in order
-- (an ordered Append, no sort across partitions); MINVALUE and MAXVALUE ranges
-- catch the same rows and keep the order.
--
-- Monthly rather than daily: every listing locks and opens every partition and
-- its indexes (no time predicate prunes them), and a look-up by id probes each
-- partition's primary key; a few partitions cost little, dozens would not.
--
-- The primary key must contain the partition key: (org_id, id, created_at),
-- with org_id first so that it is also the key a distributed (per-org) layout
-- needs. Ids stay unique in practice (128 random bits) but PostgreSQL can no
-- longer enforce uniqueness of id alone.
--
-- Counters (0003): statement triggers on the parent count what is written
-- through it; the same triggers on every partition count what is written to a
-- partition directly (a statement names one table, and only that table's
-- statement triggers fire). TRUNCATE of a partition forgets its days, TRUNCATE
-- of the parent everything; dropping a partition goes through
-- hookstream_drop_attempt_partition(), which forgets its days in the same
-- transaction. Detaching or dropping a partition by hand bypasses the counters:
-- `hookstream-server --check-counters` finds that, `--recount` repairs it.

-- The bounds of a partition of delivery_attempts; NULL for MINVALUE/MAXVALUE.
-- (pg_get_expr prints timestamptz bounds in the session's time zone: UTC here.)
CREATE FUNCTION hookstream_attempt_partition_bounds(part regclass, OUT lo timestamptz, OUT hi timestamptz)
LANGUAGE plpgsql STABLE SET TimeZone = 'UTC' AS $$
DECLARE
  m text[];
BEGIN
  SELECT regexp_match(pg_get_expr(c.relpartbound, c.oid), '^FOR VALUES FROM \((.*)\) TO \((.*)\)$')
  INTO m FROM pg_class c WHERE c.oid = part AND c.relispartition;
  IF m IS NULL THEN
    RAISE EXCEPTION '% is not a range partition', part;
  END IF;
  lo := CASE WHEN m[1] IN ('MINVALUE', 'MAXVALUE') THEN NULL ELSE btrim(m[1], '''')::timestamptz END;
  hi := CASE WHEN m[2] IN ('MINVALUE', 'MAXVALUE') THEN NULL ELSE btrim(m[2], '''')::timestamptz END;
END $$;

-- The UTC days [first_day, last_day) a partition holds; NULL = unbounded. Counters
-- are kept per day, so a partition must start and end at UTC midnight.
CREATE FUNCTION hookstream_attempt_partition_days(part regclass, OUT first_day date, OUT last_day date)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  b record;
BEGIN
  b := hookstream_attempt_partition_bounds(part);
  first_day := (b.lo AT TIME ZONE 'UTC')::date;
  last_day := (b.hi AT TIME ZONE 'UTC')::date;
  IF b.lo <> (first_day::timestamp AT TIME ZONE 'UTC') OR b.hi <> (last_day::timestamp AT TIME ZONE 'UTC') THEN
    RAISE EXCEPTION 'partition % does not start and end at UTC midnight; its counters cannot be forgotten by day',
      part;
  END IF;
END $$;

CREATE FUNCTION hookstream_count_partition_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  d record;
BEGIN
  d := hookstream_attempt_partition_days(TG_RELID);
  PERFORM hookstream_forget_attempt_days(d.first_day, d.last_day);
  RETURN NULL;
END $$;

CREATE FUNCTION hookstream_add_attempt_partition_triggers(part regclass) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('CREATE TRIGGER delivery_attempts_count_insert AFTER INSERT ON %s REFERENCING NEW TABLE AS '
                 'new_rows FOR EACH STATEMENT EXECUTE FUNCTION hookstream_count_inserted()', part);
  EXECUTE format('CREATE TRIGGER delivery_attempts_count_delete AFTER DELETE ON %s REFERENCING OLD TABLE AS '
                 'old_rows FOR EACH STATEMENT EXECUTE FUNCTION hookstream_count_deleted()', part);
  EXECUTE format('CREATE TRIGGER delivery_attempts_count_update AFTER UPDATE ON %s REFERENCING OLD TABLE AS '
                 'old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION hookstream_count_updated()',
                 part);
  EXECUTE format('CREATE TRIGGER delivery_attempts_count_truncate AFTER TRUNCATE ON %s FOR EACH STATEMENT '
                 'EXECUTE FUNCTION hookstream_count_partition_truncated()', part);
END $$;

-- Creates the monthly partitions up to the one holding `through`; returns how
-- many it made. delivery_attempts_future holds [end of the last month, MAXVALUE),
-- so an insert never fails for want of a partition (a clock ahead, maintenance
-- not run for months); it is rolled forward here: its rows are set aside, their
-- counts forgotten, and they come back through the parent, counted again, once
-- the months exist. That locks delivery_attempts in ACCESS EXCLUSIVE mode until
-- commit (normally the future partition is empty and this takes milliseconds):
-- run it with a lock_timeout.
CREATE FUNCTION hookstream_create_attempt_partitions(through timestamptz) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  -- pg_catalog comes first in this function's search_path: name the schema.
  nsp text := (SELECT c.relnamespace::regnamespace::text FROM pg_class c
               WHERE c.oid = 'delivery_attempts'::regclass);
  future regclass;
  next_lo timestamptz;
  next_hi timestamptz;
  part text;
  made integer := 0;
BEGIN
  SELECT i.inhrelid::regclass, b.lo INTO future, next_lo
  FROM pg_inherits i CROSS JOIN LATERAL hookstream_attempt_partition_bounds(i.inhrelid) b
  WHERE i.inhparent = 'delivery_attempts'::regclass AND b.lo IS NOT NULL AND b.hi IS NULL;
  IF future IS NULL THEN
    SELECT max(b.hi) INTO next_lo
    FROM pg_inherits i CROSS JOIN LATERAL hookstream_attempt_partition_bounds(i.inhrelid) b
    WHERE i.inhparent = 'delivery_attempts'::regclass;
    next_lo := coalesce(next_lo, date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC');
  ELSIF next_lo > through THEN
    RETURN 0;
  ELSE
    EXECUTE format('LOCK TABLE %s.delivery_attempts IN ACCESS EXCLUSIVE MODE', nsp);
    PERFORM hookstream_forget_attempt_days((next_lo AT TIME ZONE 'UTC')::date, NULL);
    EXECUTE format('CREATE TEMP TABLE hookstream_moved_attempts ON COMMIT DROP AS SELECT * FROM %s', future);
    PERFORM set_config('hookstream.partition_maintenance', 'on', true);
    EXECUTE format('DROP TABLE %s', future);
    PERFORM set_config('hookstream.partition_maintenance', '', true);
  END IF;
  WHILE next_lo <= through LOOP
    next_hi := (date_trunc('month', next_lo AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
    part := 'delivery_attempts_' || to_char(next_lo AT TIME ZONE 'UTC', 'YYYY"m"MM');
    EXECUTE format('CREATE TABLE %s.%I (LIKE %s.delivery_attempts INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                   nsp, part, nsp);
    EXECUTE format('ALTER TABLE %s.delivery_attempts ATTACH PARTITION %s.%I FOR VALUES FROM (%L) TO (%L)',
                   nsp, nsp, part, next_lo, next_hi);
    PERFORM hookstream_add_attempt_partition_triggers(format('%s.%I', nsp, part)::regclass);
    made := made + 1;
    next_lo := next_hi;
  END LOOP;
  EXECUTE format('CREATE TABLE %s.delivery_attempts_future '
                 '(LIKE %s.delivery_attempts INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', nsp, nsp);
  EXECUTE format('ALTER TABLE %s.delivery_attempts ATTACH PARTITION %s.delivery_attempts_future '
                 'FOR VALUES FROM (%L) TO (MAXVALUE)', nsp, nsp, next_lo);
  PERFORM hookstream_add_attempt_partition_triggers(format('%s.delivery_attempts_future', nsp)::regclass);
  IF future IS NOT NULL THEN
    EXECUTE format('INSERT INTO %s.delivery_attempts SELECT * FROM pg_temp.hookstream_moved_attempts', nsp);
    DROP TABLE pg_temp.hookstream_moved_attempts;
  END IF;
  RETURN made;
END $$;

-- Drops a partition and forgets its days' counts in the same transaction, so no
-- snapshot sees the rows gone but still counted. DROP locks delivery_attempts in
-- ACCESS EXCLUSIVE mode until commit: run it with a lock_timeout.
CREATE FUNCTION hookstream_drop_attempt_partition(part regclass) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  d record;
BEGIN
  d := hookstream_attempt_partition_days(part);
  PERFORM set_config('hookstream.partition_maintenance', 'on', true);  -- past the guard below
  EXECUTE format('DROP TABLE %s', part);
  PERFORM set_config('hookstream.partition_maintenance', '', true);
  PERFORM hookstream_forget_attempt_days(d.first_day, d.last_day);
END $$;

-- Guards, when the migrating role may create event triggers (a superuser):
-- dropping or detaching a partition by hand would leave its rows counted, so it
-- is refused; hookstream_drop_attempt_partition() is the exact way. (Without the
-- guards, --check-counters finds such a drift and --recount repairs it.) An
-- operator who means it can SET hookstream.partition_maintenance = on first.
CREATE FUNCTION hookstream_guard_partition_drop() RETURNS event_trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('hookstream.partition_maintenance', true) = 'on' THEN
    RETURN;
  END IF;
  -- The whole table going is not a drift.
  IF EXISTS (SELECT 1 FROM pg_event_trigger_dropped_objects() o
             WHERE o.object_type = 'table' AND o.object_name = 'delivery_attempts') THEN
    RETURN;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_event_trigger_dropped_objects() o
             WHERE o.object_type = 'trigger' AND o.object_identity LIKE 'delivery\_attempts\_count\_%') THEN
    RAISE EXCEPTION 'dropping a partition of delivery_attempts (or its counting triggers) would leave its rows in '
                    'the totals; use SELECT hookstream_drop_attempt_partition(''<partition>'') '
                    '(hookstream-server --retention-days does), or SET hookstream.partition_maintenance = on '
                    'and repair with hookstream-server --recount';
  END IF;
END $$;

CREATE FUNCTION hookstream_guard_partition_detach() RETURNS event_trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('hookstream.partition_maintenance', true) = 'on' THEN
    RETURN;
  END IF;
  -- A table that still has a partition's counting trigger but is no partition
  -- any more was just detached.
  IF EXISTS (SELECT 1 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
             WHERE t.tgname = 'delivery_attempts_count_truncate'
               AND t.tgfoid = 'hookstream_count_partition_truncated()'::regprocedure
               AND NOT c.relispartition) THEN
    RAISE EXCEPTION 'detaching a partition of delivery_attempts would leave its rows in the totals; drop old '
                    'partitions with SELECT hookstream_drop_attempt_partition(''<partition>''), or SET '
                    'hookstream.partition_maintenance = on and repair with hookstream-server --recount';
  END IF;
END $$;

DO $$
DECLARE
  f text;
BEGIN
  FOREACH f IN ARRAY ARRAY['hookstream_guard_partition_drop()', 'hookstream_guard_partition_detach()',
                           'hookstream_attempt_partition_days(regclass)',
                           'hookstream_count_partition_truncated()',
                           'hookstream_add_attempt_partition_triggers(regclass)',
                           'hookstream_create_attempt_partitions(timestamptz)',
                           'hookstream_drop_attempt_partition(regclass)']
  LOOP
    EXECUTE format('ALTER FUNCTION %I.%s SET search_path = pg_catalog, %I, pg_temp',
                   current_schema(), f, current_schema());
  END LOOP;
  EXECUTE format('ALTER FUNCTION %I.hookstream_attempt_partition_bounds(regclass) '
                 'SET search_path = pg_catalog, %I, pg_temp', current_schema(), current_schema());
END $$;

-- The conversion. The existing table becomes the history partition, keeping its
-- rows and the indexes the parent's indexes match (they are attached, not
-- rebuilt); only the new primary key is built. Writers wait for this migration.
LOCK TABLE delivery_attempts IN ACCESS EXCLUSIVE MODE;
DROP TRIGGER delivery_attempts_count_insert ON delivery_attempts;
DROP TRIGGER delivery_attempts_count_delete ON delivery_attempts;
DROP TRIGGER delivery_attempts_count_update ON delivery_attempts;
DROP TRIGGER delivery_attempts_count_truncate ON delivery_attempts;
ALTER TABLE delivery_attempts RENAME TO delivery_attempts_history;
ALTER TABLE delivery_attempts_history DROP CONSTRAINT delivery_attempts_pkey;
ALTER INDEX delivery_attempts_list RENAME TO delivery_attempts_history_list;
ALTER INDEX delivery_attempts_by_event RENAME TO delivery_attempts_history_by_event;
ALTER INDEX delivery_attempts_by_connection RENAME TO delivery_attempts_history_by_connection;
ALTER INDEX delivery_attempts_by_destination RENAME TO delivery_attempts_history_by_destination;
ALTER INDEX delivery_attempts_by_status RENAME TO delivery_attempts_history_by_status;
ALTER INDEX delivery_attempts_by_dlq RENAME TO delivery_attempts_history_by_dlq;
ALTER TABLE delivery_attempts_history ADD CONSTRAINT delivery_attempts_history_pkey
  PRIMARY KEY (org_id, id, created_at);

CREATE TABLE delivery_attempts (LIKE delivery_attempts_history INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
  PARTITION BY RANGE (created_at);
ALTER TABLE delivery_attempts ADD CONSTRAINT delivery_attempts_pkey PRIMARY KEY (org_id, id, created_at);
CREATE INDEX delivery_attempts_list
  ON delivery_attempts (org_id, env_id, created_at DESC, id DESC);
CREATE INDEX delivery_attempts_by_event
  ON delivery_attempts (org_id, env_id, event_id, created_at DESC, id DESC);
CREATE INDEX delivery_attempts_by_connection
  ON delivery_attempts (org_id, env_id, connection_id, created_at DESC, id DESC);
CREATE INDEX delivery_attempts_by_destination
  ON delivery_attempts (org_id, env_id, destination_id, created_at DESC, id DESC);
CREATE INDEX delivery_attempts_by_status
  ON delivery_attempts (org_id, env_id, status, created_at DESC, id DESC);
CREATE INDEX delivery_attempts_by_dlq
  ON delivery_attempts (org_id, env_id, (coalesce(is_dlq, 0)), created_at DESC, id DESC);

-- The history partition ends at the first UTC month that starts after both its
-- newest row and now; monthly partitions follow from there.
DO $$
DECLARE
  newest timestamptz;
  boundary timestamptz;
BEGIN
  SELECT max(created_at) INTO newest FROM delivery_attempts_history;
  IF newest IS NULL OR newest < date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' THEN
    boundary := date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
  ELSE
    boundary := (date_trunc('month', newest AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
  END IF;
  EXECUTE format('ALTER TABLE delivery_attempts ATTACH PARTITION delivery_attempts_history '
                 'FOR VALUES FROM (MINVALUE) TO (%L)', boundary);
END $$;

CREATE TRIGGER delivery_attempts_count_insert AFTER INSERT ON delivery_attempts
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION hookstream_count_inserted();
CREATE TRIGGER delivery_attempts_count_delete AFTER DELETE ON delivery_attempts
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION hookstream_count_deleted();
CREATE TRIGGER delivery_attempts_count_update AFTER UPDATE ON delivery_attempts
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION hookstream_count_updated();
CREATE TRIGGER delivery_attempts_count_truncate AFTER TRUNCATE ON delivery_attempts
  FOR EACH STATEMENT EXECUTE FUNCTION hookstream_count_truncated();
SELECT hookstream_add_attempt_partition_triggers('delivery_attempts_history');
SELECT hookstream_create_attempt_partitions(now() + interval '7 days');

-- Last: the conversion above drops triggers and alters tables itself.
DO $$
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    CREATE EVENT TRIGGER hookstream_guard_partition_drop ON sql_drop
      EXECUTE FUNCTION hookstream_guard_partition_drop();
    CREATE EVENT TRIGGER hookstream_guard_partition_detach ON ddl_command_end WHEN TAG IN ('ALTER TABLE')
      EXECUTE FUNCTION hookstream_guard_partition_detach();
  END IF;
END $$;
