// hookstream-bench-load: fills an (already created) PostgreSQL database with a large,
// realistic and fully deterministic data set for the benchmarks.
//
//   hookstream-bench-load --database-url URL [--seed N] [--attempts N]
//                         [--keys-file PATH] [--force]
//
// What it writes (all derived from --seed through a seeded PRNG; the same seed gives
// byte-identical rows, whatever the machine):
//   * 3 organisations (better-auth "organization"), each with an owner ("user" +
//     "member", role owner);
//   * 6 environments: Acme production (the hot tenant, --attempts attempts, default
//     2,000,000), Acme staging (50,000), Acme development (10,000), Globex production
//     (50,000) and staging (20,000), Initech production (35,000);
//   * connections and destinations (300 + 300 in the hot environment); every
//     connection routes to 1-3 fixed destinations, by event type;
//   * events, each with a chain of 1-4 delivery attempts (retries minutes apart,
//     occasional manual replay of a dead-lettered event);
//   * one API key per environment (hs_live_ + 64 hex, drawn from the seeded PRNG, so
//     it is reproducible; only its SHA-256 is stored).
// All attempts lie in the 90 days before the fixed instant 2026-11-28T12:00:00Z,
// evenly spread (about 22,000 a day in the hot environment at 2,000,000): the
// listing's time ranges (a 7-day window, the counters' day buckets) and the
// monthly partitions see several months of data.
//
// How it is fast: one transaction that TRUNCATEs delivery_attempts and events (they
// are empty unless --force), drops their indexes (remembering the exact definitions
// from the catalog), streams one COPY ... FROM STDIN (FREEZE) per environment, then
// re-creates the indexes from the saved definitions and commits. The counters' row
// triggers stay enabled (one log row per attempt, folded at the end), so the
// per-tenant totals are exact; the live tail's is off during the load. FREEZE
// writes the rows frozen and all-visible, so the first reads do not rewrite
// every page to set hint bits and index-only scans work at once.
//
// On stdout (and in --keys-file), after a successful load:
//   KEY <org_id> <env_id> <attempt_count> <api_key>     one per environment, hot first
//   HOT_CONNECTION <id>    the hot environment's busiest connection
//   HOT_DESTINATION <id>   the hot environment's busiest destination
//   HOT_EVENT <id>         a hot-environment event with 4 attempts (from mid-range)
//   SESSION_TOKEN <token>  a better-auth session of the hot org's owner (never expires)
//   COOKIE <cookie>        that session's cookie, signed, when BETTER_AUTH_SECRET is set
// Progress and timings go to stderr.

#include <hookstream/auth/api_key.hpp>
#include <hookstream/encoding/hex.hpp>
#include <hookstream/auth/session_cookie.hpp>
#include <hookstream/storage/migrations.hpp>

#include <libpq-fe.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <numeric>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

using u64 = std::uint64_t;
using i64 = std::int64_t;

// ---------------------------------------------------------------------------
// Deterministic randomness: splitmix64 for hashing/seeding, xoshiro256** streams.
// ---------------------------------------------------------------------------

constexpr u64 mix64(u64 z) noexcept {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// A 64-bit key from the seed, a domain tag and up to three indices.
constexpr u64 derive(u64 seed, u64 tag, u64 a = 0, u64 b = 0, u64 c = 0) noexcept {
  u64 h = mix64(seed ^ 0x68'6f'6f'6b'73'74'72'65ULL);  // "hookstre"
  h = mix64(h ^ tag);
  h = mix64(h ^ a);
  h = mix64(h ^ b);
  return mix64(h ^ c);
}

__extension__ typedef unsigned __int128 u128;

class Rng {  // xoshiro256**
 public:
  explicit Rng(u64 key) noexcept {
    for (auto& v : s_) {
      key += 0x9e3779b97f4a7c15ULL;
      v = mix64(key);
    }
  }
  u64 next() noexcept {
    const u64 result = rotl(s_[1] * 5, 7) * 9;
    const u64 t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  /// Uniform in [0, 1).
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  /// Uniform integer in [0, n).
  u64 below(u64 n) noexcept { return static_cast<u64>((static_cast<u128>(next()) * n) >> 64); }
  /// Uniform integer in [lo, hi].
  i64 range(i64 lo, i64 hi) noexcept { return lo + static_cast<i64>(below(static_cast<u64>(hi - lo + 1))); }
  bool chance(double p) noexcept { return uniform() < p; }

 private:
  static constexpr u64 rotl(u64 x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  std::array<u64, 4> s_{};
};

constexpr char hex_digits[] = "0123456789abcdef";

void append_hex(std::string& out, u64 v, int digits) {
  char tmp[16];
  for (int i = digits - 1; i >= 0; --i) {
    tmp[i] = hex_digits[v & 15];
    v >>= 4;
  }
  out.append(tmp, static_cast<std::size_t>(digits));
}

/// `digits` random lowercase hex digits.
void append_random_hex(std::string& out, Rng& r, int digits) {
  while (digits > 0) {
    const int n = std::min(digits, 16);
    append_hex(out, r.next(), n);
    digits -= n;
  }
}

std::string random_id(std::string_view prefix, Rng& r, int digits) {
  std::string s(prefix);
  append_random_hex(s, r, digits);
  return s;
}

// ---------------------------------------------------------------------------
// Time: microseconds since the Unix epoch, UTC.
// ---------------------------------------------------------------------------

constexpr i64 days_from_civil(i64 y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const i64 era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<i64>(doe) - 719468;
}

constexpr i64 us_per_s = 1'000'000;
constexpr i64 us_per_day = 86'400 * us_per_s;
/// The fixed "now" of the data set: 2026-11-28T12:00:00Z.
constexpr i64 t_ref = days_from_civil(2026, 11, 28) * us_per_day + 12 * 3600 * us_per_s;
constexpr i64 window = 90 * us_per_day;

struct Civil {
  i64 year;
  unsigned month, day, hour, minute, second, micros, weekday;  // weekday 0 = Sunday
};

Civil to_civil(i64 t) noexcept {
  i64 days = t / us_per_day;
  i64 rem = t % us_per_day;
  if (rem < 0) {
    rem += us_per_day;
    --days;
  }
  Civil c{};
  c.weekday = static_cast<unsigned>(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday
  const i64 z = days + 719468;
  const i64 era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  c.day = doy - (153 * mp + 2) / 5 + 1;
  c.month = mp < 10 ? mp + 3 : mp - 9;
  c.year = static_cast<i64>(yoe) + era * 400 + (c.month <= 2);
  const auto secs = static_cast<unsigned>(rem / us_per_s);
  c.micros = static_cast<unsigned>(rem % us_per_s);
  c.hour = secs / 3600;
  c.minute = secs / 60 % 60;
  c.second = secs % 60;
  return c;
}

void put_digits(std::string& out, u64 v, int width) {
  char tmp[20];
  for (int i = width - 1; i >= 0; --i) {
    tmp[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  out.append(tmp, static_cast<std::size_t>(width));
}

void put_int(std::string& out, i64 v) {
  char tmp[24];
  auto [end, ec] = std::to_chars(tmp, tmp + sizeof tmp, v);
  out.append(tmp, end);
}

/// PostgreSQL timestamptz input: 2026-11-28 11:59:59.123456+00
void put_timestamp(std::string& out, i64 t) {
  const Civil c = to_civil(t);
  put_digits(out, static_cast<u64>(c.year), 4);
  out.push_back('-');
  put_digits(out, c.month, 2);
  out.push_back('-');
  put_digits(out, c.day, 2);
  out.push_back(' ');
  put_digits(out, c.hour, 2);
  out.push_back(':');
  put_digits(out, c.minute, 2);
  out.push_back(':');
  put_digits(out, c.second, 2);
  out.push_back('.');
  put_digits(out, c.micros, 6);
  out.append("+00");
}

/// RFC 3339 with milliseconds: 2026-11-28T11:59:59.123Z
void put_rfc3339(std::string& out, i64 t) {
  const Civil c = to_civil(t);
  put_digits(out, static_cast<u64>(c.year), 4);
  out.push_back('-');
  put_digits(out, c.month, 2);
  out.push_back('-');
  put_digits(out, c.day, 2);
  out.push_back('T');
  put_digits(out, c.hour, 2);
  out.push_back(':');
  put_digits(out, c.minute, 2);
  out.push_back(':');
  put_digits(out, c.second, 2);
  out.push_back('.');
  put_digits(out, c.micros / 1000, 3);
  out.push_back('Z');
}

/// HTTP date: Sat, 28 Nov 2026 11:59:59 GMT
void put_http_date(std::string& out, i64 t) {
  static constexpr const char* wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const Civil c = to_civil(t);
  out.append(wd[c.weekday]);
  out.append(", ");
  put_digits(out, c.day, 2);
  out.push_back(' ');
  out.append(mon[c.month - 1]);
  out.push_back(' ');
  put_digits(out, static_cast<u64>(c.year), 4);
  out.push_back(' ');
  put_digits(out, c.hour, 2);
  out.push_back(':');
  put_digits(out, c.minute, 2);
  out.push_back(':');
  put_digits(out, c.second, 2);
  out.append(" GMT");
}

// ---------------------------------------------------------------------------
// COPY text format output.
// ---------------------------------------------------------------------------

/// Appends `s` escaped for COPY text format (backslash, tab, newline, CR; other
/// control bytes are legal as they are).
void put_copy_text(std::string& out, std::string_view s) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const char* rep = nullptr;
    switch (c) {
      case '\\': rep = "\\\\"; break;
      case '\t': rep = "\\t"; break;
      case '\n': rep = "\\n"; break;
      case '\r': rep = "\\r"; break;
      default: continue;
    }
    out.append(s.data() + start, i - start);
    out.append(rep);
    start = i + 1;
  }
  out.append(s.data() + start, s.size() - start);
}

/// A bytea value in COPY text format: the bytea hex input `\x...`, its backslash
/// doubled by the COPY escaping.
void put_copy_bytea(std::string& out, std::string_view bytes) {
  out.append("\\\\x");
  const std::size_t at = out.size();
  out.resize(at + 2 * bytes.size());
  char* p = out.data() + at;
  for (unsigned char b : bytes) {
    *p++ = hex_digits[b >> 4];
    *p++ = hex_digits[b & 15];
  }
}

constexpr std::string_view copy_null = "\\N";

struct PgError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string pg_message(PGconn* c) {
  std::string m = c ? PQerrorMessage(c) : "no connection";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

/// Streams rows into one COPY ... FROM STDIN, in large chunks. With a null
/// connection (--dry-run) the data is generated and thrown away.
class CopyStream {
 public:
  static constexpr std::size_t flush_bytes = 4u << 20;

  CopyStream(PGconn* conn, const std::string& copy_sql) : conn_(conn) {
    buf.reserve(flush_bytes + (64u << 10));
    if (!conn_) return;
    PGresult* r = PQexec(conn_, copy_sql.c_str());
    const bool ok = PQresultStatus(r) == PGRES_COPY_IN;
    std::string err = ok ? "" : PQresultErrorMessage(r);
    PQclear(r);
    if (!ok) throw PgError(copy_sql + ": " + err);
  }

  /// Call after each row.
  void row_done() {
    ++rows;
    if (buf.size() >= flush_bytes) flush();
  }

  void flush() {
    bytes += buf.size();
    if (conn_ && !buf.empty() && PQputCopyData(conn_, buf.data(), static_cast<int>(buf.size())) != 1)
      throw PgError("COPY data: " + pg_message(conn_));
    buf.clear();
  }

  /// Ends the COPY; returns the row count the server reports (or the rows sent).
  u64 finish() {
    flush();
    if (!conn_) return rows;
    if (PQputCopyEnd(conn_, nullptr) != 1) throw PgError("COPY end: " + pg_message(conn_));
    u64 n = 0;
    std::string err;
    while (PGresult* r = PQgetResult(conn_)) {
      if (PQresultStatus(r) != PGRES_COMMAND_OK) err = PQresultErrorMessage(r);
      else n = std::strtoull(PQcmdTuples(r), nullptr, 10);
      PQclear(r);
    }
    if (!err.empty()) throw PgError("COPY: " + err);
    return n;
  }

  std::string buf;
  u64 rows = 0;
  u64 bytes = 0;

 private:
  PGconn* conn_;
};

// Field helpers: every field but the first is preceded by a tab.
inline void tab(std::string& b) { b.push_back('\t'); }
inline void endrow(std::string& b) { b.push_back('\n'); }

// ---------------------------------------------------------------------------
// Static catalogue: webhook sources, consuming services, regions.
// ---------------------------------------------------------------------------

struct Source {
  const char* name;
  const char* slug;
  const char* path;
  const char* method;
  std::vector<const char*> types;
};

const std::vector<Source>& sources() {
  static const std::vector<Source> all{
      {"Stripe", "stripe", "/webhooks/stripe", "POST",
       {"invoice.paid", "payment_intent.succeeded", "customer.subscription.updated", "checkout.session.completed",
        "invoice.payment_failed", "charge.refunded"}},
      {"GitHub", "github", "/hooks/github", "POST",
       {"push", "pull_request.opened", "workflow_run.completed", "pull_request.closed", "issues.opened",
        "release.published"}},
      {"Shopify", "shopify", "/webhooks/shopify", "POST",
       {"orders/create", "orders/paid", "orders/fulfilled", "products/update", "refunds/create"}},
      {"Twilio", "twilio", "/twilio/inbound", "POST",
       {"message.received", "message.delivered", "call.completed", "message.failed"}},
      {"Clerk", "clerk", "/webhooks/clerk", "POST", {"session.created", "user.updated", "user.created", "user.deleted"}},
      {"Linear", "linear", "/linear/events", "POST", {"Issue.update", "Comment.create", "Issue.create", "Project.update"}},
      {"PagerDuty", "pagerduty", "/pagerduty/v3", "PUT",
       {"incident.triggered", "incident.acknowledged", "incident.resolved"}},
      {"SendGrid", "sendgrid", "/sendgrid/events", "POST", {"delivered", "open", "click", "bounce", "dropped"}},
      {"HubSpot", "hubspot", "/hubspot/webhook", "POST",
       {"contact.propertyChange", "deal.propertyChange", "contact.creation", "company.creation"}},
      {"Intercom", "intercom", "/intercom/topics", "POST",
       {"conversation.user.created", "conversation.admin.replied", "conversation.admin.closed"}},
      {"Segment", "segment", "/segment/track", "POST", {"track", "page", "identify", "group"}},
      {"Paddle", "paddle", "/paddle/webhooks", "PUT",
       {"transaction.completed", "subscription.created", "subscription.canceled"}},
      {"Slack", "slack", "/slack/events", "POST",
       {"message.channels", "app_mention", "reaction_added", "member_joined_channel"}},
      {"Zendesk", "zendesk", "/zendesk/triggers", "POST", {"ticket.updated", "ticket.created", "ticket.solved"}},
      {"Mailgun", "mailgun", "/mailgun/events", "POST", {"delivered", "opened", "failed", "unsubscribed", "complained"}},
      {"Plaid", "plaid", "/plaid/webhook", "POST",
       {"TRANSACTIONS.SYNC_UPDATES_AVAILABLE", "ITEM.ERROR", "AUTH.AUTOMATICALLY_VERIFIED"}},
      {"Square", "square", "/square/webhooks", "POST",
       {"payment.updated", "payment.created", "order.updated", "refund.created"}},
      {"Jira", "jira", "/jira/webhook", "POST",
       {"jira:issue_updated", "jira:issue_created", "comment_created", "sprint_started"}},
      {"Calendly", "calendly", "/calendly/hooks", "POST",
       {"invitee.created", "invitee.canceled", "routing_form_submission.created"}},
      {"DocuSign", "docusign", "/docusign/connect", "POST",
       {"envelope-sent", "recipient-completed", "envelope-completed", "envelope-declined"}},
      {"Postmark", "postmark", "/postmark/webhooks", "POST", {"Delivery", "Open", "Click", "Bounce", "SpamComplaint"}},
      {"Auth0", "auth0", "/auth0/log-stream", "POST",
       {"login.success", "token.exchange", "login.failure", "signup.success", "password.reset"}},
      {"GitLab", "gitlab", "/gitlab/hooks", "POST",
       {"Push Hook", "Pipeline Hook", "Merge Request Hook", "Tag Push Hook"}},
      {"Mux", "mux", "/mux/webhooks", "POST",
       {"video.asset.ready", "video.upload.created", "video.live_stream.active", "video.asset.errored"}},
  };
  return all;
}

struct Consumer {
  const char* name;
  const char* slug;
};

const std::vector<Consumer>& consumers() {
  static const std::vector<Consumer> all{
      {"Billing service", "billing-api"},      {"Order sync", "orders-service"},
      {"CI runner", "ci-runner"},              {"SMS inbox", "sms-inbox"},
      {"User sync", "user-sync"},              {"Issue tracker", "issue-bridge"},
      {"On-call bot", "oncall-bot"},           {"Email events", "email-events"},
      {"CRM sync", "crm-sync"},                {"Support desk", "support-desk"},
      {"Analytics warehouse", "analytics-ingest"}, {"Subscriptions", "subscriptions-api"},
      {"Fraud scoring", "fraud-scoring"},      {"Audit log", "audit-log"},
      {"Notifications", "notifier"},           {"Search indexer", "search-indexer"},
      {"Data lake", "datalake-ingest"},        {"Ledger", "ledger"},
      {"Fulfilment", "fulfilment"},            {"Payouts", "payouts"},
      {"Risk engine", "risk-engine"},          {"Feature flags", "flags-sync"},
      {"Inventory", "inventory"},              {"Recommendations", "recs"},
      {"Reporting", "reporting"},
  };
  return all;
}

constexpr const char* regions[] = {"us-east-1",    "us-east-2",      "us-west-2", "eu-west-1",
                                   "eu-central-1", "ap-southeast-2", "ap-northeast-1", "sa-east-1"};
constexpr const char* servers[] = {"nginx", "cloudflare", "envoy", "gunicorn", "Vercel", "uvicorn", "Kestrel"};
constexpr const char* ack_prefixes[] = {"msg_", "rcpt_", "job_", "wh_", "ack_"};

// ---------------------------------------------------------------------------
// The data set's shape.
// ---------------------------------------------------------------------------

struct OrgSpec {
  const char* name;
  const char* slug;
  const char* domain;
  const char* owner_name;
  const char* owner_email;
  int created_days_ago;
};

constexpr OrgSpec org_specs[] = {
    {"Acme Corp", "acme", "acme-corp.com", "Alice Nguyen", "alice@acme-corp.com", 259},
    {"Globex Inc", "globex", "globex.io", "Boris Petrov", "boris@globex.io", 179},
    {"Initech", "initech", "initech.dev", "Chidi Okafor", "chidi@initech.dev", 127},
};

struct EnvSpec {
  int org;  // index into org_specs
  const char* name;
  const char* label;  // prod / staging / dev
  bool is_default;
  int connections;
  u64 attempts;  // 0: --attempts
};

constexpr EnvSpec env_specs[] = {
    {0, "production", "prod", true, 300, 0},  // the hot environment: always first
    {0, "staging", "staging", false, 24, 50'000},
    {0, "development", "dev", false, 8, 10'000},
    {1, "production", "prod", true, 40, 50'000},
    {1, "staging", "staging", false, 12, 20'000},
    {2, "production", "prod", true, 30, 35'000},
};
constexpr int n_envs = static_cast<int>(std::size(env_specs));

struct Org {
  std::string id, user_id, member_id;
  i64 created_at;
};

struct Connection {
  std::string id, name;
  int source;
  bool traced;  // its requests carry a traceparent header
  std::vector<int> dests;  // 1-3 destination indices, routed by event type
  i64 created_at;
};

struct Destination {
  std::string id, name, url;
  const char* method;
  const char* server;
  const char* ack_prefix;
  i64 created_at;
};

struct Env {
  const EnvSpec* spec;
  int index;
  std::string id, org_id;
  u64 target;
  i64 created_at;
  std::vector<Connection> conns;
  std::vector<Destination> dests;
  std::vector<double> conn_cdf;  // Zipf-like traffic share
  std::string api_key;
  std::string key_id;
  // Filled by the events pass.
  u64 events = 0;
  std::vector<u64> conn_attempts, dest_attempts;
  std::string sample_event;  // an event with 4 attempts, from the middle of the range
};

enum class Outcome : std::uint8_t { success, failed, retrying, pending };

struct Plan {
  u64 index;
  std::string event_id;
  int conn, dest, type;
  Outcome outcome;
  int chain;  // regular attempts (1..4)
  bool dlq, replay;
  i64 t_event, dispatch;
};

/// Events of one environment, in time order. Both passes (events, then attempts)
/// walk the same sequence: every event draws from its own stream, keyed by the seed,
/// the environment and its index, and the only state carried between events is the
/// running attempt count (which places the event in time) and the burst timestamp.
class EventWalker {
 public:
  EventWalker(u64 seed, const Env& env) : seed_(seed), env_(env) {}

  /// Calls f(plan, rng) for every event; rng is positioned after the plan's draws
  /// so the attempts pass can draw their details from it.
  template <class F>
  void run(F&& f) {
    u64 done = 0;
    i64 prev_t = t_ref - window, prev_dispatch = 10'000;
    const u64 target = env_.target;
    const i64 span = window - 90 * us_per_s;  // the last event lands 90 s before t_ref at most
    Plan p;
    for (u64 i = 0; done < target; ++i) {
      Rng r(derive(seed_, 0xe7e27, static_cast<u64>(env_.index), i));
      p.index = i;
      p.event_id.assign("evt_");
      append_random_hex(p.event_id, r, 24);

      // Time: proportional to the attempts generated so far, so events are in time
      // order and the environment spans the whole window whatever its size. ~2% of
      // events arrive in a burst that shares the previous event's exact instant.
      const bool burst = i > 0 && r.chance(0.02);
      const double u = r.uniform();
      p.t_event = t_ref - window + static_cast<i64>(static_cast<double>(span) * (static_cast<double>(done) + u) /
                                                     static_cast<double>(target));
      p.dispatch = 4'000 + static_cast<i64>(296'000.0 * std::pow(r.uniform(), 2.0));  // 4-300 ms
      if (burst) {
        p.t_event = prev_t;
        p.dispatch = prev_dispatch;
      }
      prev_t = p.t_event;
      prev_dispatch = p.dispatch;

      const double uc = r.uniform();
      p.conn = static_cast<int>(std::lower_bound(env_.conn_cdf.begin(), env_.conn_cdf.end(), uc) -
                                env_.conn_cdf.begin());
      if (p.conn >= static_cast<int>(env_.conns.size())) p.conn = static_cast<int>(env_.conns.size()) - 1;
      const Connection& c = env_.conns[static_cast<std::size_t>(p.conn)];
      const auto& types = sources()[static_cast<std::size_t>(c.source)].types;
      // Event types: the first ones of a source are the most common.
      p.type = static_cast<int>(static_cast<double>(types.size()) * std::pow(r.uniform(), 1.8));
      p.dest = c.dests[static_cast<std::size_t>(p.type) % c.dests.size()];

      const double uo = r.uniform();
      p.outcome = uo < 0.917 ? Outcome::success : uo < 0.9325 ? Outcome::failed : uo < 0.9445 ? Outcome::retrying
                                                                                               : Outcome::pending;
      const double ul = r.uniform();
      switch (p.outcome) {
        case Outcome::success: p.chain = ul < 0.92 ? 1 : ul < 0.98 ? 2 : ul < 0.995 ? 3 : 4; break;
        case Outcome::failed: p.chain = ul < 0.5 ? 3 : 4; break;
        case Outcome::retrying: p.chain = ul < 0.5 ? 1 : ul < 0.8 ? 2 : 3; break;
        case Outcome::pending: p.chain = ul < 0.9 ? 1 : 2; break;
      }
      p.dlq = p.outcome == Outcome::failed && r.chance(0.45);
      // A dead-lettered event is sometimes replayed by hand, hours later.
      p.replay = p.dlq && p.chain == 3 && r.chance(0.35) && p.t_event < t_ref - 2 * us_per_day;

      const u64 total = static_cast<u64>(p.chain) + p.replay;
      if (done + total > target) {  // the last event fills the count exactly
        p.outcome = Outcome::success;
        p.chain = static_cast<int>(target - done);
        p.dlq = p.replay = false;
      }
      done += static_cast<u64>(p.chain) + p.replay;
      f(p, r);
    }
  }

 private:
  u64 seed_;
  const Env& env_;
};

// ---------------------------------------------------------------------------
// Building the environments.
// ---------------------------------------------------------------------------

struct Dataset {
  u64 seed;
  std::vector<Org> orgs;
  std::vector<Env> envs;
};

Dataset build_dataset(u64 seed, u64 hot_attempts) {
  Dataset d;
  d.seed = seed;
  for (std::size_t o = 0; o < std::size(org_specs); ++o) {
    Rng r(derive(seed, 0x0e9, o));
    Org org;
    org.id = random_id("org_", r, 24);
    org.user_id = random_id("", r, 32);
    org.member_id = random_id("", r, 32);
    org.created_at = t_ref - org_specs[o].created_days_ago * us_per_day + r.range(0, 86'399) * us_per_s +
                     r.range(0, 999) * 1000;
    d.orgs.push_back(std::move(org));
  }
  const auto& srcs = sources();
  const auto& cons = consumers();
  for (int e = 0; e < n_envs; ++e) {
    const EnvSpec& s = env_specs[e];
    const OrgSpec& os = org_specs[s.org];
    Rng r(derive(seed, 0xe9f, static_cast<u64>(e)));
    Env env;
    env.spec = &s;
    env.index = e;
    env.id = random_id("env_", r, 24);
    env.org_id = d.orgs[static_cast<std::size_t>(s.org)].id;
    env.target = s.attempts ? s.attempts : hot_attempts;
    env.created_at = d.orgs[static_cast<std::size_t>(s.org)].created_at + (e % 3) * 7 * us_per_day + 60 * us_per_s;
    env.key_id = random_id("key_", r, 24);
    env.api_key = random_id("hs_live_", r, 64);

    // Distinct (source, consumer) pairs, shuffled.
    std::vector<int> pairs(srcs.size() * cons.size());
    std::iota(pairs.begin(), pairs.end(), 0);
    for (std::size_t i = pairs.size() - 1; i > 0; --i) std::swap(pairs[i], pairs[r.below(i + 1)]);
    const int n = s.connections;
    const bool prod = std::string_view(s.label) == "prod";
    const bool dev = std::string_view(s.label) == "dev";
    const char* env_region = regions[r.below(std::size(regions))];
    for (int k = 0; k < n; ++k) {
      const int src = pairs[static_cast<std::size_t>(k)] / static_cast<int>(cons.size());
      const int con = pairs[static_cast<std::size_t>(k)] % static_cast<int>(cons.size());
      const Source& so = srcs[static_cast<std::size_t>(src)];
      const Consumer& co = cons[static_cast<std::size_t>(con)];
      const char* region = prod ? regions[r.below(std::size(regions))] : env_region;
      const i64 created = env.created_at + (k + 1) * 3 * 3600 * us_per_s + r.range(0, 3599) * us_per_s;

      Connection c;
      c.id = random_id("conn_", r, 24);
      c.name = std::string(so.name) + " \xe2\x86\x92 " + co.name;  // "Stripe → Billing service"
      if (prod && n > 50) c.name += std::string(" (") + region + ")";
      c.source = src;
      c.traced = r.chance(0.3);
      c.created_at = created;
      c.dests.push_back(k);  // every connection has its own primary destination
      env.conns.push_back(std::move(c));

      Destination dst;
      dst.id = random_id("dst_", r, 24);
      dst.name = std::string(co.slug) + "-" + so.slug + " (" + s.label + (prod ? std::string(", ") + region : "") + ")";
      if (prod)
        dst.url = std::string("https://") + co.slug + "." + region + "." + os.domain + so.path;
      else if (dev)
        dst.url = std::string("https://") + co.slug + "-" + random_id("", r, 6) + ".ngrok-free.app" + so.path;
      else
        dst.url = std::string("https://") + co.slug + ".staging." + os.domain + so.path;
      dst.method = so.method;
      dst.server = servers[r.below(std::size(servers))];
      dst.ack_prefix = ack_prefixes[r.below(std::size(ack_prefixes))];
      dst.created_at = created - r.range(60, 3600) * us_per_s;
      env.dests.push_back(std::move(dst));
    }
    // Fan-in: half the connections also route some event types to one or two
    // other destinations (an audit log, a data lake, ...).
    for (int k = 0; k < n && n > 1; ++k) {
      const double u = r.uniform();
      const int extra = u < 0.5 ? 0 : u < 0.85 ? 1 : 2;
      auto& ds = env.conns[static_cast<std::size_t>(k)].dests;
      for (int x = 0; x < extra && static_cast<int>(ds.size()) < std::min(3, n); ++x) {
        int j;
        do j = static_cast<int>(r.below(static_cast<u64>(n)));
        while (std::find(ds.begin(), ds.end(), j) != ds.end());
        ds.push_back(j);
      }
    }
    // Traffic: Zipf-like (exponent 0.9) over a random ranking of the connections.
    std::vector<int> rank(static_cast<std::size_t>(n));
    std::iota(rank.begin(), rank.end(), 0);
    for (std::size_t i = rank.size() - 1; i > 0; --i) std::swap(rank[i], rank[r.below(i + 1)]);
    double sum = 0;
    env.conn_cdf.resize(static_cast<std::size_t>(n));
    for (int k = 0; k < n; ++k) {
      sum += 1.0 / std::pow(rank[static_cast<std::size_t>(k)] + 1.0, 0.9);
      env.conn_cdf[static_cast<std::size_t>(k)] = sum;
    }
    for (auto& v : env.conn_cdf) v /= sum;
    env.conn_attempts.assign(static_cast<std::size_t>(n), 0);
    env.dest_attempts.assign(static_cast<std::size_t>(n), 0);
    d.envs.push_back(std::move(env));
  }
  return d;
}

// ---------------------------------------------------------------------------
// Response bodies.
// ---------------------------------------------------------------------------

constexpr const char* stack_frames[] = {
    "    at handleWebhook (/app/src/handlers/webhook.ts:87:19)",
    "    at verifySignature (/app/src/middleware/signature.ts:41:11)",
    "    at Layer.handle [as handle_request] (/app/node_modules/express/lib/router/layer.js:95:5)",
    "    at next (/app/node_modules/express/lib/router/route.js:149:13)",
    "    at Route.dispatch (/app/node_modules/express/lib/router/route.js:119:3)",
    "    at /app/node_modules/express/lib/router/index.js:284:15",
    "    at Function.process_params (/app/node_modules/express/lib/router/index.js:346:12)",
    "    at jsonParser (/app/node_modules/body-parser/lib/types/json.js:113:7)",
    "    at OrderRepository.upsert (/app/src/db/orders.ts:212:23)",
    "    at processTicksAndRejections (node:internal/process/task_queues:95:5)",
    "    at async PrismaClient._transactionWithCallback (/app/node_modules/@prisma/client/runtime/library.js:127:8011)",
    "    at async Queue.process (/app/src/jobs/queue.ts:58:9)",
};

constexpr const char* error_messages[] = {
    "TypeError: Cannot read properties of undefined (reading 'id')",
    "PrismaClientKnownRequestError: Unique constraint failed on the fields: (`external_id`)",
    "Error: connect ETIMEDOUT 10.12.4.31:5432",
    "SyntaxError: Unexpected token u in JSON at position 0",
    "Error: Deadlock found when trying to get lock; try restarting transaction",
};

void body_stack_trace(std::string& b, Rng& r, std::size_t target) {
  const char* msg = error_messages[r.below(std::size(error_messages))];
  b.append(R"({"error":"internal_server_error","message":")");
  b.append(msg);
  b.append(R"(","request_id":"req_)");
  append_random_hex(b, r, 20);
  b.append(R"(","stack":")");
  b.append(msg);
  while (b.size() < target) {
    b.append("\\n");  // JSON escape for a newline: a backslash and an n
    b.append(stack_frames[r.below(std::size(stack_frames))]);
  }
  b.append("\"}");
}

void body_cloudflare_page(std::string& b, Rng& r, int code, std::size_t target) {
  const char* title = code == 502 ? "Bad gateway" : code == 503 ? "Service unavailable" : "Web server is down";
  b.append(
      "<!DOCTYPE html>\n<!--[if lt IE 7]> <html class=\"no-js ie6 oldie\" lang=\"en-US\"> <![endif]-->\n"
      "<html class=\"no-js\" lang=\"en-US\">\n<head>\n<title>");
  b.append(title);
  b.append(
      " | Cloudflare</title>\n<meta charset=\"UTF-8\" />\n"
      "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\" />\n"
      "<meta name=\"robots\" content=\"noindex, nofollow\" />\n"
      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\" />\n<style>\n");
  static constexpr const char* css[] = {
      "#cf-wrapper{font-family:-apple-system,BlinkMacSystemFont,\"Segoe UI\",Roboto,sans-serif;color:#404040}\n",
      "#cf-wrapper .cf-section{display:block;margin:0 auto;max-width:60rem;padding:0 1.5rem}\n",
      "#cf-wrapper .cf-error-details{background-color:#fff;border:1px solid #ebebeb;border-radius:2px}\n",
      "#cf-wrapper .cf-highlight{background-color:#f2f2f2;padding:1rem 0;text-align:center}\n",
      "#cf-wrapper .cf-status-display h3{font-size:15px;font-weight:600;line-height:1.3;margin:0}\n",
      "#cf-wrapper .cf-icon-error-container{position:relative;height:4.5rem;width:6rem}\n",
  };
  const std::size_t room = target > 900 ? target - 900 : 0;
  for (std::size_t i = 0; b.size() < 300 + room; ++i) b.append(css[i % std::size(css)]);
  b.append("</style>\n</head>\n<body>\n<div id=\"cf-wrapper\">\n<div id=\"cf-error-details\" class=\"cf-error-details-wrapper\">\n"
           "<div class=\"cf-wrapper cf-header cf-error-overview\">\n<h1>\n<span class=\"cf-error-type\">");
  b.append(title);
  b.append("</span>\n<span class=\"cf-error-code\">");
  put_int(b, code);
  b.append(
      "</span>\n</h1>\n</div>\n<div class=\"cf-section cf-wrapper\">\n<h2>What happened?</h2>\n"
      "<p>The web server reported a gateway error.</p>\n<h2>What can I do?</h2>\n<p>Please try again in a few "
      "minutes.</p>\n</div>\n<div class=\"cf-error-footer cf-wrapper\">\n<p>\n<span>Cloudflare Ray ID: <strong>");
  append_random_hex(b, r, 16);
  b.append("</strong></span>\n<span>Your IP: <span>34.");
  put_int(b, r.range(0, 255));
  b.push_back('.');
  put_int(b, r.range(0, 255));
  b.push_back('.');
  put_int(b, r.range(1, 254));
  b.append("</span></span>\n<span>Performance &amp; security by Cloudflare</span>\n</p>\n</div>\n</div>\n</div>\n</body>\n</html>\n");
}

void body_processed_list(std::string& b, Rng& r, i64 t) {
  const int items = static_cast<int>(r.range(12, 70));
  b.append(R"({"ok":true,"received_at":")");
  put_rfc3339(b, t);
  b.append(R"(","processed":[)");
  for (int i = 0; i < items; ++i) {
    if (i) b.push_back(',');
    b.append(R"({"id":"itm_)");
    append_random_hex(b, r, 12);
    b.append(R"(","status":")");
    b.append(r.chance(0.93) ? "ok" : "skipped");
    b.append(R"(","ms":)");
    put_int(b, r.range(0, 120));
    b.push_back('}');
  }
  b.append("]}");
}

// ---------------------------------------------------------------------------
// Statistics of what was generated.
// ---------------------------------------------------------------------------

struct Stats {
  u64 attempts = 0, success = 0, failed = 0, retrying = 0, pending = 0, dlq = 0, body_bytes = 0;
  u64 empty_bodies = 0, big_bodies = 0;
};

// ---------------------------------------------------------------------------
// Rows.
// ---------------------------------------------------------------------------

void put_event_row(std::string& b, const Env& env, const Plan& p) {
  const Connection& c = env.conns[static_cast<std::size_t>(p.conn)];
  b.append(p.event_id);
  tab(b);
  b.append(env.org_id);
  tab(b);
  b.append(env.id);
  tab(b);
  put_copy_text(b, sources()[static_cast<std::size_t>(c.source)].types[static_cast<std::size_t>(p.type)]);
  tab(b);
  put_timestamp(b, p.t_event);
  endrow(b);
}

struct AttemptScratch {
  std::string body, trace;
};

/// Writes all attempts of one event.
void put_attempt_rows(CopyStream& out, const Env& env, const Plan& p, Rng& r, Stats& st, AttemptScratch& s) {
  const Connection& c = env.conns[static_cast<std::size_t>(p.conn)];
  const Destination& d = env.dests[static_cast<std::size_t>(p.dest)];
  const char* event_type = sources()[static_cast<std::size_t>(c.source)].types[static_cast<std::size_t>(p.type)];
  const int n_attempts = p.chain + p.replay;
  const i64 body_size = 120 + static_cast<i64>(18'000.0 * std::pow(r.uniform(), 3.0));
  s.trace.clear();
  append_random_hex(s.trace, r, 32);

  // Attempt times: dispatch delay, then retries after ~30 s, ~5 min, ~30 min (±30%).
  std::array<i64, 5> at{};
  at[0] = p.dispatch;
  static constexpr i64 backoff_s[] = {30, 300, 1800};
  for (int n = 1; n < p.chain; ++n)
    at[static_cast<std::size_t>(n)] =
        at[static_cast<std::size_t>(n - 1)] +
        static_cast<i64>(static_cast<double>(backoff_s[n - 1] * us_per_s) * (1.0 + 0.3 * r.uniform()));
  if (p.replay)
    at[static_cast<std::size_t>(p.chain)] = at[static_cast<std::size_t>(p.chain - 1)] +
                                            3600 * us_per_s + static_cast<i64>(72'000.0 * us_per_s * r.uniform());
  // Keep every attempt before the reference instant: squeeze late chains.
  const i64 limit = t_ref - us_per_s - p.t_event;
  if (at[static_cast<std::size_t>(n_attempts - 1)] > limit) {
    const double f = static_cast<double>(limit) / static_cast<double>(at[static_cast<std::size_t>(n_attempts - 1)]);
    for (int n = 0; n < n_attempts; ++n) {
      at[static_cast<std::size_t>(n)] = static_cast<i64>(static_cast<double>(at[static_cast<std::size_t>(n)]) * f);
      if (n > 0 && at[static_cast<std::size_t>(n)] <= at[static_cast<std::size_t>(n - 1)])
        at[static_cast<std::size_t>(n)] = at[static_cast<std::size_t>(n - 1)] + 1;
    }
  }
  const i64 last_regular = p.t_event + at[static_cast<std::size_t>(p.chain - 1)];
  i64 dlq_at = last_regular + 31 * us_per_s + static_cast<i64>(9.0 * us_per_s * r.uniform());
  if (dlq_at >= t_ref) dlq_at = last_regular + (t_ref - last_regular) / 2;

  std::string& b = out.buf;
  for (int n = 1; n <= n_attempts; ++n) {
    const bool is_replay = n > p.chain;
    const bool last = n == p.chain;
    const i64 t = p.t_event + at[static_cast<std::size_t>(n - 1)];
    // This attempt's status.
    Outcome o = Outcome::failed;
    if (is_replay) o = Outcome::success;
    else if (last) o = p.outcome;
    const bool in_dlq = p.dlq && !is_replay;

    // The destination's answer.
    int http = 0;  // 0: no response (network error or still pending)
    const char* error = nullptr;
    std::string net_error;
    s.body.clear();
    bool has_body = false;
    const char* content_type = nullptr;
    i64 duration = 0;
    const double ud = r.uniform();
    if (o == Outcome::success) {
      const double u = r.uniform();
      http = u < 0.62 ? 200 : u < 0.72 ? 201 : u < 0.90 ? 202 : 204;
      has_body = true;
      if (http != 204) {
        const double ub = r.uniform();
        if (ub < 0.55) {
          s.body.append(R"({"ok":true,"id":")");
          s.body.append(d.ack_prefix);
          append_random_hex(s.body, r, 16);
          s.body.append("\"}");
        } else if (ub < 0.73) {
          s.body.append(R"({"received":true})");
        } else if (ub < 0.83) {
          s.body.append(R"({"status":"accepted","queued_at":")");
          put_rfc3339(s.body, t + 3000);
          s.body.append("\"}");
        } else if (ub < 0.955) {
          // empty 200
        } else if (ub < 0.99995) {
          body_processed_list(s.body, r, t);
        } else {  // a legacy endpoint answering binary garbage
          static constexpr unsigned char bin[] = {0xff, 0xfe, 0x00, 0x01, ' ',  'b',  'i',  'n',  'a',  'r',
                                                  'y',  ' ',  0x1b, '[',  '3',  '1',  'm',  0x00, 0x07, 0x08,
                                                  0x7f, 0x80, 0xc0, '\\', '\t', '\n', '\r', 0xc3, 0x28};
          s.body.append(reinterpret_cast<const char*>(bin), sizeof bin);
          for (int i = 0; i < 4; ++i) {
            const u64 v = r.next();
            s.body.append(reinterpret_cast<const char*>(&v), sizeof v);
          }
          content_type = "application/octet-stream";
        }
      }
      if (!content_type && !s.body.empty()) content_type = "application/json; charset=utf-8";
      duration = 20 + static_cast<i64>(880.0 * std::pow(ud, 2.2));
    } else if (o == Outcome::failed || o == Outcome::retrying) {
      const double u = r.uniform();
      http = u < 0.20 ? 500 : u < 0.32 ? 502 : u < 0.44 ? 503 : u < 0.50 ? 400 : u < 0.56 ? 404 : u < 0.60 ? 410
             : u < 0.66                                                                        ? 429
                                                                                                : 0;
      has_body = http != 0;
      switch (http) {
        case 500:
          if (r.chance(0.35)) body_stack_trace(s.body, r, static_cast<std::size_t>(r.range(900, 4000)));
          else {
            s.body.append(R"({"error":"internal_server_error","message":"Unhandled exception in webhook handler","request_id":"req_)");
            append_random_hex(s.body, r, 20);
            s.body.append("\"}");
          }
          content_type = "application/json; charset=utf-8";
          error = "HTTP 500 Internal Server Error";
          duration = 40 + static_cast<i64>(2460.0 * ud * ud);
          break;
        case 502:
          if (r.chance(0.5)) {
            body_cloudflare_page(s.body, r, 502, static_cast<std::size_t>(r.range(1500, 4000)));
          } else {
            s.body.append(
                "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad "
                "Gateway</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n");
          }
          content_type = "text/html; charset=utf-8";
          error = "HTTP 502 Bad Gateway";
          duration = 15 + static_cast<i64>(2985.0 * ud * ud * ud);
          break;
        case 503:
          if (r.chance(0.4)) {
            body_cloudflare_page(s.body, r, 503, static_cast<std::size_t>(r.range(1500, 4000)));
            content_type = "text/html; charset=utf-8";
          } else if (r.chance(0.5)) {
            s.body.append(R"({"error":"service_unavailable","retry_after":30})");
            content_type = "application/json; charset=utf-8";
          } else {
            s.body.append("upstream connect error or disconnect/reset before headers. reset reason: overflow");
            content_type = "text/plain";
          }
          error = "HTTP 503 Service Unavailable";
          duration = 5 + static_cast<i64>(195.0 * ud);
          break;
        case 400:
          s.body.append(R"({"error":"invalid_signature","message":"No signatures found matching the expected signature for payload"})");
          content_type = "application/json; charset=utf-8";
          error = "HTTP 400 Bad Request";
          duration = 10 + static_cast<i64>(290.0 * ud);
          break;
        case 404:
          s.body.append(R"(<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Error</title></head><body><pre>Cannot )");
          s.body.append(d.method);
          s.body.push_back(' ');
          s.body.append(d.url.substr(d.url.find('/', 8)));
          s.body.append("</pre></body></html>");
          content_type = "text/html; charset=utf-8";
          error = "HTTP 404 Not Found";
          duration = 10 + static_cast<i64>(290.0 * ud);
          break;
        case 410:
          s.body.append(R"({"error":"gone","message":"This endpoint has been retired"})");
          content_type = "application/json; charset=utf-8";
          error = "HTTP 410 Gone";
          duration = 10 + static_cast<i64>(290.0 * ud);
          break;
        case 429:
          s.body.append(R"({"error":"rate_limited","message":"Too many requests","retry_after_ms":)");
          put_int(s.body, r.range(200, 5000));
          s.body.push_back('}');
          content_type = "application/json; charset=utf-8";
          error = "HTTP 429 Too Many Requests";
          duration = 5 + static_cast<i64>(95.0 * ud);
          break;
        default: {  // no HTTP response at all
          const double un = r.uniform();
          const std::string host = d.url.substr(8, d.url.find('/', 8) - 8);
          if (un < 0.45) {
            net_error = "connection timed out after 30000ms";
            duration = 30'000 + static_cast<i64>(60.0 * ud);
          } else if (un < 0.70) {
            net_error = "connect ECONNREFUSED 10.0." + std::to_string(r.range(1, 30)) + "." +
                        std::to_string(r.range(2, 251)) + ":443";
            duration = 1 + static_cast<i64>(39.0 * ud);
          } else if (un < 0.82) {
            net_error = "getaddrinfo ENOTFOUND " + host;
            duration = 2 + static_cast<i64>(118.0 * ud);
          } else if (un < 0.92) {
            net_error = "socket hang up";
            duration = 100 + static_cast<i64>(14'900.0 * ud);
          } else {
            net_error = "TLS handshake failed: certificate has expired";
            duration = 20 + static_cast<i64>(180.0 * ud);
          }
          error = net_error.c_str();
        }
      }
    }
    // pending: no response, no duration, no error.

    // --- id, org_id, env_id, event_id, connection_id, destination_id
    char da_id[35] = {'d', 'a', '_'};
    for (int k = 0; k < 2; ++k) {
      u64 v = r.next();
      for (int j = 15; j >= 0; --j, v >>= 4) da_id[3 + 16 * k + j] = hex_digits[v & 15];
    }
    const std::string_view id(da_id, sizeof da_id);
    b.append(id);
    tab(b);
    b.append(env.org_id);
    tab(b);
    b.append(env.id);
    tab(b);
    b.append(p.event_id);
    tab(b);
    b.append(c.id);
    tab(b);
    b.append(d.id);
    tab(b);
    // --- request_url, request_method, request_headers, request_body_size
    put_copy_text(b, d.url);
    tab(b);
    b.append(d.method);
    tab(b);
    b.append(R"j({"content-type":"application/json","user-agent":"hookstream/1.4","content-length":")j");
    put_int(b, body_size);
    b.append(R"(","x-hookstream-event-id":")");
    b.append(p.event_id);
    b.append(R"(","x-hookstream-event-type":")");
    b.append(event_type);  // catalogue strings need no JSON or COPY escaping
    b.append(R"(","x-hookstream-delivery-id":")");
    b.append(id);
    b.append(R"(","x-hookstream-attempt":")");
    put_int(b, n);
    b.append(R"(","x-hookstream-timestamp":")");
    put_int(b, t / us_per_s);
    b.append(R"(","x-hookstream-signature":"v1,)");
    append_random_hex(b, r, 64);
    if (c.traced) {  // some senders propagate a W3C trace context
      b.append(R"(","traceparent":"00-)");
      b.append(s.trace);
      b.push_back('-');
      append_random_hex(b, r, 16);
      b.append("-01");
    }
    b.append("\"}");
    tab(b);
    put_int(b, body_size);
    tab(b);
    // --- response_status, response_headers, response_body, duration_ms
    if (http) put_int(b, http);
    else b.append(copy_null);
    tab(b);
    if (http) {
      b.push_back('{');
      if (content_type) {
        b.append(R"("content-type":")");
        b.append(content_type);
        b.append("\",");
      }
      b.append(R"("content-length":")");
      put_int(b, static_cast<i64>(s.body.size()));
      b.append(R"(","date":")");
      put_http_date(b, t + duration * 1000);
      b.append(R"(","server":")");
      b.append(http == 502 && content_type && s.body.size() < 300 ? "nginx/1.25.3" : d.server);
      b.append(R"(","connection":"keep-alive")");
      if (http == 503 || http == 429) b.append(R"(,"retry-after":"30")");
      b.append(R"(,"x-request-id":")");
      const u64 a = r.next(), z = r.next();
      append_hex(b, a >> 32, 8);
      b.push_back('-');
      append_hex(b, a >> 16, 4);
      b.push_back('-');
      append_hex(b, a, 4);
      b.push_back('-');
      append_hex(b, z >> 48, 4);
      b.push_back('-');
      append_hex(b, z, 12);
      b.append("\"}");
    } else {
      b.append(copy_null);
    }
    tab(b);
    if (has_body) put_copy_bytea(b, s.body);
    else b.append(copy_null);
    tab(b);
    if (o == Outcome::pending) b.append(copy_null);
    else put_int(b, duration);
    tab(b);
    // --- status, error, created_at, attempt_number, next_retry_at
    b.append(o == Outcome::success ? "success" : o == Outcome::failed ? "failed" : o == Outcome::retrying ? "retrying"
                                                                                                          : "pending");
    tab(b);
    if (error) put_copy_text(b, error);
    else b.append(copy_null);
    tab(b);
    put_timestamp(b, t);
    tab(b);
    put_int(b, n);
    tab(b);
    if (!is_replay && !last) put_timestamp(b, p.t_event + at[static_cast<std::size_t>(n)]);
    else if (o == Outcome::retrying)
      put_timestamp(b, t + static_cast<i64>(static_cast<double>(backoff_s[std::min(n, 3) - 1] * us_per_s) *
                                            (1.0 + 0.3 * r.uniform())));
    else b.append(copy_null);
    tab(b);
    // --- is_dlq, dlq_at, trigger_type
    b.push_back(in_dlq ? '1' : '0');
    tab(b);
    if (in_dlq) put_timestamp(b, dlq_at);
    else b.append(copy_null);
    tab(b);
    b.append(is_replay ? "manual_replay" : n == 1 ? "event" : "retry");
    endrow(b);

    ++st.attempts;
    switch (o) {
      case Outcome::success: ++st.success; break;
      case Outcome::failed: ++st.failed; break;
      case Outcome::retrying: ++st.retrying; break;
      case Outcome::pending: ++st.pending; break;
    }
    st.dlq += in_dlq;
    st.body_bytes += s.body.size();
    st.empty_bodies += has_body && s.body.empty();
    st.big_bodies += s.body.size() >= 1000;
    out.row_done();
  }
}

// ---------------------------------------------------------------------------
// Database helpers.
// ---------------------------------------------------------------------------

class Db {
 public:
  explicit Db(const std::string& url) : c_(PQconnectdb(url.c_str())) {
    if (PQstatus(c_) != CONNECTION_OK) {
      std::string m = pg_message(c_);
      PQfinish(c_);
      throw PgError("cannot connect: " + m);
    }
  }
  ~Db() { PQfinish(c_); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  PGconn* get() const { return c_; }

  void exec(const std::string& sql) {
    PGresult* r = PQexec(c_, sql.c_str());
    const auto st = PQresultStatus(r);
    std::string err = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? "" : PQresultErrorMessage(r);
    PQclear(r);
    if (!err.empty()) throw PgError(sql + ": " + err);
  }

  std::vector<std::vector<std::string>> query(const std::string& sql) {
    PGresult* r = PQexec(c_, sql.c_str());
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
      std::string err = PQresultErrorMessage(r);
      PQclear(r);
      throw PgError(sql + ": " + err);
    }
    std::vector<std::vector<std::string>> rows;
    for (int i = 0; i < PQntuples(r); ++i) {
      std::vector<std::string> row;
      for (int j = 0; j < PQnfields(r); ++j) row.emplace_back(PQgetvalue(r, i, j));
      rows.push_back(std::move(row));
    }
    PQclear(r);
    return rows;
  }

 private:
  PGconn* c_;
};

/// An index of a table as the catalog defines it, so it can be dropped before a
/// bulk load and re-created exactly.
struct SavedIndex {
  std::string table, qualified_name, name, indexdef;
  std::string contype, conname;  // set when the index backs a constraint
  std::string condef;
};

std::vector<SavedIndex> save_indexes(Db& db, const std::string& table) {
  std::vector<SavedIndex> out;
  const auto rows = db.query(
      "SELECT quote_ident(n.nspname) || '.' || quote_ident(ic.relname), quote_ident(ic.relname), "
      "pg_get_indexdef(i.indexrelid), coalesce(c.contype::text, ''), coalesce(quote_ident(c.conname), ''), "
      "coalesce(pg_get_constraintdef(c.oid), '') "
      "FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_namespace n ON n.oid = ic.relnamespace "
      "LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid "
      "  AND c.contype IN ('p', 'u', 'x') "
      "WHERE i.indrelid = '" + table + "'::regclass ORDER BY ic.relname");
  for (const auto& r : rows) out.push_back({table, r[0], r[1], r[2], r[3], r[4], r[5]});
  return out;
}

void drop_index(Db& db, const SavedIndex& ix) {
  if (!ix.contype.empty()) db.exec("ALTER TABLE " + ix.table + " DROP CONSTRAINT " + ix.conname);
  else db.exec("DROP INDEX " + ix.qualified_name);
}

void create_index(Db& db, const SavedIndex& ix) {
  // A partitioned table's index definition reads "ON ONLY t" (the parent alone);
  // re-created, it must build on every partition. Its primary key cannot be
  // added "USING INDEX" either: add it by its definition.
  const bool partitioned = ix.indexdef.find(" ON ONLY ") != std::string::npos;
  if (partitioned && (ix.contype == "p" || ix.contype == "u")) {
    db.exec("ALTER TABLE " + ix.table + " ADD CONSTRAINT " + ix.conname + " " + ix.condef);
    return;
  }
  if (partitioned) {
    std::string def = ix.indexdef;
    def.replace(def.find(" ON ONLY "), 9, " ON ");
    db.exec(def);
    return;
  }
  if (ix.contype == "p" || ix.contype == "u") {
    db.exec(ix.indexdef);
    db.exec("ALTER TABLE " + ix.table + " ADD CONSTRAINT " + ix.conname +
            (ix.contype == "p" ? " PRIMARY KEY" : " UNIQUE") + " USING INDEX " + ix.name);
  } else if (ix.contype == "x") {
    db.exec("ALTER TABLE " + ix.table + " ADD CONSTRAINT " + ix.conname + " " + ix.condef);
  } else {
    db.exec(ix.indexdef);
  }
}

// ---------------------------------------------------------------------------
// Progress on stderr.
// ---------------------------------------------------------------------------

using steady = std::chrono::steady_clock;

double seconds_since(steady::time_point t0) {
  return std::chrono::duration<double>(steady::now() - t0).count();
}

class Progress {
 public:
  Progress(std::string label, u64 total, const char* unit)
      : label_(std::move(label)), unit_(unit), total_(total), tty_(isatty(STDERR_FILENO) == 1), t0_(steady::now()),
        last_(t0_) {}

  void update(u64 done) {
    const auto now = steady::now();
    if (now - last_ < (tty_ ? std::chrono::milliseconds(250) : std::chrono::milliseconds(5000))) return;
    last_ = now;
    print(done, false);
  }

  void done(u64 done, const char* note = "") {
    print(done, true);
    if (*note) std::fprintf(stderr, "%s", note);
    std::fprintf(stderr, "\n");
  }

 private:
  void print(u64 done, bool final) {
    const double s = seconds_since(t0_);
    const double rate = s > 0 ? static_cast<double>(done) / s : 0;
    const double pct = total_ ? 100.0 * static_cast<double>(done) / static_cast<double>(total_) : 100.0;
    if (final) {
      std::fprintf(stderr, "%s%-28s %11llu %s  100.0%%  %8.0f %s/s  %6.1f s", tty_ ? "\r" : "", label_.c_str(),
                   static_cast<unsigned long long>(done), unit_, rate, unit_, s);
      return;
    }
    const double eta = rate > 0 ? static_cast<double>(total_ - std::min(done, total_)) / rate : 0;
    std::fprintf(stderr, "%s%-28s %11llu %s  %5.1f%%  %8.0f %s/s  eta %4.0f s%s", tty_ ? "\r" : "", label_.c_str(),
                 static_cast<unsigned long long>(done), unit_, pct, rate, unit_, eta, tty_ ? "   " : "\n");
  }

  std::string label_;
  const char* unit_;
  u64 total_;
  bool tty_;
  steady::time_point t0_, last_;
};

// ---------------------------------------------------------------------------
// Command line.
// ---------------------------------------------------------------------------

struct Options {
  std::string url;
  u64 seed = 1;
  u64 attempts = 2'000'000;
  std::string keys_file;
  bool force = false;
  bool dry_run = false;
};

constexpr const char* usage_text =
    "usage: hookstream-bench-load [options]\n"
    "\n"
    "Migrates the database, then fills it with a deterministic benchmark data set:\n"
    "3 organisations, 6 environments (the hot one, Acme production, first), connections,\n"
    "destinations, events, delivery attempts and one API key per environment.\n"
    "\n"
    "  --database-url URL  libpq connection string or URL (default: $DATABASE_URL)\n"
    "  --seed N            PRNG seed; the same seed gives identical rows (default 1)\n"
    "  --attempts N        delivery attempts in the hot environment (default 2000000)\n"
    "  --keys-file PATH    also write the result lines to PATH\n"
    "  --force             the database already holds data: TRUNCATE every data table of\n"
    "                      the schema (hookstream's and the better-auth ones) first\n"
    "  --dry-run           generate everything but send nothing (no database needed)\n"
    "  --help              this text\n"
    "\n"
    "Prints on stdout, one line each:\n"
    "  KEY <org_id> <env_id> <attempt_count> <api_key>   per environment, hot first\n"
    "  HOT_CONNECTION <id> / HOT_DESTINATION <id> / HOT_EVENT <id>   hot-environment\n"
    "  ids with attempts, for filter scenarios. Progress goes to stderr.\n"
    "\n"
    "Exit status: 0 loaded, 1 error (the load is one transaction: a failed load keeps nothing),\n"
    "2 bad usage, 3 refused because the database already holds data.\n";

[[noreturn]] void usage_error(const std::string& m) {
  std::fprintf(stderr, "hookstream-bench-load: %s\n\n%s", m.c_str(), usage_text);
  std::exit(2);
}

u64 parse_u64(const std::string& flag, const std::string& v) {
  u64 out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size()) usage_error(flag + " needs a non-negative integer, got '" + v + "'");
  return out;
}

Options parse_options(int argc, char** argv) {
  Options o;
  if (const char* e = std::getenv("DATABASE_URL")) o.url = e;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::string value;
    bool has_value = false;
    if (auto eq = a.find('='); a.starts_with("--") && eq != std::string::npos) {
      value = a.substr(eq + 1);
      a.resize(eq);
      has_value = true;
    }
    auto next = [&]() -> std::string {
      if (has_value) return value;
      if (i + 1 >= argc) usage_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      std::fputs(usage_text, stdout);
      std::exit(0);
    } else if (a == "--database-url") o.url = next();
    else if (a == "--seed") o.seed = parse_u64(a, next());
    else if (a == "--attempts") o.attempts = parse_u64(a, next());
    else if (a == "--keys-file") o.keys_file = next();
    else if (a == "--force") o.force = true;
    else if (a == "--dry-run") o.dry_run = true;
    else usage_error("unknown option '" + a + "'");
  }
  if (o.attempts == 0) usage_error("--attempts must be at least 1");
  if (o.url.empty() && !o.dry_run) usage_error("no database: pass --database-url or set DATABASE_URL");
  return o;
}

// ---------------------------------------------------------------------------
// The load.
// ---------------------------------------------------------------------------

std::string bytea_literal(const hookstream::auth::sha256_digest& d) {
  return "\\\\x" + hookstream::encoding::to_hex(d);  // COPY text: \x... with the backslash escaped
}

// The hot org owner's better-auth session token (deterministic, from the org id).
std::string session_token(const Dataset& d);

/// Organisations, owners, environments, connections, destinations, API keys.
void load_catalog(PGconn* conn, const Dataset& d) {
  {
    CopyStream c(conn, R"(COPY "organization" ("id", "name", "slug", "logo", "createdAt", "metadata") FROM STDIN)");
    for (std::size_t o = 0; o < d.orgs.size(); ++o) {
      auto& b = c.buf;
      b += d.orgs[o].id + "\t";
      put_copy_text(b, org_specs[o].name);
      b += std::string("\t") + org_specs[o].slug + "\t\\N\t";
      put_timestamp(b, d.orgs[o].created_at);
      b += "\t\\N\n";
      c.row_done();
    }
    c.finish();
  }
  {
    CopyStream c(conn, R"(COPY "user" ("id", "name", "email", "emailVerified", "image", "createdAt", "updatedAt") FROM STDIN)");
    for (std::size_t o = 0; o < d.orgs.size(); ++o) {
      auto& b = c.buf;
      b += d.orgs[o].user_id + "\t";
      put_copy_text(b, org_specs[o].owner_name);
      b += std::string("\t") + org_specs[o].owner_email + "\tt\t\\N\t";
      put_timestamp(b, d.orgs[o].created_at - 180 * us_per_s);
      tab(b);
      put_timestamp(b, d.orgs[o].created_at - 180 * us_per_s);
      endrow(b);
      c.row_done();
    }
    c.finish();
  }
  {
    CopyStream c(conn, R"(COPY "member" ("id", "organizationId", "userId", "role", "createdAt") FROM STDIN)");
    for (const auto& o : d.orgs) {
      c.buf += o.member_id + "\t" + o.id + "\t" + o.user_id + "\towner\t";
      put_timestamp(c.buf, o.created_at);
      endrow(c.buf);
      c.row_done();
    }
    c.finish();
  }
  {
    // A dashboard session of the hot org's owner, for the cookie scenario: the
    // token is derived from the org id (so from --seed) and never expires.
    const auto& hot_org = d.orgs.front();
    CopyStream c(conn, R"(COPY "session" ("id", "expiresAt", "token", "createdAt", "updatedAt", "userId", )"
                       R"("activeOrganizationId") FROM STDIN)");
    c.buf += "sess_" + hot_org.id + "\t2099-01-01 00:00:00+00\t" + session_token(d) + "\t";
    put_timestamp(c.buf, hot_org.created_at);
    tab(c.buf);
    put_timestamp(c.buf, hot_org.created_at);
    c.buf += "\t" + hot_org.user_id + "\t" + hot_org.id;
    endrow(c.buf);
    c.row_done();
    c.finish();
  }
  {
    CopyStream c(conn, "COPY environments (id, org_id, name, is_default, created_at) FROM STDIN");
    for (const auto& e : d.envs) {
      c.buf += e.id + "\t" + e.org_id + "\t" + e.spec->name + (e.spec->is_default ? "\tt\t" : "\tf\t");
      put_timestamp(c.buf, e.created_at);
      endrow(c.buf);
      c.row_done();
    }
    c.finish();
  }
  {
    CopyStream c(conn, "COPY connections (id, org_id, env_id, name, created_at) FROM STDIN");
    for (const auto& e : d.envs)
      for (const auto& x : e.conns) {
        c.buf += x.id + "\t" + e.org_id + "\t" + e.id + "\t";
        put_copy_text(c.buf, x.name);
        tab(c.buf);
        put_timestamp(c.buf, x.created_at);
        endrow(c.buf);
        c.row_done();
      }
    c.finish();
  }
  {
    CopyStream c(conn, "COPY destinations (id, org_id, env_id, name, url, created_at) FROM STDIN");
    for (const auto& e : d.envs)
      for (const auto& x : e.dests) {
        c.buf += x.id + "\t" + e.org_id + "\t" + e.id + "\t";
        put_copy_text(c.buf, x.name);
        tab(c.buf);
        put_copy_text(c.buf, x.url);
        tab(c.buf);
        put_timestamp(c.buf, x.created_at);
        endrow(c.buf);
        c.row_done();
      }
    c.finish();
  }
  {
    CopyStream c(conn, "COPY api_keys (id, org_id, env_id, name, key_hash, key_prefix, created_at) FROM STDIN");
    for (const auto& e : d.envs) {
      c.buf += e.key_id + "\t" + e.org_id + "\t" + e.id + "\tbench (" + e.spec->name + ")\t" +
               bytea_literal(hookstream::auth::sha256(e.api_key)) + "\t" + e.api_key.substr(0, 12) + "\t";
      put_timestamp(c.buf, e.created_at + 600 * us_per_s);
      endrow(c.buf);
      c.row_done();
    }
    c.finish();
  }
}

std::string env_label(const Env& e) {
  return std::string(org_specs[e.spec->org].slug) + "/" + e.spec->name;
}

/// Pass 1: events (and per-connection / per-destination attempt counts).
void load_events(PGconn* conn, Dataset& d) {
  for (auto& e : d.envs) {
    CopyStream c(conn, std::string("COPY events (id, org_id, env_id, event_type, created_at) FROM STDIN") +
                           (conn ? " WITH (FREEZE)" : ""));
    Progress pr("events " + env_label(e), e.target, "attempts");
    u64 covered = 0;
    u64 best_total = 0;  // the sample: the first event with the most attempts, 4 preferred from mid-range on
    bool mid_found = false;
    EventWalker(d.seed, e).run([&](const Plan& p, Rng&) {
      put_event_row(c.buf, e, p);
      c.row_done();
      const u64 total = static_cast<u64>(p.chain) + p.replay;
      e.conn_attempts[static_cast<std::size_t>(p.conn)] += total;
      e.dest_attempts[static_cast<std::size_t>(p.dest)] += total;
      if (!mid_found && (total > best_total || (total == 4 && covered >= e.target / 2))) {
        e.sample_event = p.event_id;
        best_total = total;
        mid_found = total == 4 && covered >= e.target / 2;
      }
      covered += total;
      if ((c.rows & 1023) == 0) pr.update(covered);
    });
    e.events = c.finish();
    if (e.events != c.rows) throw PgError("COPY events: server stored " + std::to_string(e.events) + " rows, sent " +
                                          std::to_string(c.rows));
    pr.done(covered, ("  (" + std::to_string(e.events) + " events)").c_str());
  }
}

/// Pass 2: delivery attempts.
Stats load_attempts(PGconn* conn, Dataset& d, std::vector<u64>& attempts_per_env) {
  Stats st;
  // COPY FREEZE refuses partitioned tables (migration 0004); then the load is
  // frozen by a VACUUM after the commit instead.
  bool partitioned = false;
  if (conn) {
    PGresult* r = PQexec(conn, "SELECT relkind = 'p' FROM pg_class WHERE oid = 'delivery_attempts'::regclass");
    partitioned = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
  }
  AttemptScratch scratch;
  for (auto& e : d.envs) {
    CopyStream c(conn,
                 std::string("COPY delivery_attempts (id, org_id, env_id, event_id, connection_id, destination_id, "
                             "request_url, request_method, request_headers, request_body_size, response_status, "
                             "response_headers, response_body, duration_ms, status, error, created_at, "
                             "attempt_number, next_retry_at, is_dlq, dlq_at, trigger_type) FROM STDIN") +
                     (conn && !partitioned ? " WITH (FREEZE)" : ""));
    Progress pr("attempts " + env_label(e), e.target, "rows");
    const auto t0 = steady::now();
    EventWalker(d.seed, e).run([&](const Plan& p, Rng& r) {
      put_attempt_rows(c, e, p, r, st, scratch);
      pr.update(c.rows);
    });
    c.flush();
    const double sent_s = seconds_since(t0);
    pr.done(c.rows, "");
    std::fprintf(stderr, "  %.1f MB of COPY text in %.1f s; end of statement (counter trigger) ...",
                 static_cast<double>(c.bytes) / 1e6, sent_s);
    std::fflush(stderr);
    const auto t1 = steady::now();
    const u64 stored = c.finish();
    if (stored != e.target || c.rows != e.target)
      throw PgError("COPY delivery_attempts: expected " + std::to_string(e.target) + " rows, generated " +
                    std::to_string(c.rows) + ", server stored " + std::to_string(stored));
    attempts_per_env.push_back(stored);
    std::fprintf(stderr, " %.1f s\n", seconds_since(t1));
  }
  return st;
}

std::string session_token(const Dataset& d) { return "bench-session-" + d.orgs.front().id; }

std::string result_lines(const Dataset& d) {
  std::string out;
  for (const auto& e : d.envs)
    out += "KEY " + e.org_id + " " + e.id + " " + std::to_string(e.target) + " " + e.api_key + "\n";
  const Env& hot = d.envs.front();
  auto argmax = [](const std::vector<u64>& v) {
    return static_cast<std::size_t>(std::max_element(v.begin(), v.end()) - v.begin());
  };
  out += "HOT_CONNECTION " + hot.conns[argmax(hot.conn_attempts)].id + "\n";
  out += "HOT_DESTINATION " + hot.dests[argmax(hot.dest_attempts)].id + "\n";
  out += "HOT_EVENT " + hot.sample_event + "\n";
  out += "SESSION_TOKEN " + session_token(d) + "\n";
  // With the dashboard's secret at hand, the cookie better-auth would set.
  if (const char* secret = std::getenv("BETTER_AUTH_SECRET"); secret && *secret)
    out += "COOKIE better-auth.session_token=" + hookstream::auth::sign_session_cookie(session_token(d), secret) + "\n";
  return out;
}

void print_stats(const Stats& st) {
  auto pct = [&](u64 n) { return st.attempts ? 100.0 * static_cast<double>(n) / static_cast<double>(st.attempts) : 0; };
  std::fprintf(stderr,
               "generated %llu attempts: success %.1f%%, failed %.1f%%, retrying %.1f%%, pending %.1f%%, "
               "DLQ %.2f%%; response bodies avg %.0f B, %.1f%% >= 1 KB\n",
               static_cast<unsigned long long>(st.attempts), pct(st.success), pct(st.failed), pct(st.retrying),
               pct(st.pending), pct(st.dlq),
               st.attempts ? static_cast<double>(st.body_bytes) / static_cast<double>(st.attempts) : 0.0,
               pct(st.big_bodies));
}

void write_results(const Options& o, const std::string& lines) {
  std::fputs(lines.c_str(), stdout);
  std::fflush(stdout);
  if (!o.keys_file.empty()) {
    std::ofstream f(o.keys_file, std::ios::trunc);
    f << lines;
    f.close();
    if (!f) throw std::runtime_error("cannot write " + o.keys_file);
  }
}

int run(const Options& o) {
  const auto t_start = steady::now();
  Dataset d = build_dataset(o.seed, o.attempts);

  if (o.dry_run) {
    load_events(nullptr, d);
    std::vector<u64> per_env;
    const Stats st = load_attempts(nullptr, d, per_env);
    print_stats(st);
    write_results(o, result_lines(d));
    std::fprintf(stderr, "dry run: %.1f s\n", seconds_since(t_start));
    return 0;
  }

  // 1. Schema.
  {
    auto r = hookstream::storage::migrate_database(o.url, std::chrono::minutes(5));
    if (!r) throw PgError("migrations failed: " + r.error().message);
    std::fprintf(stderr, "migrations: %d applied\n", r.value());
  }

  Db db(o.url);
  db.exec("SET synchronous_commit = off");
  db.exec("SET maintenance_work_mem = '1GB'");
  db.exec("SET TimeZone = 'UTC'");
  db.exec("SET client_encoding = 'UTF8'");
  db.exec("SET statement_timeout = 0");
  db.exec("SET idle_in_transaction_session_timeout = 0");

  // 2. One transaction: either the whole data set is there, or nothing changed.
  db.exec("BEGIN");
  db.exec("LOCK TABLE delivery_attempts, events, environments, \"organization\" IN ACCESS EXCLUSIVE MODE");
  {
    const auto r = db.query(
        "SELECT EXISTS (SELECT 1 FROM delivery_attempts), EXISTS (SELECT 1 FROM environments), "
        "EXISTS (SELECT 1 FROM \"organization\")");
    const bool has_attempts = r[0][0] == "t", has_envs = r[0][1] == "t", has_orgs = r[0][2] == "t";
    if ((has_attempts || has_envs || has_orgs) && !o.force) {
      std::string what;
      if (has_attempts) what = db.query("SELECT count(*) FROM delivery_attempts")[0][0] + " delivery attempts";
      else if (has_envs) what = "environments";
      else what = "organisations";
      db.exec("ROLLBACK");
      std::fprintf(stderr,
                   "hookstream-bench-load: the database already holds %s; refusing to load on top of it.\n"
                   "Re-run with --force to TRUNCATE all data tables (hookstream's and better-auth's) first.\n",
                   what.c_str());
      return 3;
    }
  }
  const auto t_trunc = steady::now();
  if (o.force) {
    db.exec(
        "TRUNCATE delivery_attempts, events, api_keys, connections, destinations, environments, attempt_counts, "
        "attempt_counts_by_route, \"member\", \"invitation\", \"session\", \"account\", \"verification\", "
        "\"organization\", \"user\"");
    std::fprintf(stderr, "--force: truncated all data tables (%.1f s)\n", seconds_since(t_trunc));
  } else {
    // Empty already; truncating them in this transaction is what allows COPY FREEZE.
    db.exec("TRUNCATE delivery_attempts, events");
  }

  // 3. Indexes off during the load.
  std::vector<SavedIndex> indexes = save_indexes(db, "delivery_attempts");
  for (auto& ix : save_indexes(db, "events")) indexes.push_back(std::move(ix));
  for (const auto& ix : indexes) drop_index(db, ix);
  std::fprintf(stderr, "dropped %zu indexes of delivery_attempts and events for the load\n", indexes.size());

  // 4. Data.
  load_catalog(db.get(), d);
  const auto t_events = steady::now();
  load_events(db.get(), d);
  const double events_s = seconds_since(t_events);
  const auto t_attempts = steady::now();
  std::vector<u64> per_env;
  // Not into the live tail's event log (migration 0020): a bulk load is history,
  // not news for subscribers, and two million events would fill gigabytes that
  // the server's pruning then deletes in batches an hour later, in the middle
  // of whatever is being measured. Disabled inside this transaction (which
  // holds delivery_attempts exclusively), so no other session ever sees it off.
  db.exec("ALTER TABLE delivery_attempts DISABLE TRIGGER delivery_attempts_live_tail_insert");
  const Stats st = load_attempts(db.get(), d, per_env);
  db.exec("ALTER TABLE delivery_attempts ENABLE TRIGGER delivery_attempts_live_tail_insert");
  const double attempts_s = seconds_since(t_attempts);
  print_stats(st);

  // 5. Indexes back, exactly as the catalog had them.
  const auto t_index = steady::now();
  for (const auto& ix : indexes) {
    const auto t = steady::now();
    std::fprintf(stderr, "  index %-36s ...", ix.name.c_str());
    std::fflush(stderr);
    create_index(db, ix);
    std::fprintf(stderr, " %6.1f s\n", seconds_since(t));
  }
  const double index_s = seconds_since(t_index);

  // 6. The counters the triggers maintained must match what was generated
  // (folded first: the triggers append a log row per attempt, migration 0041).
  {
    while (db.query("SELECT hookstream_fold_count_deltas(1000000)").at(0).at(0) == "1000000") {
    }
    const auto rows = db.query("SELECT env_id, sum(n)::bigint FROM attempt_counts GROUP BY env_id");
    for (std::size_t i = 0; i < d.envs.size(); ++i) {
      std::string got = "0";
      for (const auto& r : rows)
        if (r[0] == d.envs[i].id) got = r[1];
      if (got != std::to_string(per_env[i]))
        throw PgError("attempt_counts for " + d.envs[i].id + " sum to " + got + ", expected " +
                      std::to_string(per_env[i]));
    }
  }

  const auto t_commit = steady::now();
  db.exec("COMMIT");
  const double commit_s = seconds_since(t_commit);
  const auto t_analyze = steady::now();
  db.exec(
      "ANALYZE \"organization\", \"user\", \"member\", environments, connections, destinations, api_keys, events, "
      "attempt_counts, attempt_counts_by_route");
  // Without COPY FREEZE (a partitioned table), freeze here so the first reads
  // do not set hint bits page by page and index-only scans work at once.
  db.exec("VACUUM (FREEZE, ANALYZE) delivery_attempts");
  // The log's rows were appended and folded inside the load's transaction, so
  // all of them are dead now. The server VACUUMs the log after its own folds;
  // this load bypassed them, and until autovacuum came every total walked two
  // million dead index entries (the first page of a full bench run: 19 req/s).
  // The counter layers, all new, are vacuumed too: their index-only scans need
  // the visibility map.
  db.exec("VACUUM attempt_count_log");
  db.exec("VACUUM ANALYZE attempt_counts_minutely, attempt_counts_hourly, attempt_counts_daily, "
          "attempt_totals_minutely, attempt_totals_hourly, attempt_totals_daily, attempt_counts_daily_by_route");
  const double analyze_s = seconds_since(t_analyze);

  std::fprintf(stderr,
               "done in %.1f s: events %.1f s, attempts %.1f s, indexes %.1f s, commit %.1f s, analyze %.1f s\n",
               seconds_since(t_start), events_s, attempts_s, index_s, commit_s, analyze_s);
  write_results(o, result_lines(d));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_options(argc, argv);
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\nhookstream-bench-load: %s\n", e.what());
    return 1;
  }
}
