// The live tail's central promise under stress: writers commit continuously
// (several rows per transaction, changes of earlier rows, some transactions
// rolled back, transactions overlapping so that they commit out of xid order)
// while clients of several tenants and filters hang up at random points and
// resume with their last id (header or ?cursor=). In the end every client has
// exactly the committed events of its tenant and filter, in log order: none
// lost at a switch from catch-up to live, none twice.
#include "support/sse_client.hpp"
#include "support/test_database.hpp"
#include "support/test_server.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <random>
#include <set>
#include <thread>

using namespace hookstream;
using namespace std::chrono_literals;

namespace {

struct received {
  std::string attempt_id;
  std::string status;
  bool operator==(const received&) const = default;
};
std::ostream& operator<<(std::ostream& os, const received& r) { return os << r.attempt_id << "/" << r.status; }

// One subscriber that keeps hanging up and resuming. Runs in its own thread;
// records what it saw, asserts nothing (Boost.Test is not thread-safe).
struct resuming_client {
  unsigned short port;
  std::string api_key;
  std::string query;  // the filter
  unsigned seed;

  std::vector<received> events;
  std::string last_id;
  int connections = 0;
  int catch_ups_with_cursor_param = 0;
  std::string failure;

  // The first connection: the position of its first heartbeat is where this
  // client starts (retrying while the hub is still connecting).
  bool start() {
    for (int i = 0; i < 200; ++i) {
      test::sse_client c(port, "/v1/delivery-attempts/stream" + query, {"X-API-Key: " + api_key});
      if (c.status() == 503) {
        std::this_thread::sleep_for(50ms);
        continue;
      }
      if (c.status() != 200) {
        failure = "status " + std::to_string(c.status()) + ": " + c.body();
        return false;
      }
      ++connections;
      while (auto e = c.next(2s))
        if (e->event == "heartbeat") {
          last_id = e->id;
          return true;
        }
    }
    failure = "no heartbeat";
    return false;
  }

  // Connects with the last id and reads up to `max_events` attempt events,
  // until `idle` passes without one, or until `lifetime` is over (so that
  // clients of rare events also hang up often, however loaded the machine).
  void session(std::mt19937& rng, int max_events, std::chrono::milliseconds idle,
               std::chrono::milliseconds lifetime) {
    std::vector<std::string> headers{"X-API-Key: " + api_key};
    std::string target = "/v1/delivery-attempts/stream" + query;
    if (!last_id.empty()) {
      if (rng() % 3 == 0) {
        target += (query.empty() ? "?cursor=" : "&cursor=") + last_id;
        ++catch_ups_with_cursor_param;
      } else {
        headers.push_back("Last-Event-ID: " + last_id);
      }
    }
    test::sse_client c(port, target, headers);
    if (c.status() != 200) {
      if (c.status() == 503) return;  // starting up: try again
      failure = "status " + std::to_string(c.status()) + ": " + c.body();
      return;
    }
    ++connections;
    int n = 0;
    const auto hang_up_at = std::chrono::steady_clock::now() + lifetime;
    auto quiet_until = std::chrono::steady_clock::now() + idle;  // heartbeats do not count
    while (n < max_events) {
      const auto left = std::min(quiet_until, hang_up_at) - std::chrono::steady_clock::now();
      if (left <= 0s) return;
      auto e = c.next(std::chrono::duration_cast<std::chrono::milliseconds>(left));
      if (!e) return;
      if (e->event == "heartbeat") {
        last_id = e->id;
        continue;
      }
      quiet_until = std::chrono::steady_clock::now() + idle;
      if (e->event != "attempt") {
        failure = "unexpected event " + e->event + ": " + e->data;
        return;
      }
      const auto doc = boost::json::parse(e->data);
      events.push_back({std::string(doc.at("id").as_string()), std::string(doc.at("status").as_string())});
      last_id = e->id;
      ++n;
    }
    // Destroying the client here hangs up in the middle of whatever the
    // server was sending.
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(live_tail_resume)

BOOST_AUTO_TEST_CASE(random_hang_ups_under_continuous_writers_lose_and_repeat_nothing) {
  test::sql_session db;
  const auto a = test::make_tenant(db);
  const auto b = test::make_tenant(db);
  test::test_server server(2, [](server::server_config& c) {
    c.live_tail.heartbeat = 100ms;
    c.live_tail.poll_interval = 100ms;
  });

  struct client_spec {
    const test::test_tenant* tenant;
    std::string query;
    std::string where;  // the same filter, over attempt_events
  };
  const std::vector<client_spec> specs{
      {&a, "", ""},
      {&a, "", ""},
      {&a, "?status=failed", " AND status = 'failed'"},
      {&a, "?connection_id=" + a.connection_ids[1], " AND connection_id = " + test::quote(a.connection_ids[1])},
      {&a, "?is_dlq=1&status=retrying", " AND coalesce(is_dlq, 0) = 1 AND status = 'retrying'"},
      {&b, "", ""},
  };
  std::vector<resuming_client> clients;
  for (std::size_t i = 0; i < specs.size(); ++i)
    clients.push_back({server.port(), specs[i].tenant->api_key, specs[i].query, static_cast<unsigned>(100 + i)});

  // Each client connects and learns its starting point from a heartbeat
  // before any write: from then on, every event of its tenant is its own.
  for (auto& c : clients) BOOST_REQUIRE_MESSAGE(c.start(), c.failure);

  std::atomic<bool> writing{true};
  std::mutex ids_mutex;
  std::map<const test::test_tenant*, std::vector<std::string>> committed_ids;
  std::vector<std::string> rolled_back_ids;
  std::atomic<int> transactions{0};
  std::function<void(unsigned)> write_until_stopped;
  std::string writer_failure;
  auto writer = [&](unsigned seed) {
    try {
      write_until_stopped(seed);
    } catch (const std::exception& e) {
      std::lock_guard lock(ids_mutex);
      writer_failure = e.what();
    }
  };
  write_until_stopped = [&](unsigned seed) {
    test::sql_session w;
    std::mt19937 rng(seed);
    static const char* statuses[] = {"pending", "success", "failed", "retrying"};
    while (writing) {
      const test::test_tenant* t = rng() % 3 == 0 ? &b : &a;
      std::vector<std::string> ids;
      std::string sql = "BEGIN;";
      {
        std::lock_guard lock(ids_mutex);
        auto& done = committed_ids[t];
        if (!done.empty() && rng() % 3 == 0) {
          // A change of an earlier attempt: a new event with its new state.
          sql += "UPDATE delivery_attempts SET status = '" + std::string(statuses[rng() % 4]) + "', is_dlq = " +
                 std::to_string(rng() % 2) + " WHERE id = " + test::quote(done[rng() % done.size()]) + ";";
        }
      }
      if (sql == "BEGIN;") {
        // New attempts, several per statement. (One data statement per
        // transaction: two would take the counters' row locks of migration
        // 0002 in different orders and deadlock now and then.)
        sql += "INSERT INTO delivery_attempts (id, org_id, env_id, event_id, connection_id, destination_id, "
               "request_url, request_method, status, is_dlq) VALUES ";
        const int rows = 1 + static_cast<int>(rng() % 4);
        for (int r = 0; r < rows; ++r) {
          ids.push_back("da_" + test::random_hex(32));
          sql += std::string(r ? "," : "") + "(" + test::quote(ids.back()) + "," + test::quote(t->org_id) + "," +
                 test::quote(t->env_id) + ",'evt_" + std::to_string(rng() % 50) + "'," +
                 test::quote(t->connection_ids[rng() % 2]) + "," + test::quote(t->destination_ids[rng() % 2]) +
                 ",'https://example.com','POST','" + statuses[rng() % 4] + "'," + std::to_string(rng() % 2) + ")";
        }
        sql += ";";
      }
      // Overlap with the other writers: the xid is taken now, the commit comes later.
      sql += "SELECT pg_sleep(" + std::to_string((rng() % 8) / 1000.0) + ");";
      bool rollback = rng() % 10 == 0;
      sql += rollback ? "ROLLBACK;" : "COMMIT;";
      try {
        w.exec(sql);
      } catch (const std::exception& e) {
        // Should PostgreSQL still abort one for a deadlock, it is just another
        // rolled-back transaction here.
        if (std::string(e.what()).find("deadlock detected") == std::string::npos) throw;
        w.exec("ROLLBACK");
        rollback = true;
      }
      std::lock_guard lock(ids_mutex);
      auto& into = rollback ? rolled_back_ids : committed_ids[t];
      into.insert(into.end(), ids.begin(), ids.end());
      ++transactions;
    }
  };
  std::vector<std::thread> writers;
  for (unsigned i = 0; i < 3; ++i) writers.emplace_back(writer, 1000 + i);

  // Clients drop and resume while the writers run, then until they have caught up.
  std::atomic<bool> settle{false};
  std::map<std::size_t, std::size_t> expected_counts;
  std::mutex expected_mutex;
  std::vector<std::thread> readers;
  for (std::size_t i = 0; i < clients.size(); ++i)
    readers.emplace_back([&, i] {
      auto& c = clients[i];
      std::mt19937 rng(c.seed);
      const auto give_up = std::chrono::steady_clock::now() + 90s;
      while (c.failure.empty() && std::chrono::steady_clock::now() < give_up) {
        if (settle) {
          std::lock_guard lock(expected_mutex);
          if (c.events.size() >= expected_counts[i]) break;
        }
        c.session(rng, 1 + static_cast<int>(rng() % 60), 300ms, std::chrono::milliseconds(50 + rng() % 700));
      }
    });
  std::this_thread::sleep_for(5s);
  writing = false;
  for (auto& w : writers) w.join();
  BOOST_TEST_MESSAGE(transactions << " transactions written");
  BOOST_TEST(writer_failure.empty(), writer_failure);
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const auto n = db.scalar("SELECT count(*) FROM attempt_events WHERE org_id = " + test::quote(specs[i].tenant->org_id) +
                             " AND env_id = " + test::quote(specs[i].tenant->env_id) + specs[i].where);
    std::lock_guard lock(expected_mutex);
    expected_counts[i] = std::stoul(*n);
  }
  settle = true;
  const auto settling = std::chrono::steady_clock::now();
  for (auto& r : readers) r.join();
  BOOST_TEST_MESSAGE("clients caught up in "
                     << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - settling).count()
                     << " ms");
  for (std::size_t i = 0; i < clients.size(); ++i)
    BOOST_TEST_MESSAGE("client " << i << ": " << clients[i].events.size() << " events of " << expected_counts[i]
                                 << ", " << clients[i].connections << " connections");

  std::set<std::string> rolled_back(rolled_back_ids.begin(), rolled_back_ids.end());
  BOOST_TEST(transactions > 100);
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const auto& c = clients[i];
    BOOST_TEST_CONTEXT("client " << i << " " << specs[i].query << " (" << c.connections << " connections, "
                                 << c.catch_ups_with_cursor_param << " resumed by ?cursor=)") {
      BOOST_TEST(c.failure.empty(), c.failure);
      BOOST_TEST(c.connections > 5);  // it really did drop and resume
      // Exactly the log's events of this tenant and filter, in log order.
      const auto ids = db.column("SELECT id || '/' || status FROM attempt_events WHERE org_id = " +
                                 test::quote(specs[i].tenant->org_id) + " AND env_id = " +
                                 test::quote(specs[i].tenant->env_id) + specs[i].where + " ORDER BY xid, seq");
      std::vector<received> expected;
      for (const auto& s : ids) expected.push_back({s.substr(0, s.find('/')), s.substr(s.find('/') + 1)});
      BOOST_TEST(expected.size() > 0u);
      BOOST_TEST(c.events.size() == expected.size());
      BOOST_TEST(c.events == expected, boost::test_tools::per_element());
      for (const auto& e : c.events) BOOST_TEST(!rolled_back.count(e.attempt_id), "rolled back: " << e.attempt_id);
    }
  }
  // An unfiltered client holds every committed row of its tenant, each in its
  // last committed state.
  for (std::size_t i : {std::size_t{0}, std::size_t{5}}) {
    std::map<std::string, std::string> last_state;
    for (const auto& e : clients[i].events) last_state[e.attempt_id] = e.status;
    const auto rows = db.column("SELECT id || '/' || status FROM delivery_attempts WHERE org_id = " +
                                test::quote(specs[i].tenant->org_id) + " AND env_id = " +
                                test::quote(specs[i].tenant->env_id));
    BOOST_TEST(rows.size() == last_state.size());
    for (const auto& r : rows)
      BOOST_TEST(last_state[r.substr(0, r.find('/'))] == r.substr(r.find('/') + 1), r);
    std::lock_guard lock(ids_mutex);
    BOOST_TEST(committed_ids[specs[i].tenant].size() == rows.size());
  }
}

BOOST_AUTO_TEST_SUITE_END()
