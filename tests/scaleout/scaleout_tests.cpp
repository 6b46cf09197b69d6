// The scale-out tier (issue 14): read replicas, pgbouncer, several instances.
//
// Every test makes its own PostgreSQL (and, for replicas, a streaming standby
// made with pg_basebackup -R, or a pgbouncer in transaction mode) and runs the
// real hookstream-server binary against it. What each test checks on the
// database side it reads from the database itself (the standby's
// pg_stat_statements, pg_is_in_recovery(), rows present or not), and on
// hookstream's side from /metrics and the answers.
#define BOOST_TEST_MODULE hookstream_scaleout
#include "fault_support.hpp"
#include "support/test_database.hpp"

#include <hookstream/storage/migrations.hpp>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <set>

using namespace hookstream;
using namespace hookstream::faults;

namespace {

constexpr int attempt_count = 120;

// Polls `done` every 20 ms until it holds or `limit` passes; returns how long it took.
std::optional<fault_clock::duration> wait_for(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto start = fault_clock::now();
  while (fault_clock::now() - start < limit) {
    if (done()) return fault_clock::now() - start;
    std::this_thread::sleep_for(20ms);
  }
  return std::nullopt;
}

// hookstream's schema, one tenant and its attempts, on `url` (user app).
test::test_tenant prepare_database(const std::string& url) {
  auto migrated = storage::migrate_database(url, std::chrono::seconds(60));
  if (!migrated) throw std::runtime_error("migrations failed: " + migrated.error().message);
  test::sql_session db(url);
  auto tenant = test::make_tenant(db);
  std::vector<test::attempt_spec> rows(attempt_count);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    rows[i].created_at = "2026-11-28 0" + std::to_string(i % 10) + ":" + std::to_string(10 + i % 50) + ":00+00";
    rows[i].status = i % 3 ? "success" : "failed";
  }
  test::insert_attempts(db, tenant, rows);
  return tenant;
}

// The tenant's attempt ids in listing order, as PostgreSQL orders them.
std::vector<std::string> listing_order(const std::string& url, const test::test_tenant& t) {
  test::sql_session db(url);
  return db.column("SELECT id FROM delivery_attempts WHERE org_id = " + test::quote(t.org_id) + " AND env_id = " +
                   test::quote(t.env_id) + " AND id NOT LIKE 'da_w%' ORDER BY created_at DESC, id DESC");
}

struct page {
  std::vector<std::string> ids;
  std::string next, prev;
};
page parse_page(const answer& a) {
  BOOST_TEST_INFO("status " << a.status << " " << a.error << " " << a.body.substr(0, 200));
  BOOST_REQUIRE_EQUAL(a.status, 200u);
  const auto doc = boost::json::parse(a.body);
  page p;
  for (const auto& row : doc.at("delivery_attempts").as_array()) p.ids.emplace_back(row.at("id").as_string());
  const auto& pagination = doc.at("pagination");
  if (pagination.at("next_cursor").is_string()) p.next = std::string(pagination.at("next_cursor").as_string());
  if (pagination.at("prev_cursor").is_string()) p.prev = std::string(pagination.at("prev_cursor").as_string());
  return p;
}

const std::string primary_reads = "hookstream_db_reads_total{server=\"primary\"}";
const std::string replica_reads = "hookstream_db_reads_total{server=\"replica1\"}";
const std::string replica_usable = "hookstream_replica_usable{replica=\"1\"}";

// A primary with hookstream's schema and pg_stat_statements, one tenant with
// its attempts, and a streaming standby of it that has replayed them.
struct replicated_pair {
  pg_cluster primary{100};
  std::unique_ptr<pg_cluster> standby;
  test::test_tenant tenant;

  replicated_pair() {
    {
      admin_session admin(primary.url("postgres"));
      admin.exec("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'");
    }
    primary.restart("fast");
    tenant = prepare_database(primary.url());
    {
      admin_session admin(primary.url("postgres"));
      admin.exec("CREATE EXTENSION pg_stat_statements");
    }
    // The copy carries postgresql.auto.conf: the standby tracks statements too.
    standby = pg_cluster::standby_of(primary);
    admin_session on_standby(standby->url("postgres"));
    BOOST_REQUIRE_EQUAL(on_standby.text("SELECT pg_is_in_recovery()::text"), "true");
    BOOST_REQUIRE(wait_for([&] { return on_standby.count("SELECT count(*) FROM delivery_attempts") == attempt_count; },
                           10s));
  }

  std::vector<std::string> server_args(std::initializer_list<std::string> extra) const {
    std::vector<std::string> args{"--no-migrate", "--threads", "2", "--replica-url", standby->url()};
    args.insert(args.end(), extra);
    return args;
  }
};

// Listing statements a server ran, from its own pg_stat_statements.
std::int64_t listing_calls(admin_session& admin) {
  return admin.count(
      "SELECT coalesce(sum(calls), 0)::int8 FROM pg_stat_statements WHERE query LIKE '%FROM delivery_attempts i WHERE%'");
}

void wait_until_replica_usable(server_process& server, bool usable, std::chrono::milliseconds limit) {
  const auto took = wait_for([&] { return metric(server.port(), replica_usable) == (usable ? 1.0 : 0.0); }, limit);
  BOOST_REQUIRE_MESSAGE(took, "the replica did not become " << (usable ? "usable" : "unusable") << " in time");
}

// Inserts one attempt every `period` into the tenant, on the primary, until
// destroyed: the WAL keeps moving, as under production writes. Ids start with
// da_w (newer than every prepared attempt: they never enter a walk of those).
class writer {
 public:
  writer(const std::string& url, const test::test_tenant& t, std::chrono::milliseconds period = 20ms)
      : thread_([this, url, t, period] {
          admin_session db(url);
          while (!stop_) {
            const std::string id = "da_w" + test::random_hex(29);
            db.exec("INSERT INTO delivery_attempts (id, org_id, env_id, event_id, connection_id, destination_id, "
                    "request_url, request_method, status, created_at) VALUES (" + test::quote(id) + ", " +
                    test::quote(t.org_id) + ", " + test::quote(t.env_id) + ", 'evt_w', " +
                    test::quote(t.connection_ids[0]) + ", " + test::quote(t.destination_ids[0]) +
                    ", 'https://example.com/hook', 'POST', 'pending', now())");
            {
              std::lock_guard lock(m_);
              last_ = id;
            }
            std::this_thread::sleep_for(period);
          }
        }) {}
  ~writer() {
    stop_ = true;
    thread_.join();
  }
  std::string last() {
    std::lock_guard lock(m_);
    return last_;
  }

 private:
  std::atomic<bool> stop_{false};
  std::mutex m_;
  std::string last_;
  std::thread thread_;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(scaleout)

// Listing and single-attempt reads go to the standby: its own
// pg_stat_statements counts them, the primary's does not, and the server's
// lag monitor saw the standby in recovery.
BOOST_AUTO_TEST_CASE(reads_land_on_the_standby) {
  replicated_pair env;
  server_process server(env.primary.url(), env.server_args({}));
  wait_until_replica_usable(server, true, 10s);
  BOOST_TEST(metric(server.port(), "hookstream_replica_in_recovery{replica=\"1\"}") == 1.0);

  admin_session on_primary(env.primary.url("postgres")), on_standby(env.standby->url("postgres"));
  const auto standby_before = listing_calls(on_standby), primary_before = listing_calls(on_primary);
  const double primary_reads_before = metric(server.port(), primary_reads);
  const double replica_reads_before = metric(server.port(), replica_reads);

  const auto expected = listing_order(env.primary.url(), env.tenant);
  const int requests = 30;
  for (int i = 0; i < requests; ++i) {
    const std::string target = i % 3 == 0 ? "/v1/delivery-attempts?limit=10"
                               : i % 3 == 1 ? "/v1/delivery-attempts?limit=10&status=failed"
                                            : "/v1/delivery-attempts?limit=5&offset=3";
    const auto p = parse_page(http_get(server.port(), target, env.tenant.api_key));
    if (i == 0) BOOST_TEST(p.ids == std::vector<std::string>(expected.begin(), expected.begin() + 10));
  }
  const auto single = http_get(server.port(), "/v1/delivery-attempts/" + expected[7], env.tenant.api_key);
  BOOST_TEST(single.status == 200u);

  BOOST_TEST(listing_calls(on_standby) - standby_before == requests);
  BOOST_TEST(listing_calls(on_primary) - primary_before == 0);
  BOOST_TEST(on_standby.count("SELECT coalesce(sum(calls), 0)::int8 FROM pg_stat_statements "
                              "WHERE query LIKE '%FROM delivery_attempts a WHERE a.id = $1%'") == 1);
  // The credential look-ups (one per worker thread, then cached) came from
  // the standby as well: the primary answered nothing.
  BOOST_TEST(metric(server.port(), primary_reads) == primary_reads_before);
  BOOST_TEST(metric(server.port(), replica_reads) - replica_reads_before >= requests + 1);
  BOOST_TEST(server.stop() == 0);
}

// pg_ctl stop -m fast of the standby while 16 clients read: the reads in
// flight on it and every later one are answered by the primary. At most the
// requests in flight at that moment (one per client) may fail; the rule here
// allows that many, and the figure is printed.
BOOST_AUTO_TEST_CASE(stopping_the_standby_under_load_costs_no_request) {
  replicated_pair env;
  server_process server(env.primary.url(), env.server_args({"--pool-size", "4"}));
  wait_until_replica_usable(server, true, 10s);
  const double primary_before = metric(server.port(), primary_reads);
  const int clients = 16;
  load_generator load(server.port(), env.tenant.api_key,
                      {{.clients = clients, .pause = 2ms, .target = "/v1/delivery-attempts?limit=20"}});
  load.start();
  std::this_thread::sleep_for(1s);
  const auto stopping_at = fault_clock::now();
  env.standby->stop("fast");
  const auto stopped_at = fault_clock::now();
  std::this_thread::sleep_for(2s);
  const auto answers = load.stop();

  std::size_t failed = 0, before = 0, after = 0;
  for (const auto& a : answers) {
    if (a.status != 200) {
      ++failed;
      BOOST_TEST_MESSAGE("failed: status " << a.status << " " << a.error << " " << a.body.substr(0, 200));
    }
    if (a.done < stopping_at) ++before;
    if (a.sent > stopped_at) {
      ++after;
      BOOST_TEST(a.status == 200u);  // no request after the stop fails
    }
  }
  BOOST_TEST_MESSAGE("standby stopped under load: " << answers.size() << " answers (" << before << " before, "
                                                    << after << " after the stop), " << failed << " failed, "
                                                    << metric(server.port(), "hookstream_db_read_fallbacks_total")
                                                    << " reads answered by the primary after failing on the standby");
  BOOST_TEST(before > 100u);
  BOOST_TEST(after > 100u);
  BOOST_TEST(failed <= static_cast<std::size_t>(clients));
  BOOST_TEST(metric(server.port(), primary_reads) - primary_before >= static_cast<double>(after));
  wait_until_replica_usable(server, false, 2s);

  // It comes back: reads return to it, once the lag monitor finds it usable
  // and each worker's pool for it has reconnected (its background probe runs
  // at most --pool backoff_max, 500 ms, apart).
  env.standby->start();
  wait_until_replica_usable(server, true, 20s);
  const double replica_back = metric(server.port(), replica_reads);
  const auto back = wait_for(
      [&] {
        BOOST_TEST(http_get(server.port(), "/v1/delivery-attempts?limit=5", env.tenant.api_key).status == 200u);
        return metric(server.port(), replica_reads) > replica_back;
      },
      3s);
  BOOST_REQUIRE_MESSAGE(back, "no read reached the restarted standby");
  BOOST_TEST_MESSAGE("reads reached the restarted standby " << ms(*back) << " ms after it was found usable");
  std::this_thread::sleep_for(600ms);  // every worker's pool has probed by now
  const double replica_before = metric(server.port(), replica_reads);
  for (int i = 0; i < 5; ++i)
    BOOST_TEST(http_get(server.port(), "/v1/delivery-attempts?limit=5", env.tenant.api_key).status == 200u);
  BOOST_TEST(metric(server.port(), replica_reads) - replica_before >= 5.0);
  BOOST_TEST(server.stop() == 0);
}

// pg_wal_replay_pause() on the standby while the primary takes writes: once
// the lag passes --max-replica-lag-ms (not before it could have), reads go to
// the primary and see rows the standby lacks; after pg_wal_replay_resume()
// they return to the standby.
BOOST_AUTO_TEST_CASE(paused_replay_moves_reads_to_the_primary_and_back) {
  replicated_pair env;
  const auto bound = 600ms;
  server_process server(env.primary.url(), env.server_args({"--max-replica-lag-ms", "600",
                                                            "--replica-check-interval-ms", "50"}));
  wait_until_replica_usable(server, true, 10s);
  admin_session on_standby(env.standby->url("postgres"));
  writer writes(env.primary.url(), env.tenant);
  std::this_thread::sleep_for(500ms);
  BOOST_TEST(metric(server.port(), replica_usable) == 1.0);  // writes alone do not make it lag

  on_standby.exec("SELECT pg_wal_replay_pause()");
  const auto switched = wait_for([&] { return metric(server.port(), replica_usable) == 0.0; }, 5s);
  BOOST_REQUIRE(switched);
  BOOST_TEST_MESSAGE("replay paused: reads left the standby after " << ms(*switched) << " ms (bound "
                                                                     << bound.count() << " ms)");
  // The lag is an upper bound known to one check period (50 ms) plus a write
  // (20 ms): the standby is left no earlier than that before the bound.
  BOOST_TEST(ms(*switched) >= static_cast<double>(bound.count()) - 200.0);
  BOOST_TEST(ms(*switched) <= static_cast<double>(bound.count()) + 1000.0);

  const double primary_before = metric(server.port(), primary_reads);
  const double replica_before = metric(server.port(), replica_reads);
  for (int i = 0; i < 10; ++i) {
    const std::string newest = writes.last();
    const auto p = parse_page(http_get(server.port(), "/v1/delivery-attempts?limit=50", env.tenant.api_key));
    BOOST_TEST((std::find(p.ids.begin(), p.ids.end(), newest) != p.ids.end()), "a row written just now is listed");
    BOOST_TEST(on_standby.count("SELECT count(*) FROM delivery_attempts WHERE id = " + test::quote(newest)) == 0);
  }
  BOOST_TEST(metric(server.port(), primary_reads) - primary_before >= 10.0);
  BOOST_TEST(metric(server.port(), replica_reads) == replica_before);

  on_standby.exec("SELECT pg_wal_replay_resume()");
  wait_until_replica_usable(server, true, 5s);
  const double replica_after = metric(server.port(), replica_reads);
  for (int i = 0; i < 5; ++i)
    BOOST_TEST(http_get(server.port(), "/v1/delivery-attempts?limit=5", env.tenant.api_key).status == 200u);
  BOOST_TEST(metric(server.port(), replica_reads) - replica_after >= 5.0);
  BOOST_TEST(server.stop() == 0);
}

// Cursors name rows, not servers: a walk started on the standby continues on
// the primary (replay paused past the bound), and walks back on the standby
// once it has caught up, page for page.
BOOST_AUTO_TEST_CASE(a_cursor_from_one_server_works_on_the_other) {
  replicated_pair env;
  server_process server(env.primary.url(), env.server_args({"--max-replica-lag-ms", "400",
                                                            "--replica-check-interval-ms", "50"}));
  wait_until_replica_usable(server, true, 10s);
  const auto expected = listing_order(env.primary.url(), env.tenant);
  const std::string base = "/v1/delivery-attempts?limit=9";
  std::vector<page> pages;

  double replica_before = metric(server.port(), replica_reads);
  double primary_before = metric(server.port(), primary_reads);
  pages.push_back(parse_page(http_get(server.port(), base, env.tenant.api_key)));
  BOOST_TEST(metric(server.port(), replica_reads) - replica_before >= 1.0);
  BOOST_TEST(metric(server.port(), primary_reads) == primary_before);

  admin_session on_standby(env.standby->url("postgres"));
  {
    writer writes(env.primary.url(), env.tenant);  // newer rows: outside the walk
    on_standby.exec("SELECT pg_wal_replay_pause()");
    wait_until_replica_usable(server, false, 5s);
    replica_before = metric(server.port(), replica_reads);
    primary_before = metric(server.port(), primary_reads);
    while (!pages.back().next.empty())
      pages.push_back(parse_page(http_get(server.port(), base + "&cursor=" + pages.back().next, env.tenant.api_key)));
    BOOST_TEST(metric(server.port(), primary_reads) - primary_before >= static_cast<double>(pages.size() - 1));
    BOOST_TEST(metric(server.port(), replica_reads) == replica_before);
  }
  std::vector<std::string> walked;
  for (const auto& p : pages) walked.insert(walked.end(), p.ids.begin(), p.ids.end());
  BOOST_TEST(walked == expected);

  on_standby.exec("SELECT pg_wal_replay_resume()");
  wait_until_replica_usable(server, true, 5s);
  replica_before = metric(server.port(), replica_reads);
  std::string back = pages.back().prev;
  for (std::size_t k = pages.size() - 1; k > pages.size() - 4; --k) {
    const auto p = parse_page(http_get(server.port(), base + "&cursor=" + back, env.tenant.api_key));
    BOOST_TEST(p.ids == pages[k - 1].ids);
    back = p.prev;
  }
  BOOST_TEST(metric(server.port(), replica_reads) - replica_before >= 3.0);
  BOOST_TEST(server.stop() == 0);
}

// Behind pgbouncer in transaction mode, with 2 server connections for the
// server's 8 pooled ones: unnamed statements are detected and every answer is
// right; nothing of hookstream's (statement names, settings) stays on the
// server sessions another client then gets; the statement timeout still holds
// per statement. A server forced to named statements through the same pooler
// fails, which is why the detection matters.
BOOST_AUTO_TEST_CASE(hookstream_behind_pgbouncer_in_transaction_mode) {
  pg_cluster cluster(100);
  const auto tenant = prepare_database(cluster.url());
  const auto expected = listing_order(cluster.url(), tenant);
  pgbouncer_process bouncer(cluster.url(), 2);
  server_process server(bouncer.url(), {"--no-migrate", "--threads", "2", "--pool-size", "4",
                                        "--maintenance-database-url", cluster.url(), "--query-timeout-ms", "500",
                                        "--request-timeout-ms", "4000"});
  BOOST_REQUIRE(wait_for([&] { return metric(server.port(), "hookstream_db_unnamed_statements") == 2.0; }, 10s));

  const auto answers = [&] {
    load_generator load(server.port(), tenant.api_key,
                        {{.clients = 8, .target = "/v1/delivery-attempts?limit=20"},
                         {.clients = 4, .target = "/v1/delivery-attempts?limit=7&status=failed"},
                         {.clients = 4, .target = "/v1/delivery-attempts?limit=5&offset=40"}});
    load.start();
    std::this_thread::sleep_for(1500ms);
    return load.stop();
  }();
  std::size_t bad = 0;
  for (const auto& a : answers)
    if (a.status != 200 && bad++ < 5) BOOST_ERROR("status " << a.status << " " << a.error << " " << a.body);
  BOOST_TEST(bad == 0u);
  BOOST_TEST(answers.size() > 100u);

  std::vector<std::string> walked;
  std::string cursor;
  do {
    const auto p = parse_page(http_get(server.port(), "/v1/delivery-attempts?limit=13" +
                                                          (cursor.empty() ? "" : "&cursor=" + cursor),
                                       tenant.api_key));
    walked.insert(walked.end(), p.ids.begin(), p.ids.end());
    cursor = p.next;
  } while (!cursor.empty());
  BOOST_TEST(walked == expected);

  // Another client of the pooler gets the server sessions hookstream used:
  // their settings are the server's defaults, and nothing is prepared on them.
  for (int i = 0; i < 4; ++i) {
    admin_session other(bouncer.url());
    BOOST_TEST(other.text("SHOW statement_timeout") == "0");
    BOOST_TEST(other.text("SHOW jit") == "on");
    BOOST_TEST(other.text("SHOW max_parallel_workers_per_gather") == "2");
    BOOST_TEST(other.count("SELECT count(*) FROM pg_prepared_statements") == 0);
  }

  // The statement timeout (500 ms) still stops a statement stuck on a lock,
  // long before the request's own deadline (4 s).
  {
    admin_session locker(cluster.url("postgres"));
    locker.exec("BEGIN; LOCK TABLE delivery_attempts IN ACCESS EXCLUSIVE MODE");
    const auto stuck = http_get(server.port(), "/v1/delivery-attempts?limit=5", tenant.api_key);
    locker.exec("COMMIT");
    check_error_answer(stuck, 504, "took too long", false);
    BOOST_TEST(stuck.latency_ms() < 2000.0);
    BOOST_TEST(http_get(server.port(), "/v1/delivery-attempts?limit=5", tenant.api_key).status == 200u);
  }

  // Named statements through the same pooler: statements prepared on one
  // server session are missing, or already exist, on the next.
  server_process named(bouncer.url(), {"--no-migrate", "--threads", "2", "--pool-size", "4",
                                       "--prepared-statements", "on", "--maintenance", "off"});
  load_generator load(named.port(), tenant.api_key,
                      {{.clients = 8, .target = "/v1/delivery-attempts?limit=20"},
                       {.clients = 4, .target = "/v1/delivery-attempts?limit=7&status=failed"}});
  load.start();
  std::this_thread::sleep_for(1s);
  const auto named_answers = load.stop();
  const auto named_failures = std::count_if(named_answers.begin(), named_answers.end(),
                                            [](const answer& a) { return a.status != 200; });
  BOOST_TEST_MESSAGE("named statements through pgbouncer: " << named_failures << " of " << named_answers.size()
                                                            << " requests failed");
  BOOST_TEST(named_failures > 0);
  BOOST_TEST(server.stop() == 0);
}

// Two processes on one database with one cursor secret: a walk alternating
// between them (two ports) sees every attempt once, in order; a process with
// another secret refuses the cursors. Two processes can also share one port
// (SO_REUSEPORT): new connections reach both, and a walk over that port works.
BOOST_AUTO_TEST_CASE(two_instances_walk_one_cursor_alternately) {
  pg_cluster cluster(100);
  const auto tenant = prepare_database(cluster.url());
  const auto expected = listing_order(cluster.url(), tenant);
  // Different rate limits tell the answering instance apart (RateLimit-Limit).
  server_process a(cluster.url(), {"--no-migrate", "--threads", "1", "--rate-limit", "100000"});
  server_process b(cluster.url(), {"--no-migrate", "--threads", "1", "--rate-limit", "100001"});

  std::vector<std::string> walked;
  std::string cursor, first_cursor;
  int n = 0;
  do {
    server_process& instance = n % 2 == 0 ? a : b;
    const auto answered = http_get(instance.port(), "/v1/delivery-attempts?limit=11" +
                                                        (cursor.empty() ? "" : "&cursor=" + cursor),
                                   tenant.api_key);
    BOOST_TEST(answered.rate_limit == (n % 2 == 0 ? "100000" : "100001"));
    const auto p = parse_page(answered);
    walked.insert(walked.end(), p.ids.begin(), p.ids.end());
    cursor = p.next;
    if (n == 0) first_cursor = cursor;
    ++n;
  } while (!cursor.empty());
  BOOST_TEST(n >= 10);
  BOOST_TEST(walked == expected);

  server_process other(cluster.url(), {"--no-migrate", "--threads", "1", "--cursor-secret",
                                       "another-cursor-secret-0123456789"});
  const auto refused = http_get(other.port(), "/v1/delivery-attempts?limit=11&cursor=" + first_cursor, tenant.api_key);
  check_error_answer(refused, 400, "cursor", false);

  // A third process on a's port.
  server_process c(cluster.url(), {"--no-migrate", "--threads", "1", "--rate-limit", "100002", "--listen",
                                   "127.0.0.1:" + std::to_string(a.port())});
  BOOST_REQUIRE_EQUAL(c.port(), a.port());
  std::set<std::string> seen;
  for (int i = 0; i < 40; ++i) seen.insert(http_get(a.port(), "/v1/delivery-attempts?limit=1", tenant.api_key).rate_limit);
  BOOST_TEST(seen.count("100000") == 1u);
  BOOST_TEST(seen.count("100002") == 1u);
  walked.clear();
  cursor.clear();
  do {
    const auto p = parse_page(http_get(a.port(), "/v1/delivery-attempts?limit=11" +
                                                     (cursor.empty() ? "" : "&cursor=" + cursor),
                                       tenant.api_key));
    walked.insert(walked.end(), p.ids.begin(), p.ids.end());
    cursor = p.next;
  } while (!cursor.empty());
  BOOST_TEST(walked == expected);
  BOOST_TEST(a.stop() == 0);
  BOOST_TEST(b.stop() == 0);
  BOOST_TEST(c.stop() == 0);
}

BOOST_AUTO_TEST_SUITE_END()
