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
//
// The parts, in bench/loader/: seeded_random (the PRNG), catalogue and dataset
// (what is generated), response_bodies and attempt_copy_rows (the rows),
// copy_fields and pg_session (COPY text and libpq), saved_indexes (indexes off
// during the load), load_passes (the COPY passes), progress (stderr).

#include "load_passes.hpp"
#include "pg_session.hpp"
#include "progress.hpp"
#include "saved_indexes.hpp"

#include <hookstream/auth/session_cookie.hpp>
#include <hookstream/storage/migrations.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace hookstream::bench_load {
namespace {

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
}  // namespace hookstream::bench_load

int main(int argc, char** argv) {
  using namespace hookstream::bench_load;
  const Options o = parse_options(argc, argv);
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\nhookstream-bench-load: %s\n", e.what());
    return 1;
  }
}
