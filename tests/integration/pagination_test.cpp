// Keyset pagination end to end: cursor walks in both directions compared with
// the order PostgreSQL computes independently, under concurrent inserts, with
// random sizes, limits and filters; and every way a cursor can be refused.
#include "support/test_database.hpp"
#include "support/test_server.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <random>
#include <set>

using namespace hookstream;

namespace {

struct page {
  std::vector<std::string> ids;
  std::int64_t total = 0, offset = 0;
  bool has_more = false;
  std::string next, prev;  // empty = null
};

struct pagination_fixture {
  test::sql_session db;
  test::test_tenant tenant = test::make_tenant(db);
  test::test_server server{1};

  page get(const std::string& query) {
    auto r = server.get("/v1/delivery-attempts?" + query, {test::api_key_header(tenant.api_key)});
    BOOST_REQUIRE_MESSAGE(r.status == 200, query << " -> " << r.status << " " << r.body);
    const auto doc = r.json();
    page p;
    for (auto& a : doc.at("delivery_attempts").as_array()) p.ids.emplace_back(a.at("id").as_string());
    const auto& pg = doc.at("pagination");
    p.total = pg.at("total").as_int64();
    p.offset = pg.at("offset").as_int64();
    p.has_more = pg.at("has_more").as_bool();
    if (!pg.at("next_cursor").is_null()) p.next = pg.at("next_cursor").as_string();
    if (!pg.at("prev_cursor").is_null()) p.prev = pg.at("prev_cursor").as_string();
    return p;
  }
  unsigned status_of(const std::string& query) {
    return server.get("/v1/delivery-attempts?" + query, {test::api_key_header(tenant.api_key)}).status;
  }
  std::vector<std::string> expected(const std::string& where = "") {
    return db.column("SELECT id FROM delivery_attempts WHERE org_id = " + test::quote(tenant.org_id) +
                     " AND env_id = " + test::quote(tenant.env_id) + (where.empty() ? "" : " AND " + where) +
                     " ORDER BY created_at DESC, id DESC");
  }
  // Walks next_cursor from the first page to the end; returns the pages.
  std::vector<page> walk_forward(const std::string& filters, int limit) {
    std::vector<page> pages{get(filters + "&limit=" + std::to_string(limit))};
    while (!pages.back().next.empty()) {
      BOOST_REQUIRE(pages.size() < 10000);
      pages.push_back(get(filters + "&limit=" + std::to_string(limit) + "&cursor=" + pages.back().next));
    }
    return pages;
  }
};

std::vector<test::attempt_spec> random_rows(std::mt19937& rng, const test::test_tenant& t, int n) {
  const char* statuses[] = {"success", "failed", "pending", "retrying"};
  std::vector<test::attempt_spec> rows(static_cast<std::size_t>(n));
  for (auto& r : rows) {
    r.event_id = "evt_" + std::to_string(rng() % 5);
    r.connection_id = t.connection_ids[rng() % 2];
    r.destination_id = t.destination_ids[rng() % 2];
    r.status = statuses[rng() % 4];
    r.is_dlq = rng() % 10 == 0 ? 1 : 0;
    // Few distinct timestamps, so ties (decided by id) are everywhere.
    r.created_at = "2026-11-" + std::to_string(10 + rng() % 5) + " 10:00:0" + std::to_string(rng() % 3) + "+00";
  }
  return rows;
}

std::string url_escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '_' || c == '-') out += static_cast<char>(c);
    else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(pagination, pagination_fixture)

BOOST_AUTO_TEST_CASE(forward_and_backward_walks_match_sql_order) {
  std::mt19937 rng(7);
  test::insert_attempts(db, tenant, random_rows(rng, tenant, 137));
  const auto all = expected();
  for (int limit : {1, 7, 50, 100}) {
    BOOST_TEST_CONTEXT("limit " << limit) {
      const auto pages = walk_forward("", limit);
      std::vector<std::string> seen;
      std::int64_t position = 0;
      for (const auto& p : pages) {
        BOOST_TEST(p.total == 137);
        BOOST_TEST(p.offset == position);  // position of the page's first row
        BOOST_TEST(p.prev.empty() == (position == 0));
        seen.insert(seen.end(), p.ids.begin(), p.ids.end());
        position += static_cast<std::int64_t>(p.ids.size());
      }
      BOOST_TEST(seen == all, boost::test_tools::per_element());
      BOOST_TEST(!pages.back().has_more);

      // Back from the last page: the same pages, in reverse.
      std::size_t i = pages.size() - 1;
      page current = pages.back();
      while (!current.prev.empty()) {
        current = get("limit=" + std::to_string(limit) + "&cursor=" + current.prev);
        BOOST_REQUIRE(i > 0);
        --i;
        BOOST_TEST(current.ids == pages[i].ids, boost::test_tools::per_element());
        BOOST_TEST(current.offset == pages[i].offset);
        BOOST_TEST(current.has_more);
      }
      BOOST_TEST(i == 0u);
    }
  }
}

BOOST_AUTO_TEST_CASE(limit_may_change_between_pages_and_offset_pages_carry_cursors) {
  std::mt19937 rng(11);
  test::insert_attempts(db, tenant, random_rows(rng, tenant, 60));
  const auto all = expected();
  // Jump with offset once, then follow cursors with varying limits.
  auto p = get("limit=10&offset=25");
  BOOST_TEST(p.offset == 25);
  BOOST_REQUIRE(!p.next.empty());
  BOOST_REQUIRE(!p.prev.empty());
  std::vector<std::string> seen = p.ids;
  int limit = 3;
  while (!p.next.empty()) {
    p = get("limit=" + std::to_string(limit) + "&cursor=" + p.next);
    seen.insert(seen.end(), p.ids.begin(), p.ids.end());
    limit = limit % 17 + 4;
  }
  BOOST_TEST(seen == std::vector<std::string>(all.begin() + 25, all.end()), boost::test_tools::per_element());
  // And back from the offset page.
  auto back = get("limit=10&offset=25");
  auto prev = get("limit=25&cursor=" + back.prev);
  BOOST_TEST(prev.ids == std::vector<std::string>(all.begin(), all.begin() + 25), boost::test_tools::per_element());
  BOOST_TEST(prev.offset == 0);
  BOOST_TEST(prev.prev.empty());
}

BOOST_AUTO_TEST_CASE(random_sizes_limits_and_filters) {
  std::random_device rd;
  const unsigned seed = rd();
  BOOST_TEST_MESSAGE("seed " << seed);
  std::mt19937 rng(seed);
  for (int round = 0; round < 6; ++round) {
    BOOST_TEST_CONTEXT("seed " << seed << " round " << round) {
      db.exec("DELETE FROM delivery_attempts WHERE org_id = " + test::quote(tenant.org_id));
      test::insert_attempts(db, tenant, random_rows(rng, tenant, static_cast<int>(rng() % 250)));
      std::string query = "x=1", where;
      auto add = [&](const std::string& q, const std::string& w) {
        query += "&" + q;
        where += (where.empty() ? "" : " AND ") + w;
      };
      if (rng() % 2) add("status=failed", "status = 'failed'");
      if (rng() % 3 == 0) add("connection_id=" + tenant.connection_ids[0], "connection_id = " + test::quote(tenant.connection_ids[0]));
      if (rng() % 3 == 0) add("destination_id=" + tenant.destination_ids[1], "destination_id = " + test::quote(tenant.destination_ids[1]));
      if (rng() % 4 == 0) add("event_id=evt_2", "event_id = 'evt_2'");
      if (rng() % 4 == 0) add("is_dlq=0", "coalesce(is_dlq, 0) = 0");
      const int limit = 1 + static_cast<int>(rng() % 40);
      BOOST_TEST_CONTEXT("query " << query << " limit " << limit) {
        const auto want = expected(where);
        const auto pages = walk_forward(query, limit);
        std::vector<std::string> seen;
        for (const auto& p : pages) {
          seen.insert(seen.end(), p.ids.begin(), p.ids.end());
          BOOST_TEST(p.total == static_cast<std::int64_t>(want.size()));
        }
        BOOST_TEST(seen == want, boost::test_tools::per_element());
        page current = pages.back();
        std::vector<std::string> backwards(current.ids.rbegin(), current.ids.rend());
        while (!current.prev.empty()) {
          current = get(query + "&limit=" + std::to_string(limit) + "&cursor=" + current.prev);
          backwards.insert(backwards.end(), current.ids.rbegin(), current.ids.rend());
        }
        BOOST_TEST(std::vector<std::string>(backwards.rbegin(), backwards.rend()) == want,
                   boost::test_tools::per_element());
      }
    }
  }
}

// Writers keep inserting while a client walks: rows newer than everything, and
// rows with exactly the created_at of the row a page ended on (ids on both sides
// of it). Every attempt that existed at the start is seen exactly once, in order.
BOOST_AUTO_TEST_CASE(walks_are_stable_under_concurrent_inserts) {
  std::vector<test::attempt_spec> rows(90);
  for (std::size_t i = 0; i < rows.size(); ++i)
    rows[i].created_at = "2026-11-20 10:00:" + std::to_string(10 + i / 3) + "+00";  // ties of three
  test::insert_attempts(db, tenant, rows);
  const auto before = expected();
  const std::set<std::string> original(before.begin(), before.end());

  std::vector<std::string> seen;
  page p = get("limit=10");
  for (int step = 0;; ++step) {
    seen.insert(seen.end(), p.ids.begin(), p.ids.end());
    if (p.next.empty()) break;
    const std::string boundary_time =
        *db.scalar("SELECT created_at::text FROM delivery_attempts WHERE id = " + test::quote(p.ids.back()));
    // Same timestamp as the boundary row, ids sorting before and after it, plus a new newest row.
    test::insert_attempts(db, tenant,
                          {{.id = "da_0000" + test::random_hex(28), .created_at = boundary_time},
                           {.id = "da_ffff" + test::random_hex(28), .created_at = boundary_time},
                           {.created_at = "2027-01-01 00:00:0" + std::to_string(step % 10) + "+00"}});
    p = get("limit=10&cursor=" + p.next);
  }
  std::vector<std::string> seen_original;
  for (const auto& id : seen)
    if (original.count(id)) seen_original.push_back(id);
  BOOST_TEST(seen_original == before, boost::test_tools::per_element());
  std::set<std::string> unique(seen.begin(), seen.end());
  BOOST_TEST(unique.size() == seen.size());  // nothing twice
}

BOOST_AUTO_TEST_CASE(bad_cursors_are_400s_never_rows) {
  test::insert_attempts(db, tenant, {{}, {}, {}});
  const auto first = get("limit=1&status=success");
  BOOST_REQUIRE(!first.next.empty());
  const std::string good = first.next;
  BOOST_TEST(status_of("limit=1&status=success&cursor=" + good) == 200u);

  std::string edited = good;
  edited[edited.size() / 2] = edited[edited.size() / 2] == 'A' ? 'B' : 'A';
  const std::vector<std::string> bad{
      "cursor=" + edited,                                          // edited
      "cursor=" + good.substr(0, good.size() - 3),                 // truncated
      "cursor=" + good + "AA",                                     // extended
      "cursor=" + url_escape("' OR 1=1 --"),                       // garbage
      "cursor=eyJ2IjoxLCJpZCI6ImRhX3gifQ",                         // a JSON-looking forgery
      "cursor=" + good,                                            // other filters (none)
      "cursor=" + good + "&status=failed",                         // other filters
      "cursor=" + good + "&status=success&offset=1",               // with offset
  };
  for (const auto& q : bad) {
    BOOST_TEST_CONTEXT(q) {
      auto r = server.get("/v1/delivery-attempts?limit=1&" + q, {test::api_key_header(tenant.api_key)});
      BOOST_TEST(r.status == 400u);
      BOOST_TEST(r.json().at("status").as_int64() == 400);
      BOOST_TEST(r.body.find("delivery_attempts") == std::string::npos);
    }
  }
  auto other_filters = server.get("/v1/delivery-attempts?cursor=" + good + "&status=failed",
                                  {test::api_key_header(tenant.api_key)});
  BOOST_TEST(std::string(other_filters.json().at("error").as_string()).find("other filters") != std::string::npos);

  // Another tenant's key with this cursor: a 400, not their rows nor ours.
  auto other = test::make_tenant(db);
  test::insert_attempts(db, other, {{}, {}});
  auto foreign = server.get("/v1/delivery-attempts?status=success&cursor=" + good, {test::api_key_header(other.api_key)});
  BOOST_TEST(foreign.status == 400u);
}

BOOST_AUTO_TEST_CASE(a_cursor_next_to_deleted_rows_still_works) {
  std::mt19937 rng(3);
  test::insert_attempts(db, tenant, random_rows(rng, tenant, 30));
  const auto all = expected();
  auto p = get("limit=10");
  // The anchor row (last of the page) disappears; the next page is unaffected.
  db.exec("DELETE FROM delivery_attempts WHERE id = " + test::quote(p.ids.back()));
  auto next = get("limit=10&cursor=" + p.next);
  BOOST_TEST(next.ids == std::vector<std::string>(all.begin() + 10, all.begin() + 20), boost::test_tools::per_element());
  BOOST_TEST(next.total == 29);
}

BOOST_AUTO_TEST_SUITE_END()
