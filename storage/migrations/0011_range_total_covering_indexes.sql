-- Covering indexes for the tenant's counters by minute, hour and day, so that a
-- time-range total (0010) reads them with index-only scans.
--
-- A range total reads one counter row per (minute, status, DLQ flag) of its two
-- partial edge hours, per hour of its two partial edge days and per whole day
-- inside it: about 400 rows for a 7-day range on the bench data. Through the
-- primary keys each row is a heap visit, since one tenant's rows of consecutive
-- minutes lie on different heap pages (compaction appends every tenant's new
-- minutes together): 330 buffers per total. These indexes hold `n` (and the
-- filtered columns), so the same total reads about 60 buffers, from a few leaf
-- pages per piece. Rows of past minutes, hours and days no longer change, so
-- autovacuum keeps them all-visible and the scans need no heap check.
--
-- The cost is on compaction only: its updates of a counter's `n` also update
-- these indexes (no HOT update). Writers never touch these tables (they write
-- deltas, 0003).
CREATE INDEX attempt_counts_minutely_covering
  ON attempt_counts_minutely (org_id, env_id, minute) INCLUDE (status, in_dlq, n);
CREATE INDEX attempt_counts_hourly_covering
  ON attempt_counts_hourly (org_id, env_id, hour) INCLUDE (status, in_dlq, n);
CREATE INDEX attempt_counts_daily_covering
  ON attempt_counts_daily (org_id, env_id, day) INCLUDE (status, in_dlq, n);
