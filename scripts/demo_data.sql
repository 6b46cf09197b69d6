-- hookstream demo data.
--
--   psql -v ON_ERROR_STOP=1 -f scripts/demo_data.sql
--
-- Loads realistic demo data into an empty, already-migrated database
-- (storage/migrations/0001_schema.sql): two organisations with an owner each,
-- five environments, connections, destinations, events and ~15,700 delivery
-- attempts (~12,500 of them in Acme's production environment).
--
-- Deterministic: every value is derived from md5() of a fixed key (never from
-- plan order, now() or an unseeded random()), and all timestamps are relative to
-- the fixed instant 2026-11-28 12:00:00+00, so two runs on fresh databases produce
-- byte-identical rows. API keys are NOT created here.
--
-- Shape of the data:
--   * each event has a chain of attempts 1..L (retries 30 s, 5 min, 30 min apart);
--     earlier attempts of a chain are 'failed' with next_retry_at = the next attempt;
--   * the last attempt ends 'success', 'failed' (retries exhausted; ~65% of those
--     chains are dead-lettered: all their attempts get is_dlq = 1 and dlq_at),
--     'retrying' (next_retry_at set, last 36 h) or 'pending' (no response, last 6 h);
--   * some dead-lettered events were replayed by hand a few hours later
--     (trigger_type 'manual_replay', success);
--   * ~3% of events arrive in bursts that share one exact created_at (ties);
--   * Acme production's destination "orders-service-v1 (prod)" was deleted: its
--     attempts (Shopify events older than 21 days) remain, destination row gone;
--   * 20 success attempts carry a binary (invalid UTF-8, control bytes) body,
--     502s carry an nginx HTML page;
--   * attempts older than 29.5 days that are not in the DLQ have is_dlq NULL.
--   Mix: ~80% success, ~12% failed, ~5% retrying, ~3% pending, ~2% DLQ.

SET client_encoding = 'UTF8';

BEGIN;

SELECT setseed(0.42);  -- nothing below uses random(); kept so any future use is seeded

SET LOCAL TimeZone = 'UTC';  -- timestamp arithmetic and truncation independent of the session
SET LOCAL jit = off;         -- unanalysed temp tables give huge cost estimates; JIT would cost seconds

-- u(key): a uniform double in [0, 1) derived from md5(key).
CREATE FUNCTION pg_temp.u(text) RETURNS double precision
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT ('x' || substr(md5($1), 1, 13))::bit(52)::bigint / 4503599627370496.0::double precision $$;

-- ---------------------------------------------------------------------------
-- Fixed reference tables.
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE demo_org (
  org_no     int PRIMARY KEY,
  org_id     text NOT NULL,
  name       text NOT NULL,
  slug       text NOT NULL,
  domain     text NOT NULL,
  created_at timestamptz NOT NULL,
  user_id    text NOT NULL,
  user_name  text NOT NULL,
  user_email text NOT NULL,
  member_id  text NOT NULL
) ON COMMIT DROP;

INSERT INTO demo_org
SELECT o.org_no,
       'org_' || substr(md5('hookstream-demo:org:' || o.org_no), 1, 24),
       o.name, o.slug, o.domain, o.created_at,
       substr(md5('hookstream-demo:user:' || o.org_no), 1, 32),
       o.user_name, o.user_email,
       substr(md5('hookstream-demo:member:' || o.org_no), 1, 32)
FROM (VALUES
  (1, 'Acme Corp',  'acme',   'acme-corp.com', timestamptz '2026-03-14 09:21:07.412+00', 'Alice Nguyen', 'alice@acme-corp.com'),
  (2, 'Globex Inc', 'globex', 'globex.io',     timestamptz '2026-06-02 16:45:33.058+00', 'Boris Petrov', 'boris@globex.io')
) AS o(org_no, name, slug, domain, created_at, user_name, user_email);

-- Connection / destination catalogue: source → service, the receiving endpoint,
-- and the event types the source emits.
CREATE TEMP TABLE demo_catalog (
  k           int PRIMARY KEY,
  conn_name   text NOT NULL,
  dst_base    text NOT NULL,
  sub         text NOT NULL,
  path        text NOT NULL,
  method      text NOT NULL,
  event_types text[] NOT NULL
) ON COMMIT DROP;

INSERT INTO demo_catalog VALUES
  (1,  'Stripe → Billing service',       'billing-api',       'billing',   '/webhooks/stripe',   'POST',
       ARRAY['invoice.paid','invoice.payment_failed','customer.subscription.updated','charge.refunded','checkout.session.completed','payment_intent.succeeded']),
  (2,  'GitHub → CI runner',             'ci-runner',         'ci',        '/hooks/github',      'POST',
       ARRAY['push','pull_request.opened','pull_request.closed','workflow_run.completed','release.published']),
  (3,  'Shopify → Order sync',           'orders-service',    'orders',    '/webhooks/shopify',  'POST',
       ARRAY['orders/create','orders/paid','orders/fulfilled','refunds/create']),
  (4,  'Twilio → SMS inbox',             'sms-inbox',         'messaging', '/twilio/inbound',    'POST',
       ARRAY['message.received','message.delivered','message.failed']),
  (5,  'Clerk → User sync',              'user-sync',         'accounts',  '/webhooks/clerk',    'POST',
       ARRAY['user.created','user.updated','user.deleted','session.created']),
  (6,  'Linear → Issue tracker',         'issue-bridge',      'tracker',   '/linear/events',     'POST',
       ARRAY['Issue.create','Issue.update','Comment.create']),
  (7,  'PagerDuty → On-call bot',        'oncall-bot',        'oncall',    '/pagerduty/v3',      'PUT',
       ARRAY['incident.triggered','incident.acknowledged','incident.resolved']),
  (8,  'SendGrid → Email events',        'email-events',      'mail',      '/sendgrid/events',   'POST',
       ARRAY['delivered','open','click','bounce','dropped']),
  (9,  'HubSpot → CRM sync',             'crm-sync',          'crm',       '/hubspot/webhook',   'POST',
       ARRAY['contact.creation','contact.propertyChange','deal.propertyChange','company.creation']),
  (10, 'Intercom → Support desk',        'support-desk',      'support',   '/intercom/topics',   'POST',
       ARRAY['conversation.user.created','conversation.admin.replied','conversation.admin.closed']),
  (11, 'Segment → Analytics warehouse',  'analytics-ingest',  'analytics', '/segment/track',     'POST',
       ARRAY['track','identify','page','group']),
  (12, 'Paddle → Subscriptions',         'subscriptions-api', 'subs',      '/paddle/webhooks',   'PUT',
       ARRAY['subscription.created','subscription.canceled','transaction.completed']);

-- Environments: which catalogue entries they use, with relative traffic weights.
CREATE TEMP TABLE demo_env (
  env_no     int PRIMARY KEY,
  org_no     int NOT NULL,
  env_id     text NOT NULL,
  name       text NOT NULL,
  is_default boolean NOT NULL,
  label      text NOT NULL,
  cat        int[] NOT NULL,
  weights    int[] NOT NULL,
  n_events   int NOT NULL,
  created_at timestamptz NOT NULL
) ON COMMIT DROP;

INSERT INTO demo_env
SELECT e.env_no, e.org_no,
       'env_' || substr(md5('hookstream-demo:env:' || e.env_no), 1, 24),
       e.name, e.is_default, e.label, e.cat, e.weights, e.n_events,
       o.created_at + make_interval(mins => e.env_no * 7)
FROM (VALUES
  (1, 1, 'production',  true,  'prod',    ARRAY[1,2,3,4,5,6,7,8], ARRAY[30,18,15,10,9,8,5,5], 11200),
  (2, 1, 'staging',     false, 'staging', ARRAY[1,2,3,5],         ARRAY[35,25,25,15],         1000),
  (3, 1, 'development', false, 'dev',     ARRAY[1,2,5],           ARRAY[50,30,20],            400),
  (4, 2, 'production',  true,  'prod',    ARRAY[9,10,11,12,1],    ARRAY[25,20,30,15,10],      1100),
  (5, 2, 'staging',     false, 'staging', ARRAY[9,11,12],         ARRAY[40,35,25],            300)
) AS e(env_no, org_no, name, is_default, label, cat, weights, n_events)
JOIN demo_org o USING (org_no);

-- One connection and one destination per catalogue entry of each environment;
-- [lo, hi) is the entry's share of the environment's traffic.
CREATE TEMP TABLE demo_route ON COMMIT DROP AS
SELECT e.env_no, e.env_id, o.org_id, r.pos::int AS pos, c.k,
       'conn_' || substr(md5('hookstream-demo:conn:' || e.env_no || ':' || c.k), 1, 24) AS conn_id,
       'dst_'  || substr(md5('hookstream-demo:dst:'  || e.env_no || ':' || c.k), 1, 24) AS dst_id,
       c.conn_name,
       c.dst_base || ' (' || e.label || ')' AS dst_name,
       CASE e.label
         WHEN 'prod'    THEN 'https://' || c.sub || '.' || o.domain || c.path
         WHEN 'staging' THEN 'https://' || c.sub || '.staging.' || o.domain || c.path
         ELSE 'https://' || c.dst_base || '-' || substr(md5('hookstream-demo:ngrok:' || e.env_no || ':' || c.k), 1, 6)
              || '.ngrok-free.app' || c.path
       END AS url,
       c.method, c.event_types,
       (sum(r.w) OVER w - r.w)::double precision / sum(r.w) OVER env AS lo,
       sum(r.w) OVER w::double precision / sum(r.w) OVER env AS hi,
       e.created_at + make_interval(hours => 2 * r.pos::int) AS created_at
FROM demo_env e
JOIN demo_org o USING (org_no)
CROSS JOIN LATERAL unnest(e.cat, e.weights) WITH ORDINALITY AS r(k, w, pos)
JOIN demo_catalog c ON c.k = r.k
WINDOW w AS (PARTITION BY e.env_no ORDER BY r.pos), env AS (PARTITION BY e.env_no);

ANALYZE demo_org, demo_catalog, demo_env, demo_route;

-- ---------------------------------------------------------------------------
-- Organisations, owners, environments, connections, destinations.
-- ---------------------------------------------------------------------------
INSERT INTO "organization" ("id", "name", "slug", "logo", "createdAt", "metadata")
SELECT org_id, name, slug, NULL, created_at, NULL FROM demo_org ORDER BY org_no;

INSERT INTO "user" ("id", "name", "email", "emailVerified", "image", "createdAt", "updatedAt")
SELECT user_id, user_name, user_email, true, NULL,
       created_at - interval '3 minutes', created_at - interval '3 minutes'
FROM demo_org ORDER BY org_no;

INSERT INTO "member" ("id", "organizationId", "userId", "role", "createdAt")
SELECT member_id, org_id, user_id, 'owner', created_at FROM demo_org ORDER BY org_no;

INSERT INTO environments (id, org_id, name, is_default, created_at)
SELECT e.env_id, o.org_id, e.name, e.is_default, e.created_at
FROM demo_env e JOIN demo_org o USING (org_no) ORDER BY e.env_no;

INSERT INTO connections (id, org_id, env_id, name, created_at)
SELECT conn_id, org_id, env_id, conn_name, created_at FROM demo_route ORDER BY env_no, pos;

INSERT INTO destinations (id, org_id, env_id, name, url, created_at)
SELECT dst_id, org_id, env_id, dst_name, url, created_at FROM demo_route ORDER BY env_no, pos;

-- The old Shopify endpoint of Acme production; deleted at the end of the script,
-- its attempts stay.
CREATE TEMP TABLE demo_legacy ON COMMIT DROP AS
SELECT 'dst_' || substr(md5('hookstream-demo:dst:1:orders-service-v1'), 1, 24) AS dst_id,
       'orders-service-v1 (prod)'::text AS dst_name,
       'https://orders-v1.acme-corp.com/webhooks/shopify'::text AS url;
ANALYZE demo_legacy;

INSERT INTO destinations (id, org_id, env_id, name, url, created_at)
SELECT l.dst_id, r.org_id, r.env_id, l.dst_name, l.url, r.created_at - interval '90 minutes'
FROM demo_legacy l JOIN demo_route r ON r.env_no = 1 AND r.k = 3;

-- ---------------------------------------------------------------------------
-- Events.
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE demo_ev ON COMMIT DROP AS
WITH base AS (
  SELECT e.env_no, e.env_id, o.org_id, g.i,
         'evt_' || substr(md5('hookstream-demo:evt:' || e.env_no || ':' || g.i), 1, 24) AS event_id,
         e.env_no || ':' || g.i AS ek,              -- per-event hash key
         e.env_no || ':' || (g.i / 8) AS gk,        -- per-burst-group hash key
         pg_temp.u('out:' || e.env_no || ':' || g.i) AS u_out
  FROM demo_env e
  JOIN demo_org o USING (org_no)
  CROSS JOIN LATERAL generate_series(1, e.n_events) AS g(i)
), b AS (
  SELECT base.*,
         CASE WHEN u_out < 0.8982 THEN 'success'
              WHEN u_out < 0.9102 THEN 'failed'
              WHEN u_out < 0.9663 THEN 'retrying'
              ELSE 'pending' END AS outcome,
         pg_temp.u('len:' || ek) AS u_len,
         pg_temp.u('conn:' || ek) AS u_conn,
         pg_temp.u('type:' || ek) AS u_type,
         -- ~3% of groups of 8 consecutive events are bursts of 2..8 events that
         -- share one exact timestamp.
         (pg_temp.u('burst:' || gk) < 0.03
          AND (i % 8) < 2 + floor(pg_temp.u('burstsize:' || gk) * 7)) AS burst_slot
  FROM base
), t AS (
  SELECT b.*,
         (burst_slot AND outcome IN ('success', 'failed')) AS in_burst,
         -- age in seconds before the reference instant
         CASE
           WHEN burst_slot AND outcome IN ('success', 'failed')
             THEN 172800 + (2592000 - 172800) * pg_temp.u('burstage:' || gk)        -- 2 d .. 30 d
           WHEN outcome IN ('success', 'failed')
             THEN 10800 + (2592000 - 10800) * pg_temp.u('age:' || ek)               -- 3 h .. 30 d
           WHEN outcome = 'retrying'
             THEN 60 + (129600 - 60) * pg_temp.u('age:' || ek)                      -- 1 min .. 36 h
           ELSE 60 + (21600 - 60) * pg_temp.u('age:' || ek)                         -- 1 min .. 6 h
         END AS age_s,
         CASE WHEN burst_slot AND outcome IN ('success', 'failed')
              THEN 0.012 + 0.2 * pg_temp.u('burstdelay:' || gk)
              ELSE 0.004 + 0.3 * pg_temp.u('delay:' || ek) END AS dispatch_s,
         -- ~40% of events (and every burst) carry millisecond-precision timestamps
         (burst_slot OR pg_temp.u('ms:' || ek) < 0.4) AS ms_precision
  FROM b
)
SELECT t.env_no, t.env_id, t.org_id, t.i, t.event_id, t.ek, t.outcome, t.in_burst, t.age_s, t.ms_precision,
       r.k, r.conn_id,
       CASE WHEN t.env_no = 1 AND r.k = 3 AND t.age_s > 21 * 86400 THEN l.dst_id ELSE r.dst_id END AS dst_id,
       CASE WHEN t.env_no = 1 AND r.k = 3 AND t.age_s > 21 * 86400 THEN l.url ELSE r.url END AS url,
       r.method,
       r.event_types[1 + floor(t.u_type * array_length(r.event_types, 1))::int] AS event_type,
       CASE t.outcome
         WHEN 'success'  THEN CASE WHEN t.u_len < 0.94 THEN 1 WHEN t.u_len < 0.985 THEN 2 ELSE 3 END
         WHEN 'failed'   THEN CASE WHEN t.u_len < 0.20 THEN 2 WHEN t.u_len < 0.80 THEN 3 ELSE 4 END
         WHEN 'retrying' THEN CASE WHEN t.u_len < 0.60 THEN 1 WHEN t.u_len < 0.90 THEN 2 ELSE 3 END
         ELSE                 CASE WHEN t.u_len < 0.90 THEN 1 ELSE 2 END
       END AS l,
       (t.outcome = 'failed' AND pg_temp.u('dlq:' || t.ek) < 0.65) AS dlq,
       (t.outcome = 'failed' AND pg_temp.u('dlq:' || t.ek) < 0.65
        AND pg_temp.u('replay:' || t.ek) < 0.35 AND t.age_s > 2 * 86400) AS replayed,
       -- event time; the first attempt follows after a dispatch delay
       CASE WHEN t.ms_precision
            THEN date_trunc('milliseconds', timestamptz '2026-11-28 12:00:00+00' - make_interval(secs => t.age_s))
            ELSE timestamptz '2026-11-28 12:00:00+00' - make_interval(secs => t.age_s) END AS ev_ts,
       t.dispatch_s,
       -- retry backoffs before attempts 2, 3, 4 (seconds, ±30% jitter)
       30   * (1 + 0.3 * pg_temp.u('backoff2:' || t.ek)) AS b2,
       300  * (1 + 0.3 * pg_temp.u('backoff3:' || t.ek)) AS b3,
       1800 * (1 + 0.3 * pg_temp.u('backoff4:' || t.ek)) AS b4,
       100 + floor(19900 * power(pg_temp.u('size:' || t.ek), 3))::int AS body_size
FROM t
JOIN demo_route r ON r.env_no = t.env_no AND t.u_conn >= r.lo AND t.u_conn < r.hi
CROSS JOIN demo_legacy l;

-- seconds from the event to its last regular attempt
ALTER TABLE demo_ev ADD COLUMN final_off_s double precision;
UPDATE demo_ev SET final_off_s = dispatch_s + CASE l WHEN 1 THEN 0 WHEN 2 THEN b2 WHEN 3 THEN b2 + b3 ELSE b2 + b3 + b4 END;
ANALYZE demo_ev;

INSERT INTO events (id, org_id, env_id, event_type, created_at)
SELECT event_id, org_id, env_id, event_type, ev_ts FROM demo_ev ORDER BY env_no, i;

-- ---------------------------------------------------------------------------
-- Delivery attempts.
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE demo_att ON COMMIT DROP AS
WITH a AS (
  SELECT ev.*, g.n,
         'da_' || md5('hookstream-demo:da:' || ev.event_id || ':' || g.n) AS id,
         CASE WHEN g.n < ev.l THEN 'intermediate' WHEN g.n = ev.l THEN 'final' ELSE 'replay' END AS role,
         -- seconds after the event; a manual replay comes 1 h .. 21 h after the last attempt
         CASE WHEN g.n > ev.l THEN ev.final_off_s + 3600 + 72000 * pg_temp.u('replayat:' || ev.ek)
              ELSE ev.dispatch_s + CASE g.n WHEN 1 THEN 0 WHEN 2 THEN ev.b2 WHEN 3 THEN ev.b2 + ev.b3
                                            ELSE ev.b2 + ev.b3 + ev.b4 END
         END AS offset_s
  FROM demo_ev ev
  CROSS JOIN LATERAL generate_series(1, ev.l + ev.replayed::int) AS g(n)
), b AS (
  SELECT a.*,
         CASE WHEN a.ms_precision
              THEN date_trunc('milliseconds', a.ev_ts + make_interval(secs => a.offset_s))
              ELSE a.ev_ts + make_interval(secs => a.offset_s) END AS created_at,
         CASE a.role WHEN 'intermediate' THEN 'failed' WHEN 'replay' THEN 'success' ELSE a.outcome END AS status,
         pg_temp.u('fail:' || a.id) AS u_fail,
         pg_temp.u('neterr:' || a.id) AS u_net,
         pg_temp.u('okstatus:' || a.id) AS u_ok,
         pg_temp.u('okbody:' || a.id) AS u_body,
         pg_temp.u('dur:' || a.id) AS u_dur,
         substring(a.url FROM '^https://([^/]+)') AS host,
         substring(a.url FROM '^https://[^/]+(/.*)$') AS path,
         (ARRAY['nginx', 'cloudflare', 'envoy', 'gunicorn', 'Vercel'])
           [1 + floor(pg_temp.u('server:' || a.dst_id) * 5)::int] AS server
  FROM a
), c AS (
  SELECT b.*,
         CASE
           WHEN b.status = 'success' THEN
             CASE WHEN b.u_ok < 0.60 THEN 200 WHEN b.u_ok < 0.70 THEN 201 WHEN b.u_ok < 0.90 THEN 202 ELSE 204 END
           WHEN b.status IN ('failed', 'retrying') THEN
             CASE WHEN b.u_fail < 0.25 THEN 500 WHEN b.u_fail < 0.40 THEN 502 WHEN b.u_fail < 0.55 THEN 503
                  WHEN b.u_fail < 0.63 THEN 400 WHEN b.u_fail < 0.70 THEN 404 WHEN b.u_fail < 0.75 THEN 410
                  ELSE NULL END
         END AS response_status,
         -- network failure kind (used when there is no HTTP status)
         CASE WHEN b.u_net < 0.45 THEN 'timeout' WHEN b.u_net < 0.70 THEN 'refused'
              WHEN b.u_net < 0.82 THEN 'dns' WHEN b.u_net < 0.92 THEN 'hangup' ELSE 'tls' END AS net_kind
  FROM b
), d AS (
  SELECT c.*,
         CASE
           WHEN c.status = 'pending' THEN NULL
           WHEN c.response_status = 204 THEN ''
           WHEN c.response_status IN (200, 201, 202) THEN
             CASE WHEN c.u_body < 0.60 THEN '{"ok":true,"id":"' ||
                       (ARRAY['msg_', 'rcpt_', 'job_', 'wh_'])[1 + floor(pg_temp.u('idprefix:' || c.dst_id) * 4)::int]
                       || substr(md5('respid:' || c.id), 1, 16) || '"}'
                  WHEN c.u_body < 0.80 THEN '{"received":true}'
                  WHEN c.u_body < 0.90 THEN '{"status":"accepted","queued_at":"'
                       || to_char(c.created_at, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '"}'
                  ELSE '' END
           WHEN c.response_status = 500 THEN
             '{"error":"internal_server_error","message":"Unhandled exception in webhook handler","request_id":"req_'
             || substr(md5('reqid:' || c.id), 1, 20) || '"}'
           WHEN c.response_status = 502 THEN
             E'<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n'
             || E'<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n'
           WHEN c.response_status = 503 THEN
             CASE WHEN pg_temp.u('503:' || c.id) < 0.5
                  THEN '{"error":"service_unavailable","retry_after":30}'
                  ELSE 'upstream connect error or disconnect/reset before headers. reset reason: overflow' END
           WHEN c.response_status = 400 THEN
             '{"error":"invalid_signature","message":"No signatures found matching the expected signature for payload"}'
           WHEN c.response_status = 404 THEN
             '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Error</title></head><body><pre>Cannot '
             || c.method || ' ' || c.path || '</pre></body></html>'
           WHEN c.response_status = 410 THEN
             '{"error":"gone","message":"This endpoint has been retired"}'
           ELSE NULL
         END AS body_text
  FROM c
)
SELECT d.*,
       CASE
         WHEN d.status = 'pending' OR d.response_status IS NOT NULL THEN NULL
         WHEN d.net_kind = 'timeout' THEN 'connection timed out after 30000ms'
         WHEN d.net_kind = 'refused' THEN 'connect ECONNREFUSED 10.0.' || (1 + floor(pg_temp.u('ip3:' || d.dst_id) * 30))::int
                                        || '.' || (2 + floor(pg_temp.u('ip4:' || d.dst_id) * 250))::int || ':443'
         WHEN d.net_kind = 'dns' THEN 'getaddrinfo ENOTFOUND ' || d.host
         WHEN d.net_kind = 'hangup' THEN 'socket hang up'
         ELSE 'TLS handshake failed: certificate has expired'
       END AS net_error,
       CASE
         WHEN d.status = 'pending' THEN NULL
         WHEN d.status = 'success' THEN 20 + floor(880 * power(d.u_dur, 2.2))::int
         WHEN d.response_status = 500 THEN 40 + floor(2460 * power(d.u_dur, 2))::int
         WHEN d.response_status = 502 THEN 15 + floor(2985 * power(d.u_dur, 3))::int
         WHEN d.response_status = 503 THEN 5 + floor(195 * d.u_dur)::int
         WHEN d.response_status IS NOT NULL THEN 10 + floor(290 * d.u_dur)::int
         WHEN d.net_kind = 'timeout' THEN 30000 + floor(60 * d.u_dur)::int
         WHEN d.net_kind = 'refused' THEN 1 + floor(39 * d.u_dur)::int
         WHEN d.net_kind = 'dns' THEN 2 + floor(118 * d.u_dur)::int
         WHEN d.net_kind = 'hangup' THEN 100 + floor(14900 * d.u_dur)::int
         ELSE 20 + floor(180 * d.u_dur)::int
       END AS duration_ms
FROM d;

ANALYZE demo_att;

INSERT INTO delivery_attempts (
  id, org_id, env_id, event_id, connection_id, destination_id,
  request_url, request_method, request_headers, request_body_size,
  response_status, response_headers, response_body, duration_ms,
  status, error, created_at, attempt_number, next_retry_at, is_dlq, dlq_at, trigger_type)
SELECT
  a.id, a.org_id, a.env_id, a.event_id, a.conn_id, a.dst_id,
  a.url, a.method,
  json_strip_nulls(json_build_object(  -- json_strip_nulls also renders compactly: {"k":"v",...}
    'content-type', 'application/json',
    'user-agent', 'hookstream/1.0',
    'content-length', a.body_size::text,
    'x-hookstream-event-id', a.event_id,
    'x-hookstream-event-type', a.event_type,
    'x-hookstream-delivery-id', a.id,
    'x-hookstream-attempt', a.n::text,
    'x-hookstream-timestamp', floor(extract(epoch FROM a.created_at))::bigint::text,
    'x-hookstream-signature', 'v1,' || md5('sig1:' || a.id) || md5('sig2:' || a.id)
  ))::text,
  a.body_size,
  a.response_status,
  CASE WHEN a.response_status IS NULL THEN NULL ELSE
    json_strip_nulls(json_build_object(
      'content-type', CASE
                        WHEN a.response_status = 204 OR a.body_text = '' THEN NULL
                        WHEN a.response_status IN (502, 404) THEN 'text/html; charset=utf-8'
                        WHEN a.body_text LIKE '{%' THEN 'application/json; charset=utf-8'
                        ELSE 'text/plain' END,
      'content-length', octet_length(a.body_text)::text,
      'date', to_char(a.created_at, 'Dy, DD Mon YYYY HH24:MI:SS') || ' GMT',
      'server', CASE WHEN a.response_status = 502 THEN 'nginx/1.25.3' ELSE a.server END,
      'connection', 'keep-alive',
      'retry-after', CASE WHEN a.response_status = 503 THEN '30' END,
      'x-request-id', substr(md5('xreq:' || a.id), 1, 8) || '-' || substr(md5('xreq:' || a.id), 9, 4) || '-'
                      || substr(md5('xreq:' || a.id), 13, 4) || '-' || substr(md5('xreq:' || a.id), 17, 4) || '-'
                      || substr(md5('xreq:' || a.id), 21, 12)
    ))::text
  END,
  CASE WHEN a.body_text IS NULL THEN NULL ELSE convert_to(a.body_text, 'UTF8') END,
  a.duration_ms,
  a.status,
  CASE
    WHEN a.status IN ('success', 'pending') THEN NULL
    WHEN a.response_status IS NULL THEN a.net_error
    ELSE 'HTTP ' || a.response_status || ' ' || CASE a.response_status
      WHEN 500 THEN 'Internal Server Error' WHEN 502 THEN 'Bad Gateway' WHEN 503 THEN 'Service Unavailable'
      WHEN 400 THEN 'Bad Request' WHEN 404 THEN 'Not Found' WHEN 410 THEN 'Gone' END
  END,
  a.created_at,
  a.n,
  CASE
    WHEN a.role = 'intermediate' THEN lead(a.created_at) OVER (PARTITION BY a.event_id ORDER BY a.n)
    WHEN a.status = 'retrying' THEN a.created_at + make_interval(secs =>
      (ARRAY[30, 300, 1800])[a.n] * (1 + 0.3 * pg_temp.u('nextretry:' || a.id)))
  END,
  CASE
    WHEN a.dlq AND a.role <> 'replay' THEN 1
    WHEN a.created_at < timestamptz '2026-11-28 12:00:00+00' - interval '29 days 12 hours' THEN NULL
    ELSE 0
  END,
  CASE WHEN a.dlq AND a.role <> 'replay' THEN
    date_trunc('milliseconds', a.ev_ts + make_interval(secs => a.final_off_s + 31 + 9 * pg_temp.u('dlqat:' || a.ek)))
  END,
  CASE WHEN a.role = 'replay' THEN 'manual_replay' WHEN a.n = 1 THEN 'event' ELSE 'retry' END
FROM demo_att a
ORDER BY a.env_no, a.i, a.n;

-- 20 success responses with binary bodies: invalid UTF-8, NUL and other control
-- bytes (12 in Acme production, 2 in every other environment).
UPDATE delivery_attempts da
SET response_body = decode('fffe0001', 'hex') || convert_to(' binary ', 'UTF8')
                    || decode('1b5b33316d0007087f80c0', 'hex') || decode(md5('bin:' || da.id), 'hex'),
    response_headers = json_strip_nulls(json_build_object(
      'content-type', 'application/octet-stream',
      'content-length', '39',  -- 4 + 8 + 11 + 16 bytes
      'date', to_char(da.created_at, 'Dy, DD Mon YYYY HH24:MI:SS') || ' GMT',
      'server', 'legacy-gw/0.9'
    ))::text
FROM (
  SELECT id
  FROM (SELECT x.id, row_number() OVER (PARTITION BY x.env_no ORDER BY md5('binpick:' || x.id)) AS rn, x.env_no
        FROM demo_att x
        WHERE x.status = 'success' AND x.response_status IN (200, 201)) p
  WHERE p.rn <= CASE WHEN p.env_no = 1 THEN 12 ELSE 2 END
) pick
WHERE da.id = pick.id;

-- The old Shopify endpoint is gone; its attempts remain.
DELETE FROM destinations WHERE id = (SELECT dst_id FROM demo_legacy);

ANALYZE "organization", "user", "member", environments, connections, destinations, events, delivery_attempts;

COMMIT;
