-- Every primary and unique key of a tenant table includes org_id.
--
-- Why: to spread tenants over several servers (Citus, docs/scale-out.md) the
-- tenant tables are distributed by org_id, and a distributed table can only
-- enforce a unique key that contains its distribution column. The tenant
-- tables are those storage/citus/distribute.sql distributes: delivery_attempts
-- (its key is (org_id, id, created_at) since 0004), the counters of 0002-0003
-- (keys lead with org_id), and connections, destinations and events, whose keys
-- were their id alone until now. The tables looked up before the tenant is known
-- (api_keys by key hash, better-auth's session, member and organization, and
-- environments) become reference tables there and keep their keys.
--
-- Ids stay unique in practice (random ids), but PostgreSQL now enforces
-- uniqueness per org, which is what every statement asks for: hookstream reads
-- connections and destinations by (org_id, env_id, id), never by id alone.
--
-- Cost: each key is rebuilt under ACCESS EXCLUSIVE on its table (writers of
-- that table wait); measured on the bench data (2,000,000 attempts) in
-- docs/scale-out.md. delivery_attempts and the counters are not touched.

ALTER TABLE connections DROP CONSTRAINT connections_pkey;
ALTER TABLE connections ADD CONSTRAINT connections_pkey PRIMARY KEY (org_id, id);
ALTER TABLE destinations DROP CONSTRAINT destinations_pkey;
ALTER TABLE destinations ADD CONSTRAINT destinations_pkey PRIMARY KEY (org_id, id);
ALTER TABLE events DROP CONSTRAINT events_pkey;
ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (org_id, id);
