#include <hookstream/auth/session_cookie.hpp>
#include <hookstream/server/config.hpp>
#include <hookstream/server/list_query.hpp>

#include <boost/asio/ip/address.hpp>

#include <charconv>
#include <cstdlib>
#include <functional>

namespace hookstream::server {
namespace {

struct option {
  const char* name;   // --name
  const char* env;    // environment variable
  const char* value;  // placeholder shown in --help, nullptr for flags
  const char* help;
  std::function<bool(server_config&, const std::string&)> apply;
  bool secret = false;  // never echoed in an error message
};

bool to_uint(const std::string& s, unsigned long long& out, unsigned long long max) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out <= max;
}

template <class Field>
std::function<bool(server_config&, const std::string&)> millis(Field field) {
  return [field](server_config& c, const std::string& v) {
    unsigned long long n;
    if (!to_uint(v, n, 86'400'000)) return false;
    field(c) = std::chrono::milliseconds(n);
    return true;
  };
}

template <class Field>
std::function<bool(server_config&, const std::string&)> count(Field field, unsigned long long min,
                                                              unsigned long long max) {
  return [field, min, max](server_config& c, const std::string& v) {
    unsigned long long n;
    if (!to_uint(v, n, max) || n < min) return false;
    field(c) = static_cast<std::remove_reference_t<decltype(field(c))>>(n);
    return true;
  };
}

bool flag(const std::string& v) { return v.empty() || v == "1" || v == "true" || v == "yes"; }

const std::vector<option>& options() {
  static const std::vector<option> all{
      {"listen", "HOOKSTREAM_LISTEN", "HOST:PORT", "address to serve on (default 127.0.0.1:8080)",
       [](server_config& c, const std::string& v) {
         const auto colon = v.rfind(':');
         if (colon == std::string::npos) return false;
         unsigned long long port;
         if (!to_uint(v.substr(colon + 1), port, 65535)) return false;
         std::string host = v.substr(0, colon);
         if (!host.empty() && host.front() == '[') {  // [::1]:8080
           if (host.size() < 3 || host.back() != ']') return false;
           host = host.substr(1, host.size() - 2);
         } else if (host.find(':') != std::string::npos) {
           return false;  // IPv6 literals need brackets
         }
         if (host == "localhost") host = "127.0.0.1";
         boost::system::error_code ec;
         boost::asio::ip::make_address(host, ec);
         if (ec) return false;
         c.listen_address = host;
         c.port = static_cast<unsigned short>(port);
         return true;
       }},
      {"database-url", "DATABASE_URL", "URL", "PostgreSQL URL or libpq conninfo (required)",
       [](server_config& c, const std::string& v) {
         c.database_url = v;
         return !v.empty();
       }},
      {"maintenance-database-url", "HOOKSTREAM_MAINTENANCE_DATABASE_URL", "URL",
       "where migrations, maintenance, the one-shot commands and the replica lag monitor connect (default: "
       "--database-url); must be PostgreSQL itself or a session-mode pooler (session advisory locks)",
       [](server_config& c, const std::string& v) {
         c.maintenance_database_url = v;
         return !v.empty();
       }},
      {"replica-url", "HOOKSTREAM_REPLICA_URLS", "URL",
       "a streaming replica for reads while its lag is within --max-replica-lag-ms; repeat (space-separated "
       "URLs in the variable) (default none)",
       [](server_config& c, const std::string& v) {
         std::size_t at = 0;
         bool any = false;
         while (at < v.size()) {
           const auto start = v.find_first_not_of(" \t\n", at);
           if (start == std::string::npos) break;
           const auto end = v.find_first_of(" \t\n", start);
           c.replica_urls.push_back(v.substr(start, end == std::string::npos ? std::string::npos : end - start));
           any = true;
           at = end == std::string::npos ? v.size() : end;
         }
         return any;
       }},
      {"max-replica-lag-ms", "HOOKSTREAM_MAX_REPLICA_LAG_MS", "MS",
       "a replica further behind the primary than this serves no reads (default 1000)",
       millis([](server_config& c) -> std::chrono::milliseconds& { return c.max_replica_lag; })},
      {"replica-check-interval-ms", "HOOKSTREAM_REPLICA_CHECK_INTERVAL_MS", "MS",
       "how often the lag monitor samples the primary and checks each replica (default 100)",
       millis([](server_config& c) -> std::chrono::milliseconds& { return c.replica_check_interval; })},
      {"prepared-statements", "HOOKSTREAM_PREPARED_STATEMENTS", "auto|on|off",
       "named prepared statements and session settings (on), or unnamed statements with transaction-local "
       "settings for a pooler in transaction mode (off); auto: off when a pooler is detected (default auto)",
       [](server_config& c, const std::string& v) {
         if (v == "auto") c.pool.statements = storage::statement_mode::automatic;
         else if (v == "on") c.pool.statements = storage::statement_mode::named;
         else if (v == "off") c.pool.statements = storage::statement_mode::unnamed;
         else return false;
         return true;
       }},
      {"threads", "HOOKSTREAM_THREADS", "N", "worker threads, each with its own event loop and pool (default: cores)",
       count([](server_config& c) -> unsigned& { return c.threads; }, 1, 256)},
      {"pool-size", "HOOKSTREAM_POOL_SIZE", "N", "database connections per thread (default 4)",
       count([](server_config& c) -> std::size_t& { return c.pool_size; }, 1, 1000)},
      {"pipeline-depth", "HOOKSTREAM_PIPELINE_DEPTH", "N",
       "reads that may share one pooled connection, their statements pipelined; 1 = none (default 4)",
       count([](server_config& c) -> std::size_t& { return c.pool.pipeline_depth; }, 1, 64)},
      {"pool-max-waiters", "HOOKSTREAM_POOL_MAX_WAITERS", "N",
       "requests per thread that may queue for a connection; more get 503 (default 4096)",
       count([](server_config& c) -> std::size_t& { return c.pool.max_waiters; }, 0, 1'000'000)},
      {"active-requests-per-connection", "HOOKSTREAM_ACTIVE_REQUESTS_PER_CONNECTION", "N",
       "API requests worked on at once per pooled connection; later ones wait their turn, within the acquire "
       "timeout (default 4; 0 = no bound)",
       count([](server_config& c) -> std::size_t& { return c.handler.active_requests_per_connection; }, 0, 1'000)},
      {"pool-max-connecting", "HOOKSTREAM_POOL_MAX_CONNECTING", "N",
       "connections per thread being opened at once (default 2)",
       count([](server_config& c) -> std::size_t& { return c.pool.max_connecting; }, 1, 1000)},
      {"connect-timeout-ms", "HOOKSTREAM_CONNECT_TIMEOUT_MS", "MS", "deadline to open a connection (default 5000)",
       millis([](server_config& c) -> std::chrono::milliseconds& { return c.pool.connect_timeout; })},
      {"acquire-timeout-ms", "HOOKSTREAM_ACQUIRE_TIMEOUT_MS", "MS",
       "longest wait for a pooled connection before 503 (default 1000)",
       millis([](server_config& c) -> std::chrono::milliseconds& { return c.handler.acquire_timeout; })},
      {"query-timeout-ms", "HOOKSTREAM_QUERY_TIMEOUT_MS", "MS",
       "server-side statement_timeout of every query (default 5000)",
       millis([](server_config& c) -> std::chrono::milliseconds& { return c.pool.statement_timeout; })},
      {"request-timeout-ms", "HOOKSTREAM_REQUEST_TIMEOUT_MS", "MS",
       "budget for all database work of a request before 504 (default 10000)",
       millis([](server_config& c) -> std::chrono::milliseconds& { return c.handler.request_timeout; })},
      {"read-timeout-ms", "HOOKSTREAM_READ_TIMEOUT_MS", "MS",
       "deadline to receive a request, incl. the keep-alive wait (default 30000)",
       millis([](server_config& c) -> std::chrono::milliseconds& { return c.listener.read_timeout; })},
      {"write-timeout-ms", "HOOKSTREAM_WRITE_TIMEOUT_MS", "MS", "deadline to send a response (default 10000)",
       millis([](server_config& c) -> std::chrono::milliseconds& { return c.listener.write_timeout; })},
      {"shutdown-timeout-ms", "HOOKSTREAM_SHUTDOWN_TIMEOUT_MS", "MS",
       "on SIGINT/SIGTERM, how long requests in flight may finish (default 10000)",
       millis([](server_config& c) -> std::chrono::milliseconds& { return c.listener.shutdown_timeout; })},
      {"max-connections", "HOOKSTREAM_MAX_CONNECTIONS", "N", "open client connections per thread (default 10000)",
       count([](server_config& c) -> std::size_t& { return c.listener.max_connections; }, 1, 1'000'000)},
      {"cursor-secret", "HOOKSTREAM_CURSOR_SECRET", "SECRET",
       "key (>= 16 bytes) that signs pagination cursors; share it across instances (default: random per process)",
       [](server_config& c, const std::string& v) {
         c.handler.cursor_secret = v;
         return v.size() >= 16;
       },
       /*secret=*/true},
      {"cookie-auth", "HOOKSTREAM_COOKIE_AUTH", "auto|on|off",
       "accept better-auth session cookies (auto: when BETTER_AUTH_SECRET or BETTER_AUTH_SECRETS is set)",
       [](server_config& c, const std::string& v) {
         c.cookie_auth = v;
         return v == "auto" || v == "on" || v == "off";
       }},
      {"auth-cache-ttl-ms", "HOOKSTREAM_AUTH_CACHE_TTL_MS", "MS",
       "how long a validated key or session is trusted without asking the database (default 5000)",
       millis([](server_config& c) -> std::chrono::milliseconds& { return c.handler.auth.cache_ttl; })},
      {"auth-cache-failure-ttl-ms", "HOOKSTREAM_AUTH_CACHE_FAILURE_TTL_MS", "MS",
       "how long a failed look-up is remembered (default 1000)",
       millis([](server_config& c) -> std::chrono::milliseconds& { return c.handler.auth.failure_ttl; })},
      {"auth-cache-size", "HOOKSTREAM_AUTH_CACHE_SIZE", "N", "cached credentials per thread (default 10000)",
       count([](server_config& c) -> std::size_t& { return c.handler.auth.cache_capacity; }, 0, 10'000'000)},
      {"rate-limit", "HOOKSTREAM_RATE_LIMIT", "N", "requests per window per organization, 0 = off (default 60000)",
       count([](server_config& c) -> std::uint32_t& { return c.handler.rate_limit.limit; }, 0, 1'000'000'000)},
      {"rate-limit-window-s", "HOOKSTREAM_RATE_LIMIT_WINDOW_S", "S", "the rate limit's window (default 60)",
       [](server_config& c, const std::string& v) {
         unsigned long long n;
         if (!to_uint(v, n, 86400) || n == 0) return false;
         c.handler.rate_limit.window = std::chrono::seconds(n);
         return true;
       }},
      {"cors-origin", "HOOKSTREAM_CORS_ORIGINS", "ORIGIN",
       "allow this browser origin (credentials included); repeat, or comma-separate in the variable (default none)",
       [](server_config& c, const std::string& v) {
         std::size_t start = 0;
         while (start <= v.size()) {
           const auto comma = v.find(',', start);
           std::string origin = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
           while (!origin.empty() && origin.front() == ' ') origin.erase(0, 1);
           while (!origin.empty() && (origin.back() == ' ' || origin.back() == '/')) origin.pop_back();
           if (origin.empty() || origin.find("://") == std::string::npos) return false;
           c.handler.cors_origins.push_back(origin);
           if (comma == std::string::npos) break;
           start = comma + 1;
         }
         return true;
       }},
      {"auth-failure-limit", "HOOKSTREAM_AUTH_FAILURE_LIMIT", "N",
       "credential look-ups that find nothing valid, per client address and window; past it 429 without a "
       "look-up; 0 = off (default 100)",
       count([](server_config& c) -> std::uint32_t& { return c.handler.auth_failure_limit.limit; }, 0,
             1'000'000'000)},
      {"auth-failure-window-s", "HOOKSTREAM_AUTH_FAILURE_WINDOW_S", "S", "the failed look-up limit's window (default 60)",
       [](server_config& c, const std::string& v) {
         unsigned long long n;
         if (!to_uint(v, n, 86400) || n == 0) return false;
         c.handler.auth_failure_limit.window = std::chrono::seconds(n);
         return true;
       }},
      {"max-field-bytes", "HOOKSTREAM_MAX_FIELD_BYTES", "N",
       "listing: response_body, request_headers, response_headers and error are cut to N bytes, on a UTF-8 "
       "boundary (default 16384)",
       count([](server_config& c) -> std::int32_t& { return c.handler.listing_field_bytes; }, 4, 1 << 30)},
      {"max-attempt-field-bytes", "HOOKSTREAM_MAX_ATTEMPT_FIELD_BYTES", "N",
       "the same cut for GET /v1/delivery-attempts/{id} (default 1048576)",
       count([](server_config& c) -> std::int32_t& { return c.handler.attempt_field_bytes; }, 4, 1 << 30)},
      {"max-page-bytes", "HOOKSTREAM_MAX_PAGE_BYTES", "N",
       "a listing page ends before its body passes N bytes (at least one row; has_more and next_cursor "
       "continue after it) (default 4194304)",
       count([](server_config& c) -> std::size_t& { return c.handler.max_page_bytes; }, 4096, 1ull << 32)},
      {"route-name-ttl-ms", "HOOKSTREAM_ROUTE_NAME_TTL_MS", "MS",
       "how long connection and destination names are cached; a rename or deletion shows within it (default 5000)",
       millis([](server_config& c) -> std::chrono::milliseconds& { return c.handler.route_names.ttl; })},
      {"row-cache-bytes", "HOOKSTREAM_ROW_CACHE_BYTES", "N",
       "bytes of listing rows kept per thread (their values and JSON), keyed by their stored version, so that a "
       "page listed again reads only its rows' identities; 0 = off (default 33554432)",
       count([](server_config& c) -> std::size_t& { return c.handler.row_cache.max_bytes; }, 0, 1ull << 40)},
      {"row-cache-ttl-ms", "HOOKSTREAM_ROW_CACHE_TTL_MS", "MS",
       "longest a cached listing row is used (changes show at once; see docs) (default 60000)",
       millis([](server_config& c) -> std::chrono::milliseconds& { return c.handler.row_cache.ttl; })},
      {"gzip-min-bytes", "HOOKSTREAM_GZIP_MIN_BYTES", "N",
       "gzip answers of at least N bytes when the client accepts it; 0 = never (default 1024)",
       count([](server_config& c) -> std::size_t& { return c.handler.gzip_min_bytes; }, 0, 1'000'000'000)},
      {"maintenance", "HOOKSTREAM_MAINTENANCE", "on|off",
       "run maintenance (counter compaction, partitions ahead, retention) in the background (default on)",
       [](server_config& c, const std::string& v) {
         c.maintenance = v == "on";
         return v == "on" || v == "off";
       }},
      {"retention-days", "HOOKSTREAM_RETENTION_DAYS", "N",
       "remove attempts older than N days (whole monthly partitions, then batches); 0 = keep all (default 0)",
       count([](server_config& c) -> int& { return c.maintenance_settings.retention_days; }, 0, 100'000)},
      {"compaction-interval-ms", "HOOKSTREAM_COMPACTION_INTERVAL_MS", "MS",
       "how often the counters' pending log rows are folded (default 250)",
       [](server_config& c, const std::string& v) {
         unsigned long long n;
         if (!to_uint(v, n, 3'600'000) || n == 0) return false;
         c.compaction_interval = std::chrono::milliseconds(n);
         return true;
       }},
      {"maintenance-interval-s", "HOOKSTREAM_MAINTENANCE_INTERVAL_S", "S",
       "how often partitions are created ahead and retention runs (default 600)",
       [](server_config& c, const std::string& v) {
         unsigned long long n;
         if (!to_uint(v, n, 86'400) || n == 0) return false;
         c.maintenance_interval = std::chrono::seconds(n);
         return true;
       }},
      {"maintain", "HOOKSTREAM_MAINTAIN", nullptr,
       "run one maintenance pass (compaction, partitions ahead, retention) and exit",
       [](server_config& c, const std::string& v) {
         c.maintain_only = flag(v);
         return true;
       }},
      {"check-counters", "HOOKSTREAM_CHECK_COUNTERS", nullptr,
       "compare every environment's counters with a count of its rows (read-only) and exit; 3 = drift found",
       [](server_config& c, const std::string& v) {
         c.check_counters = flag(v);
         return true;
       }},
      {"recount", "HOOKSTREAM_RECOUNT", nullptr,
       "rebuild the counters from the rows (writers are not blocked) and exit",
       [](server_config& c, const std::string& v) {
         c.recount = flag(v);
         return true;
       }},
      {"env", "HOOKSTREAM_ENV", "ID", "limit --check-counters and --recount to this environment",
       [](server_config& c, const std::string& v) {
         c.command_env = v;
         return !v.empty();
       }},
      {"stream-max-subscribers", "HOOKSTREAM_STREAM_MAX_SUBSCRIBERS", "N",
       "live tail: open streams per process; more get 503 (default 10000)",
       count([](server_config& c) -> std::size_t& { return c.live_tail.max_subscribers; }, 0, 10'000'000)},
      {"stream-max-per-tenant", "HOOKSTREAM_STREAM_MAX_PER_TENANT", "N",
       "live tail: open streams per tenant (org + environment) and process; more get 429 (default 500)",
       count([](server_config& c) -> std::size_t& { return c.live_tail.max_subscribers_per_tenant; }, 0,
             10'000'000)},
      {"stream-buffer-events", "HOOKSTREAM_STREAM_BUFFER_EVENTS", "N",
       "live tail: events queued for a stream whose client reads too slowly before it gets event: overflow "
       "and is closed (default 1024)",
       count([](server_config& c) -> std::size_t& { return c.live_tail.subscriber_buffer_events; }, 1, 1'000'000)},
      {"stream-buffer-bytes", "HOOKSTREAM_STREAM_BUFFER_BYTES", "N",
       "live tail: the same bound in bytes (default 4194304)",
       count([](server_config& c) -> std::size_t& { return c.live_tail.subscriber_buffer_bytes; }, 1024,
             1ull << 32)},
      {"stream-heartbeat-ms", "HOOKSTREAM_STREAM_HEARTBEAT_MS", "MS", "live tail: event: heartbeat period (default 15000)",
       [](server_config& c, const std::string& v) {
         unsigned long long n;
         if (!to_uint(v, n, 86'400'000) || n == 0) return false;
         c.live_tail.heartbeat = std::chrono::milliseconds(n);
         return true;
       }},
      {"stream-poll-ms", "HOOKSTREAM_STREAM_POLL_MS", "MS",
       "live tail: read the event log at least this often without a notification (default 250)",
       [](server_config& c, const std::string& v) {
         unsigned long long n;
         if (!to_uint(v, n, 86'400'000) || n == 0) return false;
         c.live_tail.poll_interval = std::chrono::milliseconds(n);
         return true;
       }},
      {"stream-coalesce-ms", "HOOKSTREAM_STREAM_COALESCE_MS", "MS",
       "live tail: after a notification, wait this long so a burst of commits goes out as one batch (default 0)",
       millis([](server_config& c) -> std::chrono::milliseconds& { return c.live_tail.coalesce; })},
      {"stream-retention-s", "HOOKSTREAM_STREAM_RETENTION_S", "S",
       "live tail: how long events stay in the log; an older Last-Event-ID gets 410 (default 3600)",
       [](server_config& c, const std::string& v) {
         unsigned long long n;
         if (!to_uint(v, n, 365ull * 86400) || n == 0) return false;
         c.live_tail.retention = std::chrono::seconds(n);
         return true;
       }},
      {"stream-prune-ms", "HOOKSTREAM_STREAM_PRUNE_MS", "MS",
       "live tail: how often this process prunes the event log; 0 = never (default 30000)",
       millis([](server_config& c) -> std::chrono::milliseconds& { return c.live_tail.prune_interval; })},
      {"no-migrate", "HOOKSTREAM_NO_MIGRATE", nullptr, "do not apply schema migrations at start-up",
       [](server_config& c, const std::string& v) {
         c.migrate = !flag(v);
         return true;
       }},
      {"migrate-only", "HOOKSTREAM_MIGRATE_ONLY", nullptr, "apply schema migrations and exit",
       [](server_config& c, const std::string& v) {
         c.migrate_only = flag(v);
         return true;
       }},
  };
  return all;
}

}  // namespace

std::string server_usage() {
  std::string s =
      "Usage: hookstream-server [OPTIONS]\n\n"
      "Serves GET /v1/delivery-attempts from PostgreSQL. Every option can also be set by\n"
      "the environment variable shown; the command line wins.\n\n";
  for (const auto& o : options()) {
    std::string left = std::string("  --") + o.name + (o.value ? std::string(" ") + o.value : "");
    s += left + std::string(left.size() < 32 ? 32 - left.size() : 1, ' ') + o.help + "\n";
    s += std::string(34, ' ') + "[env " + o.env + "]\n";
  }
  s += "  --help                        show this text\n";
  // The listing's limits are fixed by the API contract, not options: listed
  // here from the parser's own table (GET /v1/openapi.json has the whole contract).
  s += "\nQuery parameters of GET /v1/delivery-attempts (fixed; 400 with the rule otherwise):\n";
  for (const auto& p : listing_parameters()) {
    std::string left = "  " + std::string(p.name);
    s += left + std::string(left.size() < 18 ? 18 - left.size() : 1, ' ') + "must " + p.rule + "\n";
  }
  s += "  (created_after < created_before when both are given; cursor not with offset)\n";
  return s;
}

config_outcome parse_server_config(const std::vector<std::string>& args) {
  server_config cfg;
  auto error = [](std::string m) { return config_outcome{std::nullopt, std::move(m) + "\n(see --help)", 2}; };

  for (const auto& a : args)
    if (a == "--help" || a == "-h") return config_outcome{std::nullopt, server_usage(), 0};
  auto on_command_line = [&](const option& o) {
    const std::string flag = std::string("--") + o.name;
    for (const auto& a : args)
      if (a == flag || a.starts_with(flag + "=")) return true;
    return false;
  };
  for (const auto& o : options()) {
    // An option given on the command line overrides (and so excuses) a bad
    // environment value.
    if (on_command_line(o)) continue;
    if (const char* v = std::getenv(o.env); v && *v) {
      if (!o.apply(cfg, v))
        return error(std::string("invalid value of ") + o.env + (o.value && !o.secret ? std::string(": ") + v : ""));
    }
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg == "--help" || arg == "-h") return config_outcome{std::nullopt, server_usage(), 0};
    if (!arg.starts_with("--")) return error("unexpected argument: " + arg);
    std::string name = arg.substr(2), value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    const option* found = nullptr;
    for (const auto& o : options())
      if (name == o.name) found = &o;
    if (!found) return error("unknown option --" + name);
    if (found->value && !has_value) {
      if (i + 1 >= args.size()) return error("--" + name + " needs a value");
      value = args[++i];
    }
    if (!found->apply(cfg, value))
      return error("invalid value for --" + name + (found->secret ? std::string(" (the value is not shown)")
                                                                  : ": " + value));
  }
  if (cfg.database_url.empty()) return error("no database: set DATABASE_URL or --database-url");

  std::vector<std::string> secrets;
  try {
    secrets = auth::session_secrets_from_environment();
  } catch (const std::invalid_argument& e) {
    return error(e.what());
  }
  if (cfg.cookie_auth == "on" && secrets.empty())
    return error("cookie auth is on but no secret is set: export BETTER_AUTH_SECRET (the dashboard's secret)");
  if (cfg.cookie_auth != "off") {
    for (const auto& secret : secrets)
      if (auto why = auth::check_session_secret(secret); !why.empty())
        return error("refusing the better-auth secret: " + why);
    cfg.handler.auth.session_secrets = std::move(secrets);
  }
  if (cfg.check_counters + cfg.recount + cfg.maintain_only + cfg.migrate_only > 1)
    return error("--check-counters, --recount, --maintain and --migrate-only exclude each other");
  if (cfg.command_env && !cfg.check_counters && !cfg.recount)
    return error("--env only applies to --check-counters and --recount");
  if (cfg.replica_urls.size() > server_metrics::max_replicas)
    return error("at most " + std::to_string(server_metrics::max_replicas) + " replicas (--replica-url)");
  if (cfg.replica_check_interval < std::chrono::milliseconds(10))
    return error("--replica-check-interval-ms must be at least 10");
  // The lag is known to within one check interval, and ages by up to another
  // before the next check: a bound below two intervals could never be met.
  if (!cfg.replica_urls.empty() && cfg.max_replica_lag < 2 * cfg.replica_check_interval)
    return error("--max-replica-lag-ms must be at least twice --replica-check-interval-ms");
  cfg.pool.conninfo = cfg.database_url;
  cfg.pool.max_size = cfg.pool_size;
  return config_outcome{std::move(cfg), {}, 0};
}

}  // namespace hookstream::server
