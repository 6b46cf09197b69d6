-- hookstream schema, version 1.
--
-- Tenancy: a tenant is an organisation plus one of its environments. Organisations
-- live in better-auth's "organization" table so that the dashboard (a better-auth
-- app) and hookstream share one source of truth for orgs and memberships.

-- better-auth 1.7 core + organization plugin tables, with its quoted camelCase
-- names. IF NOT EXISTS: better-auth may have created them first.
CREATE TABLE IF NOT EXISTS "user" (
  "id"            text PRIMARY KEY,
  "name"          text NOT NULL,
  "email"         text NOT NULL UNIQUE,
  "emailVerified" boolean NOT NULL,
  "image"         text,
  "createdAt"     timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "updatedAt"     timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE IF NOT EXISTS "session" (
  "id"                   text PRIMARY KEY,
  "expiresAt"            timestamptz NOT NULL,
  "token"                text NOT NULL UNIQUE,
  "createdAt"            timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "updatedAt"            timestamptz NOT NULL,
  "ipAddress"            text,
  "userAgent"            text,
  "userId"               text NOT NULL REFERENCES "user" ("id") ON DELETE CASCADE,
  "activeOrganizationId" text
);
CREATE TABLE IF NOT EXISTS "account" (
  "id"                    text PRIMARY KEY,
  "accountId"             text NOT NULL,
  "providerId"            text NOT NULL,
  "userId"                text NOT NULL REFERENCES "user" ("id") ON DELETE CASCADE,
  "accessToken"           text,
  "refreshToken"          text,
  "idToken"               text,
  "accessTokenExpiresAt"  timestamptz,
  "refreshTokenExpiresAt" timestamptz,
  "scope"                 text,
  "password"              text,
  "createdAt"             timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "updatedAt"             timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS "verification" (
  "id"         text PRIMARY KEY,
  "identifier" text NOT NULL,
  "value"      text NOT NULL,
  "expiresAt"  timestamptz NOT NULL,
  "createdAt"  timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "updatedAt"  timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE IF NOT EXISTS "organization" (
  "id"        text PRIMARY KEY,
  "name"      text NOT NULL,
  "slug"      text NOT NULL UNIQUE,
  "logo"      text,
  "createdAt" timestamptz NOT NULL,
  "metadata"  text
);
CREATE TABLE IF NOT EXISTS "member" (
  "id"             text PRIMARY KEY,
  "organizationId" text NOT NULL REFERENCES "organization" ("id") ON DELETE CASCADE,
  "userId"         text NOT NULL REFERENCES "user" ("id") ON DELETE CASCADE,
  "role"           text NOT NULL,
  "createdAt"      timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS "invitation" (
  "id"             text PRIMARY KEY,
  "organizationId" text NOT NULL REFERENCES "organization" ("id") ON DELETE CASCADE,
  "email"          text NOT NULL,
  "role"           text,
  "status"         text NOT NULL,
  "expiresAt"      timestamptz NOT NULL,
  "createdAt"      timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "inviterId"      text NOT NULL REFERENCES "user" ("id") ON DELETE CASCADE
);

-- hookstream's own tables.
CREATE TABLE environments (
  id         text PRIMARY KEY,                 -- env_<hex>
  org_id     text NOT NULL REFERENCES "organization" ("id") ON DELETE CASCADE,
  name       text NOT NULL,
  is_default boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX environments_org ON environments (org_id);
-- At most one default environment per org (cookie sessions without X-Env-Id use it).
CREATE UNIQUE INDEX environments_one_default ON environments (org_id) WHERE is_default;

CREATE TABLE connections (
  id         text PRIMARY KEY,                 -- conn_<hex>
  org_id     text NOT NULL,
  env_id     text NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
  name       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE destinations (
  id         text PRIMARY KEY,                 -- dst_<hex>
  org_id     text NOT NULL,
  env_id     text NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
  name       text NOT NULL,
  url        text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE events (
  id         text PRIMARY KEY,                 -- evt_<hex>
  org_id     text NOT NULL,
  env_id     text NOT NULL,
  event_type text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Attempts deliberately carry no foreign keys to connections/destinations/events:
-- history outlives configuration (a deleted destination leaves its attempts, whose
-- destination_name then reads null), and bulk loads stay fast.
CREATE TABLE delivery_attempts (
  id                text PRIMARY KEY,          -- da_<32 hex>
  org_id            text NOT NULL,
  env_id            text NOT NULL,
  event_id          text NOT NULL,
  connection_id     text NOT NULL,
  destination_id    text NOT NULL,
  request_url       text NOT NULL,
  request_method    text NOT NULL,
  request_headers   text,                      -- a JSON object, as text
  request_body_size integer NOT NULL DEFAULT 0,
  response_status   integer,
  response_headers  text,                      -- a JSON object, as text
  response_body     bytea,                     -- whatever the destination answered
  duration_ms       integer,
  status            text NOT NULL CHECK (status IN ('pending', 'success', 'failed', 'retrying')),
  error             text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  attempt_number    integer,
  next_retry_at     timestamptz,
  is_dlq            smallint CHECK (is_dlq IN (0, 1)),
  dlq_at            timestamptz,
  trigger_type      text
);

-- One index per filter, each ending in the listing order (created_at DESC, id DESC),
-- so every filter is served by an ordered index scan that stops after LIMIT rows:
-- no sort step, whatever the size of the tenant.
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
-- is_dlq = 0 must also match NULL ("not in the DLQ"), hence the expression.
CREATE INDEX delivery_attempts_by_dlq
  ON delivery_attempts (org_id, env_id, (coalesce(is_dlq, 0)), created_at DESC, id DESC);

CREATE TABLE api_keys (
  id           text PRIMARY KEY,               -- key_<hex>
  org_id       text NOT NULL REFERENCES "organization" ("id") ON DELETE CASCADE,
  env_id       text NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
  name         text NOT NULL DEFAULT '',
  -- Only the SHA-256 of the full key is stored; the key itself is shown once.
  key_hash     bytea NOT NULL UNIQUE CHECK (length(key_hash) = 32),
  key_prefix   text NOT NULL,                  -- e.g. hs_live_1a2b, for display
  created_at   timestamptz NOT NULL DEFAULT now(),
  revoked_at   timestamptz
);
