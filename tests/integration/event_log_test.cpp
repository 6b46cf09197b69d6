// The live tail's event log against a real PostgreSQL: pruning as the server
// runs it (the pool's session settings, generic plans forced).
#include "support/run_coro.hpp"
#include "support/test_database.hpp"

#include <hookstream/storage/attempt_event_log.hpp>
#include <hookstream/storage/connection_pool.hpp>
#include <hookstream/storage/migrations.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

using namespace hookstream;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {
auto soon() { return storage::clock::now() + 30s; }
}  // namespace

BOOST_AUTO_TEST_SUITE(event_log)

// A prune deletes one batch of the oldest events by probing the log's primary
// key. The hub's session forces generic plans, and the generic plan of a batch
// passed as `LIMIT $n` (reckoned at a tenth of the log) joined it to the log by
// hashing every event: 676 ms per 5,000 events of a 2.8M-event log, and so a
// core busy for seconds at every prune interval. Counted here as the log rows a
// prune reads by sequential scans (pg_stat_xact_user_tables, inside the prune's
// transaction), not timed. A database of its own: pruning is global.
BOOST_AUTO_TEST_CASE(a_prune_reads_its_batch_not_the_whole_log) {
  const test::scratch_database scratch("hookstream_events");
  BOOST_REQUIRE(storage::migrate_database(scratch.url(), 60s));
  test::sql_session db(scratch.url());
  const auto t = test::make_tenant(db);
  // The log many times a batch, as in the server (5,000 of millions); for a log
  // only a few batches long, hashing it may rightly be the cheaper join.
  constexpr int logged = 40000, batch = 500;
  db.exec(test::generated_attempts(t, 0, "'da_' || g", "success", "now() - g * interval '1 second'", 1, logged));
  db.exec("ANALYZE attempt_events");
  BOOST_REQUIRE(*db.scalar("SELECT count(*) FROM attempt_events") == std::to_string(logged));
  const std::string last_event =
      *db.scalar("SELECT xid || '/' || seq FROM attempt_events ORDER BY xid DESC, seq DESC LIMIT 1");

  asio::io_context io(test::io_concurrency_hint());
  test::run_on(io, [&]() -> asio::awaitable<void> {
    storage::pg_connection conn(io.get_executor());
    BOOST_REQUIRE(co_await conn.connect(scratch.url(), soon()));
    BOOST_REQUIRE(co_await conn.execute_script(storage::session_settings_sql(30s), soon()));
    const auto seq_read = [&]() -> asio::awaitable<std::int64_t> {
      auto r = co_await conn.execute(
          "SELECT seq_tup_read FROM pg_stat_xact_user_tables WHERE relid = 'attempt_events'::regclass", {},
          storage::result_format::binary, soon());
      BOOST_REQUIRE(r);
      co_return r->integer(0, 0);
    };
    // Retention 0: every event committed before the prune's transaction is due.
    for (int round = 0; round < 3; ++round) {
      BOOST_REQUIRE(co_await conn.execute_script("BEGIN", soon()));
      const std::int64_t before = co_await seq_read();
      auto gone = co_await storage::prune_events(conn, 0s, batch, soon());
      const std::int64_t read = co_await seq_read() - before;
      BOOST_REQUIRE(co_await conn.execute_script("COMMIT", soon()));
      BOOST_REQUIRE(gone);
      BOOST_TEST(*gone == batch);
      BOOST_TEST(read == 0, "round " << round << ": the prune read " << read << " events by sequential scans");
    }
    // The rest, and the pruned position is the last event's.
    for (;;) {
      auto gone = co_await storage::prune_events(conn, 0s, batch, soon());
      BOOST_REQUIRE(gone);
      if (*gone < batch) break;
    }
    auto pruned = co_await storage::read_pruned_position(conn, soon());
    BOOST_REQUIRE(pruned);
    BOOST_TEST(std::to_string(pruned->xid) + "/" + std::to_string(pruned->seq) == last_event);
  });
  BOOST_TEST(*db.scalar("SELECT count(*) FROM attempt_events") == "0");
}

// The hub's check for writers that may have skipped their NOTIFY: open
// transactions that hold an xid, in this database only. A database of its own,
// so that "none" can be asserted while other tests write elsewhere.
BOOST_AUTO_TEST_CASE(open_writers_are_seen_until_they_end_and_readers_are_not_writers) {
  const test::scratch_database scratch("hookstream_writers");
  BOOST_REQUIRE(storage::migrate_database(scratch.url(), 60s));
  test::sql_session other(scratch.url()), elsewhere;  // `elsewhere`: the shared test database
  const auto t = test::make_tenant(other);
  asio::io_context io(test::io_concurrency_hint());
  test::run_on(io, [&]() -> asio::awaitable<void> {
    storage::pg_connection conn(io.get_executor());
    BOOST_REQUIRE(co_await conn.connect(scratch.url(), soon()));
    const auto open = [&]() -> asio::awaitable<bool> {
      auto r = co_await storage::writers_in_progress(conn, soon());
      BOOST_REQUIRE(r);
      co_return *r;
    };
    BOOST_TEST(!co_await open());
    other.exec("BEGIN");
    other.exec("SELECT count(*) FROM delivery_attempts");  // reads take no xid
    BOOST_TEST(!co_await open());
    test::insert_attempts(other, t, {{.event_id = "evt_open_writer"}});
    BOOST_TEST(co_await open());
    BOOST_TEST(co_await open(), "still open: asked again");
    other.exec("COMMIT");
    BOOST_TEST(!co_await open());
    elsewhere.exec("BEGIN");
    elsewhere.exec("CREATE TEMP TABLE writes_elsewhere (a int)");
    BOOST_TEST(!co_await open(), "a writer of another database does not count");
    elsewhere.exec("ROLLBACK");
    // Its own write does not count either (the hub asks outside transactions,
    // but an embedder might not).
    BOOST_REQUIRE(co_await conn.execute_script("BEGIN; CREATE TEMP TABLE mine (a int)", soon()));
    BOOST_TEST(!co_await open());
    BOOST_REQUIRE(co_await conn.execute_script("ROLLBACK", soon()));
  });
}

// Changes of one attempt are in the log in the order they were made, also when
// the later change comes from the older transaction: one that took its xid
// first and changes the row after a younger one has committed its own change
// (the row lock orders the two changes; the xids do not). Ordered by the
// writers' xids alone, the attempt's last event in the log would be the younger
// transaction's state while the row holds the older one's, and a stream's
// client would be left with a state the attempt no longer has. Read as the
// hub reads (read_events, from the start); a database of its own, so that
// the log holds only this test's events.
BOOST_AUTO_TEST_CASE(changes_of_one_attempt_are_logged_in_the_order_they_were_made) {
  const test::scratch_database scratch("hookstream_row_order");
  BOOST_REQUIRE(storage::migrate_database(scratch.url(), 60s));
  test::sql_session db(scratch.url()), older(scratch.url()), younger(scratch.url());
  const auto t = test::make_tenant(db);
  const std::string id = test::insert_attempts(db, t, {{.status = "pending"}}).front();
  const std::string where = " WHERE id = " + test::quote(id);
  older.exec("BEGIN");
  const std::string older_xid = *older.scalar("SELECT pg_current_xact_id()");  // takes its xid now
  younger.exec("UPDATE delivery_attempts SET status = 'failed'" + where);      // commits first
  older.exec("UPDATE delivery_attempts SET status = 'success'" + where);
  older.exec("COMMIT");
  BOOST_TEST(std::stoull(older_xid) < std::stoull(*younger.scalar("SELECT max(xid)::text::int8 FROM attempt_events")));
  BOOST_TEST(*db.scalar("SELECT status FROM delivery_attempts" + where) == "success");

  asio::io_context io(test::io_concurrency_hint());
  std::vector<std::string> statuses;
  std::vector<storage::event_position> positions;
  test::run_on(io, [&]() -> asio::awaitable<void> {
    storage::pg_connection conn(io.get_executor());
    BOOST_REQUIRE(co_await conn.connect(scratch.url(), soon()));
    auto batch = co_await storage::read_events(conn, {}, {}, soon());
    BOOST_REQUIRE(batch);
    for (int i = 0; i < batch->rows.size(); ++i) {
      if (batch->rows[i].id != id) continue;
      statuses.emplace_back(batch->rows[i].status);
      positions.push_back(batch->positions[static_cast<std::size_t>(i)]);
    }
  });
  BOOST_TEST(statuses == (std::vector<std::string>{"pending", "failed", "success"}), boost::test_tools::per_element());
  BOOST_TEST(std::is_sorted(positions.begin(), positions.end()));
}

// An existing database at migration 0043, its log already holding events,
// takes 0044 in place: one migration runs, the events stay where they were,
// and from then on an older transaction's change of an attempt is logged after
// a younger one's. (0043's state is made by putting 0040's trigger function
// back and forgetting 0044.)
BOOST_AUTO_TEST_CASE(an_existing_database_takes_migration_0044) {
  const test::scratch_database scratch("hookstream_0044");
  BOOST_REQUIRE(storage::migrate_database(scratch.url(), 60s));
  test::sql_session db(scratch.url()), older(scratch.url()), younger(scratch.url());
  std::ifstream in(std::string(HOOKSTREAM_SOURCE_DIR) + "/storage/migrations/0040_live_tail_notify_once.sql");
  BOOST_REQUIRE(in);
  db.exec(std::string(std::istreambuf_iterator<char>(in), {}));
  db.exec("DELETE FROM hookstream_migrations WHERE version = 44");
  const auto t = test::make_tenant(db);
  const std::string id = test::insert_attempts(db, t, {{.status = "pending"}}).front();
  const std::string where = " WHERE id = " + test::quote(id);
  db.exec("UPDATE delivery_attempts SET status = 'retrying'" + where);
  const auto whole_log = [&] {
    return *db.scalar("SELECT string_agg(xid || '/' || seq || '/' || status, ',' ORDER BY xid, seq) "
                      "FROM attempt_events");
  };
  const std::string logged_before = whole_log();

  auto applied = storage::migrate_database(scratch.url(), 60s);
  BOOST_REQUIRE(applied);
  BOOST_TEST(*applied == 1);
  BOOST_TEST(*db.scalar("SELECT max(version) FROM hookstream_migrations") == "44");
  BOOST_TEST(whole_log() == logged_before);

  older.exec("BEGIN");
  older.scalar("SELECT pg_current_xact_id()");
  younger.exec("UPDATE delivery_attempts SET status = 'failed'" + where);
  older.exec("UPDATE delivery_attempts SET status = 'success'" + where);
  older.exec("COMMIT");
  BOOST_TEST(*db.scalar("SELECT string_agg(status, ',' ORDER BY xid, seq) FROM attempt_events" + where) ==
             "pending,retrying,failed,success");
}

// 0044's look-up of an updated attempt's later events reads the log by index,
// only the events above the writer's xid: an update of one attempt in a log of
// many events reads none of them by sequential scan (pg_stat_xact_user_tables
// inside the updating transaction), and few by index.
BOOST_AUTO_TEST_CASE(an_update_looks_up_later_events_by_index_not_the_whole_log) {
  const test::scratch_database scratch("hookstream_0044_plan");
  BOOST_REQUIRE(storage::migrate_database(scratch.url(), 60s));
  test::sql_session db(scratch.url());
  const auto t = test::make_tenant(db);
  constexpr int logged = 20000;
  db.exec(test::generated_attempts(t, 0, "'da_' || g", "pending", "now() - g * interval '1 second'", 1, logged));
  db.exec("ANALYZE attempt_events");
  const auto read = [&](const char* column) {
    return std::stoll(*db.scalar(std::string("SELECT coalesce(") + column + ", 0) FROM pg_stat_xact_user_tables "
                                 "WHERE relid = 'attempt_events'::regclass"));
  };
  for (const char* id : {"da_1", "da_777", "da_20000"}) {
    db.exec("BEGIN");
    const std::int64_t seq0 = read("seq_tup_read"), idx0 = read("idx_tup_fetch");
    db.exec(std::string("UPDATE delivery_attempts SET status = 'failed' WHERE id = '") + id + "'");
    const std::int64_t seq1 = read("seq_tup_read"), idx1 = read("idx_tup_fetch");
    db.exec("COMMIT");
    BOOST_TEST_CONTEXT(id) {
      BOOST_TEST(seq1 - seq0 == 0);  // no sequential scan of the log
      BOOST_TEST(idx1 - idx0 <= 10);  // and not the tenant's whole log by index either
    }
  }
  BOOST_TEST(*db.scalar("SELECT count(*) FROM attempt_events") == std::to_string(logged + 3));
}

BOOST_AUTO_TEST_SUITE_END()
