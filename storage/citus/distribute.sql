-- hookstream on Citus: which table is distributed by tenant and which is a
-- reference table (docs/scale-out.md explains the layout and what else changes).
--
-- NOT RUN AGAINST CITUS: Citus is not packaged for Debian 12 where hookstream is
-- built and tested. What the test suite checks (schema_test,
-- every_table_is_distributed_by_org_or_a_reference_table) is this file against
-- hookstream's schema: every table appears exactly once, and every primary and
-- unique key of a distributed table, partitions included, contains org_id.
--
-- Order: run on the coordinator after hookstream's migrations, on an empty
-- schema (create_distributed_table moves existing rows, slowly, under a lock).
-- Referenced tables come before the tables whose foreign keys point at them.

-- Reference tables: a copy on every node. Each is looked up before the tenant
-- is known (a key by its hash, a session by its token, then the member and the
-- org's environment), or is small and read by every tenant. A statement on them
-- is answered by whichever node receives it, without org_id.
SELECT create_reference_table('"user"');
SELECT create_reference_table('"organization"');
SELECT create_reference_table('"session"');
SELECT create_reference_table('"account"');
SELECT create_reference_table('"verification"');
SELECT create_reference_table('"member"');
SELECT create_reference_table('"invitation"');
SELECT create_reference_table('environments');
SELECT create_reference_table('api_keys');
SELECT create_reference_table('hookstream_migrations');
-- The live tail's pruning bookmark (one row). See attempt_events below.
SELECT create_reference_table('attempt_event_log');

-- Distributed by org_id, all in one colocation group: a tenant's attempts, its
-- routes, its events and every one of its counters live in shards of the same
-- hash range, on the same node, so each request statement (all filter on
-- org_id = $1) is routed whole to one node, joins and subqueries included, and
-- the counting triggers write to their tenant's counter shards on that node.
-- delivery_attempts is partitioned by month: Citus distributes its partitions
-- with it, and partitions created later (maintenance) follow.
SELECT create_distributed_table('delivery_attempts', 'org_id', shard_count := 64);
SELECT create_distributed_table('connections', 'org_id', colocate_with := 'delivery_attempts');
SELECT create_distributed_table('destinations', 'org_id', colocate_with := 'delivery_attempts');
SELECT create_distributed_table('events', 'org_id', colocate_with := 'delivery_attempts');
SELECT create_distributed_table('attempt_counts', 'org_id', colocate_with := 'delivery_attempts');
SELECT create_distributed_table('attempt_counts_by_route', 'org_id', colocate_with := 'delivery_attempts');
SELECT create_distributed_table('attempt_counts_daily', 'org_id', colocate_with := 'delivery_attempts');
SELECT create_distributed_table('attempt_counts_daily_by_route', 'org_id', colocate_with := 'delivery_attempts');
SELECT create_distributed_table('attempt_counts_hourly', 'org_id', colocate_with := 'delivery_attempts');
SELECT create_distributed_table('attempt_counts_minutely', 'org_id', colocate_with := 'delivery_attempts');
SELECT create_distributed_table('attempt_totals_minutely', 'org_id', colocate_with := 'delivery_attempts');
SELECT create_distributed_table('attempt_totals_hourly', 'org_id', colocate_with := 'delivery_attempts');
SELECT create_distributed_table('attempt_totals_daily', 'org_id', colocate_with := 'delivery_attempts');
SELECT create_distributed_table('attempt_count_log', 'org_id', colocate_with := 'delivery_attempts');
-- The live tail's event log: written by the trigger on the node of the
-- tenant's attempts, so one tenant's events carry that node's transaction ids
-- and a tenant's catch-up read stays exact. NOT READY: the server's one
-- listener reads all tenants below one snapshot's xmin, which on Citus would
-- have to become one read per node (xids of different nodes do not compare).
SELECT create_distributed_table('attempt_events', 'org_id', colocate_with := 'delivery_attempts');
