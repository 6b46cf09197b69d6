// list_attempts with an attempt_row_cache, against a real PostgreSQL: a page
// answered from the cache equals the page read whole in every paging mode and
// filter shape; a changed or deleted row shows on the very next page; a row
// that changes between the identity statement and the look-up by key makes the
// page read again whole (never a row of another snapshot); the cache stays
// within its bytes.
#include "support/run_coro.hpp"
#include "support/test_database.hpp"

#include <hookstream/storage/attempt_row_cache.hpp>

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <thread>

using namespace hookstream;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

auto soon() { return storage::clock::now() + 10s; }

// Every field of a row, as text.
std::string describe(const storage::delivery_attempt_view& a) {
  auto opt = [](const auto& v) -> std::string {
    if (!v) return "null";
    std::string out;  // (appended, not "\"" + ...: GCC 12 warns falsely, -Wrestrict)
    if constexpr (std::is_same_v<std::decay_t<decltype(*v)>, std::string_view>) {
      out += '"';
      out += *v;
      out += '"';
    } else {
      out = std::to_string(*v);
    }
    return out;
  };
  return std::string(a.id) + "|" + std::string(a.org_id) + "|" + std::string(a.env_id) + "|" +
         std::string(a.event_id) + "|" + std::string(a.connection_id) + "|" + std::string(a.destination_id) + "|" +
         std::string(a.request_url) + "|" + std::string(a.request_method) + "|" + opt(a.request_headers) + "|" +
         std::to_string(a.request_body_size) + "|" + opt(a.response_status) + "|" + opt(a.response_headers) + "|" +
         opt(a.response_body) + "|" + opt(a.duration_ms) + "|" + std::string(a.status) + "|" + opt(a.error) + "|" +
         std::to_string(a.created_at) + "|" + opt(a.attempt_number) + "|" + opt(a.next_retry_at) + "|" +
         opt(a.is_dlq) + "|" + opt(a.dlq_at) + "|" + opt(a.trigger_type);
}

// A page as text: its rows, then total and the two flags.
std::vector<std::string> describe(const storage::attempt_page& page) {
  std::vector<std::string> out;
  for (int i = 0; i < page.rows.size(); ++i) out.push_back(describe(page.rows[i]));
  out.push_back("total " + std::to_string(page.total) + " more " + std::to_string(page.has_more) + " before " +
                std::to_string(page.has_before));
  return out;
}

std::vector<std::string> read_page(const test::test_tenant& t, const storage::page_request& req,
                                   storage::attempt_row_cache* cache) {
  asio::io_context io(test::io_concurrency_hint());
  return test::run_on(io, [&]() -> asio::awaitable<std::vector<std::string>> {
    storage::pg_connection conn(io.get_executor());
    BOOST_REQUIRE(co_await conn.connect(test::database_url(), soon()));
    auto page = co_await storage::list_attempts(conn, t.id(), req, soon(), cache);
    BOOST_REQUIRE(page);
    co_return describe(*page);
  });
}

// A tenant with `n` attempts a minute apart, every third failed, on two routes;
// some with large fields of multi-byte characters (cut at a small cap).
test::test_tenant tenant_with_attempts(test::sql_session& db, int n) {
  auto t = test::make_tenant(db);
  db.exec(test::generated_attempts(t, 0, "'da_' || md5(g::text || " + test::quote(t.env_id) + ")", "success",
                                   "'2026-11-01 00:00+00'::timestamptz + g * interval '1 minute'", 1, n));
  db.exec("UPDATE delivery_attempts SET status = 'failed', connection_id = " + test::quote(t.connection_ids[1]) +
          " WHERE org_id = " + test::quote(t.org_id) + " AND env_id = " + test::quote(t.env_id) +
          " AND extract(minute FROM created_at)::int % 3 = 0");
  db.exec("UPDATE delivery_attempts SET request_headers = repeat('é', 40), response_body = convert_to(repeat('ü', "
          "30), 'UTF8'), error = 'e' WHERE org_id = " + test::quote(t.org_id) + " AND env_id = " +
          test::quote(t.env_id) + " AND extract(minute FROM created_at)::int % 7 = 0");
  return t;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(attempt_row_cache)

BOOST_AUTO_TEST_CASE(pages_from_the_cache_equal_pages_read_whole_in_every_mode_and_shape) {
  test::sql_session db;
  const auto t = tenant_with_attempts(db, 320);
  const storage::unix_micros anchor_time = 1793491200000000LL + 100 * 60'000'000LL;  // 2026-11-01 01:40Z
  const auto anchor_id = db.scalar("SELECT id FROM delivery_attempts WHERE org_id = " + test::quote(t.org_id) +
                                   " AND created_at = '2026-11-01 01:40+00'");
  BOOST_REQUIRE(anchor_id);

  struct variant {
    const char* name;
    storage::page_request req;
  };
  std::vector<variant> variants;
  auto add = [&](const char* name, auto set) {
    storage::page_request r;
    r.max_field_bytes = 9;  // cuts the large fields, inside a character
    set(r);
    variants.push_back({name, std::move(r)});
  };
  add("first page", [](auto&) {});
  add("offset 20", [](auto& r) { r.offset = 20; });
  add("deep offset", [](auto& r) { r.offset = 250; });
  add("after", [&](auto& r) {
    r.mode = storage::page_mode::after;
    r.anchor = {anchor_time, *anchor_id};
  });
  add("before", [&](auto& r) {
    r.mode = storage::page_mode::before;
    r.anchor = {anchor_time, *anchor_id};
    r.limit = 30;
  });
  add("failed", [](auto& r) { r.filter.status = {"failed"}; });
  add("two statuses, two connections", [&](auto& r) {
    r.filter.status = {"failed", "retrying"};
    r.filter.connection_id = {t.connection_ids[1], t.connection_ids[0]};
  });
  add("event (page alone first)", [](auto& r) { r.filter.event_id = {"evt"}; });
  add("range", [&](auto& r) {
    r.filter.created_after = anchor_time - 3'600'000'000LL;
    r.filter.created_before = anchor_time;
  });

  storage::attempt_row_cache cache;
  for (const auto& v : variants) {
    BOOST_TEST_CONTEXT(v.name) {
      const auto whole = read_page(t, v.req, nullptr);
      BOOST_REQUIRE_GT(whole.size(), 1u);
      const auto cached_before = cache.pages().all_cached;
      for (int round = 0; round < 6; ++round) {
        const auto page = read_page(t, v.req, &cache);
        BOOST_TEST(page == whole, boost::test_tools::per_element());
      }
      // After the first reads filled it, the cache answered pages whole.
      BOOST_TEST(cache.pages().all_cached > cached_before);
    }
  }
  BOOST_TEST(cache.pages().read_again == 0u);  // nothing changed meanwhile
}

BOOST_AUTO_TEST_CASE(a_changed_or_deleted_row_shows_on_the_very_next_page) {
  test::sql_session db;
  const auto t = tenant_with_attempts(db, 60);
  storage::attempt_row_cache cache;
  storage::page_request req;
  for (int round = 0; round < 4; ++round) read_page(t, req, &cache);
  BOOST_REQUIRE_GT(cache.pages().all_cached, 0u);  // the page is answered from the cache
  const auto id = db.scalar("SELECT id FROM delivery_attempts WHERE org_id = " + test::quote(t.org_id) +
                            " ORDER BY created_at DESC OFFSET 3 LIMIT 1");
  BOOST_REQUIRE(id);

  db.exec("UPDATE delivery_attempts SET status = 'retrying', response_status = 503, error = 'changed' WHERE id = " +
          test::quote(*id) + " AND org_id = " + test::quote(t.org_id));
  const auto misses = cache.misses();
  const auto by_key = cache.pages().completed_by_key;
  auto page = read_page(t, req, &cache);
  BOOST_TEST(page == read_page(t, req, nullptr), boost::test_tools::per_element());
  BOOST_TEST(page.at(3).find("|503|") != std::string::npos);
  BOOST_TEST(page.at(3).find("|retrying|\"changed\"|") != std::string::npos);
  BOOST_TEST(cache.misses() == misses + 1);  // only the changed row was read again
  BOOST_TEST(cache.pages().completed_by_key == by_key + 1);

  db.exec("DELETE FROM delivery_attempts WHERE id = " + test::quote(*id) + " AND org_id = " + test::quote(t.org_id));
  page = read_page(t, req, &cache);
  BOOST_TEST(page == read_page(t, req, nullptr), boost::test_tools::per_element());
  for (const auto& row : page) BOOST_TEST(row.find(*id) == std::string::npos);
}

// A row that changes between the page's identities and the look-up of the rows
// the cache lacks must not be shown in its new version (it might no longer
// match the filter): the page is read again, whole. A writer flips one row
// between failed and success as fast as it can while pages of failed attempts
// are read; every row of every page must be a failed one.
BOOST_AUTO_TEST_CASE(a_row_changed_between_the_two_statements_makes_the_page_read_again_whole) {
  test::sql_session db;
  const auto t = tenant_with_attempts(db, 150);
  const auto id = db.scalar("SELECT id FROM delivery_attempts WHERE org_id = " + test::quote(t.org_id) +
                            " AND status = 'failed' ORDER BY created_at DESC LIMIT 1");
  BOOST_REQUIRE(id);
  storage::attempt_row_cache cache;
  storage::page_request req;
  req.filter.status = {"failed"};
  for (int round = 0; round < 4; ++round) read_page(t, req, &cache);
  BOOST_REQUIRE_GT(cache.pages().all_cached, 0u);  // the page is answered from the cache

  std::atomic<bool> stop{false};
  std::thread writer([&] {
    test::sql_session w;
    for (int i = 0; !stop; ++i)
      w.exec("UPDATE delivery_attempts SET status = '" + std::string(i % 2 ? "failed" : "success") +
             "' WHERE id = " + test::quote(*id) + " AND org_id = " + test::quote(t.org_id));
  });
  const auto until = std::chrono::steady_clock::now() + 20s;
  int pages = 0;
  while (cache.pages().read_again < 3 && std::chrono::steady_clock::now() < until) {
    const auto page = read_page(t, req, &cache);
    ++pages;
    for (std::size_t i = 0; i + 1 < page.size(); ++i)
      BOOST_TEST(page[i].find("|failed|") != std::string::npos, "page " << pages << ": " << page[i]);
  }
  stop = true;
  writer.join();
  BOOST_TEST_MESSAGE(pages << " pages, " << cache.pages().read_again << " read again whole, "
                           << cache.pages().completed_by_key << " completed by key");
  BOOST_TEST(cache.pages().read_again >= 3u);
}

BOOST_AUTO_TEST_CASE(the_cache_stays_within_its_bytes) {
  test::sql_session db;
  const auto t = tenant_with_attempts(db, 200);
  db.exec("UPDATE delivery_attempts SET request_headers = repeat('h', 1000) WHERE org_id = " +
          test::quote(t.org_id) + " AND env_id = " + test::quote(t.env_id));
  storage::attempt_row_cache cache({.max_bytes = 20000, .ttl = 60s});
  for (int offset : {0, 50, 100, 0, 150, 0}) {
    storage::page_request req;
    req.offset = offset;
    read_page(t, req, &cache);  // a page read once keeps nothing; read again, it keeps its rows
    const auto page = read_page(t, req, &cache);
    BOOST_TEST(page == read_page(t, req, nullptr), boost::test_tools::per_element());
    BOOST_TEST(cache.bytes() <= 20000u);
    BOOST_TEST(cache.size() > 0u);
    BOOST_TEST(cache.size() < 20u);  // each row costs over 1,000 bytes
  }
}

BOOST_AUTO_TEST_SUITE_END()
