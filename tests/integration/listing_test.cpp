// GET /v1/delivery-attempts and /v1/delivery-attempts/{id} end to end: a real
// server, a real PostgreSQL, rows the test inserted.
#include "support/test_database.hpp"
#include "support/test_server.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>

using namespace hookstream;
namespace json = boost::json;

namespace {

struct listing_fixture {
  test::sql_session db;
  test::test_tenant tenant = test::make_tenant(db);
  test::test_server server{1};

  test::http_result get(const std::string& target) {
    return server.get(target, {test::api_key_header(tenant.api_key)});
  }
  std::vector<std::string> ids_of(const test::http_result& r) {
    std::vector<std::string> ids;
    const auto doc = r.json();  // (a range-for over r.json().at(...) would dangle)
    for (auto& a : doc.at("delivery_attempts").as_array()) ids.emplace_back(a.at("id").as_string());
    return ids;
  }
  // The expected order, computed independently by PostgreSQL.
  std::vector<std::string> expected(const std::string& where, int limit = 100, int offset = 0) {
    return db.column("SELECT id FROM delivery_attempts WHERE org_id = " + test::quote(tenant.org_id) +
                     " AND env_id = " + test::quote(tenant.env_id) + (where.empty() ? "" : " AND " + where) +
                     " ORDER BY created_at DESC, id DESC LIMIT " + std::to_string(limit) + " OFFSET " +
                     std::to_string(offset));
  }
  std::int64_t expected_total(const std::string& where) {
    return std::stoll(*db.scalar("SELECT count(*) FROM delivery_attempts WHERE org_id = " +
                                 test::quote(tenant.org_id) + " AND env_id = " + test::quote(tenant.env_id) +
                                 (where.empty() ? "" : " AND " + where)));
  }
};

const std::vector<std::string> field_order{
    "id",           "org_id",          "env_id",           "event_id",        "connection_id",  "destination_id",
    "request_url",  "request_method",  "request_headers",  "request_body_size", "response_status",
    "response_headers", "response_body", "duration_ms",    "status",          "error",          "created_at",
    "attempt_number", "next_retry_at", "is_dlq",           "dlq_at",          "trigger_type",   "connection_name",
    "destination_name"};

void check_error_body(const test::http_result& r, unsigned status) {
  BOOST_TEST(r.status == status);
  BOOST_TEST(r.header("content-type") == "application/json");
  auto body = r.json().as_object();
  BOOST_TEST(body.size() == 3u);
  BOOST_TEST(body.at("status").as_int64() == status);
  BOOST_TEST(!body.at("error").as_string().empty());
  BOOST_TEST(std::string(body.at("request_id").as_string()) == r.header("x-request-id"));
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(listing, listing_fixture)

BOOST_AUTO_TEST_CASE(every_field_in_order_with_its_type) {
  const std::string id = "da_" + test::random_hex(32);
  db.exec(
      "INSERT INTO delivery_attempts VALUES (" + test::quote(id) + ", " + test::quote(tenant.org_id) + ", " +
      test::quote(tenant.env_id) + ", 'evt_1', " + test::quote(tenant.connection_ids[1]) + ", " +
      test::quote(tenant.destination_ids[1]) +
      ", 'https://example.com/a?b=1', 'PUT', '{\"content-type\":\"application/json\"}', 1234, 502, "
      "'{\"server\":\"nginx\"}', convert_to('<html>bad gateway</html>', 'UTF8'), 2871, 'failed', "
      "'upstream answered 502', '2026-11-28 08:39:52.929871+00', 3, '2026-11-28 09:39:52.5+00', 1, "
      "'2026-11-28 08:40:00+00', 'retry')");
  auto r = get("/v1/delivery-attempts");
  BOOST_REQUIRE(r.status == 200);
  BOOST_TEST(r.header("content-type") == "application/json");
  auto doc = r.json().as_object();
  // Top level: the two keys of the seed, in its order.
  BOOST_TEST(doc.size() == 2u);
  BOOST_TEST(doc.begin()->key() == "delivery_attempts");
  auto& a = doc.at("delivery_attempts").as_array().at(0).as_object();
  std::vector<std::string> keys;
  for (auto& kv : a) keys.emplace_back(kv.key());
  BOOST_TEST(keys == field_order, boost::test_tools::per_element());

  BOOST_TEST(a.at("id").as_string() == id);
  BOOST_TEST(a.at("org_id").as_string() == tenant.org_id);
  BOOST_TEST(a.at("env_id").as_string() == tenant.env_id);
  BOOST_TEST(a.at("event_id").as_string() == "evt_1");
  BOOST_TEST(a.at("connection_id").as_string() == tenant.connection_ids[1]);
  BOOST_TEST(a.at("destination_id").as_string() == tenant.destination_ids[1]);
  BOOST_TEST(a.at("request_url").as_string() == "https://example.com/a?b=1");
  BOOST_TEST(a.at("request_method").as_string() == "PUT");
  // Header JSON travels as a string holding the object, exactly as stored.
  BOOST_TEST(a.at("request_headers").as_string() == "{\"content-type\":\"application/json\"}");
  BOOST_TEST(a.at("request_body_size").as_int64() == 1234);
  BOOST_TEST(a.at("response_status").as_int64() == 502);
  BOOST_TEST(a.at("response_headers").as_string() == "{\"server\":\"nginx\"}");
  BOOST_TEST(a.at("response_body").as_string() == "<html>bad gateway</html>");
  BOOST_TEST(a.at("duration_ms").as_int64() == 2871);
  BOOST_TEST(a.at("status").as_string() == "failed");
  BOOST_TEST(a.at("error").as_string() == "upstream answered 502");
  BOOST_TEST(a.at("created_at").as_string() == "2026-11-28T08:39:52.929Z");
  BOOST_TEST(a.at("attempt_number").as_int64() == 3);
  BOOST_TEST(a.at("next_retry_at").as_string() == "2026-11-28T09:39:52.500Z");
  BOOST_TEST(a.at("is_dlq").is_int64());
  BOOST_TEST(a.at("is_dlq").as_int64() == 1);
  BOOST_TEST(a.at("dlq_at").as_string() == "2026-11-28T08:40:00.000Z");
  BOOST_TEST(a.at("trigger_type").as_string() == "retry");
  BOOST_TEST(a.at("connection_name").as_string() == "Connection B");
  BOOST_TEST(a.at("destination_name").as_string() == "Destination B");

  auto& p = doc.at("pagination").as_object();
  std::vector<std::string> pkeys;
  for (auto& kv : p) pkeys.emplace_back(kv.key());
  BOOST_TEST(pkeys == (std::vector<std::string>{"total", "limit", "offset", "has_more", "next_cursor", "prev_cursor"}),
             boost::test_tools::per_element());
  BOOST_TEST(p.at("total").as_int64() == 1);
  BOOST_TEST(p.at("limit").as_int64() == 50);
  BOOST_TEST(p.at("offset").as_int64() == 0);
  BOOST_TEST(p.at("has_more").as_bool() == false);
}

BOOST_AUTO_TEST_CASE(nullable_fields_are_null_not_missing) {
  const std::string id = "da_" + test::random_hex(32);
  db.exec("INSERT INTO delivery_attempts (id, org_id, env_id, event_id, connection_id, destination_id, request_url, "
          "request_method, status, created_at) VALUES (" +
          test::quote(id) + ", " + test::quote(tenant.org_id) + ", " + test::quote(tenant.env_id) +
          ", 'evt_2', 'conn_gone', 'dst_gone', 'https://x', 'POST', 'pending', now())");
  auto r = get("/v1/delivery-attempts");
  BOOST_REQUIRE(r.status == 200);
  auto doc = r.json();
  auto& a = doc.at("delivery_attempts").as_array().at(0).as_object();
  BOOST_TEST(a.size() == field_order.size());
  for (const char* f : {"request_headers", "response_status", "response_headers", "response_body", "duration_ms",
                        "error", "attempt_number", "next_retry_at", "is_dlq", "dlq_at", "trigger_type",
                        "connection_name", "destination_name"})
    BOOST_TEST(a.at(f).is_null(), f);
  BOOST_TEST(a.at("request_body_size").as_int64() == 0);
}

// libpq reports a null's length as 0, like an empty value's: the nullable text
// fields must still tell the two apart.
BOOST_AUTO_TEST_CASE(empty_fields_are_empty_not_null) {
  const std::string id = "da_" + test::random_hex(32);
  db.exec("INSERT INTO delivery_attempts (id, org_id, env_id, event_id, connection_id, destination_id, request_url, "
          "request_method, request_headers, response_status, response_headers, response_body, duration_ms, status, "
          "error, attempt_number, is_dlq, trigger_type, created_at) VALUES (" +
          test::quote(id) + ", " + test::quote(tenant.org_id) + ", " + test::quote(tenant.env_id) +
          ", 'evt_3', 'conn_gone', 'dst_gone', 'https://x', 'POST', '', 0, '', '', 0, 'failed', '', 0, 0, '', "
          "now())");
  auto r = get("/v1/delivery-attempts");
  BOOST_REQUIRE(r.status == 200);
  auto doc = r.json();
  auto& a = doc.at("delivery_attempts").as_array().at(0).as_object();
  BOOST_REQUIRE(a.at("id").as_string() == id);
  for (const char* f : {"request_headers", "response_headers", "response_body", "error", "trigger_type"}) {
    BOOST_TEST_CONTEXT(f) {
      BOOST_REQUIRE(a.at(f).is_string());
      BOOST_TEST(a.at(f).as_string().empty());
    }
  }
  for (const char* f : {"response_status", "duration_ms", "attempt_number", "is_dlq"}) {
    BOOST_TEST_CONTEXT(f) {
      BOOST_REQUIRE(a.at(f).is_int64());
      BOOST_TEST(a.at(f).as_int64() == 0);
    }
  }
}

BOOST_AUTO_TEST_CASE(newest_first_with_id_breaking_ties) {
  std::vector<test::attempt_spec> rows;
  for (int i = 0; i < 30; ++i) {
    test::attempt_spec s;
    // Groups of three share a timestamp: the id decides among them.
    s.created_at = "2026-11-20 10:00:" + std::to_string(10 + i / 3) + "+00";
    rows.push_back(s);
  }
  test::insert_attempts(db, tenant, rows);
  BOOST_TEST(ids_of(get("/v1/delivery-attempts?limit=100")) == expected(""), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(each_filter_alone_and_combined) {
  std::vector<test::attempt_spec> rows;
  const char* statuses[] = {"success", "failed", "pending", "retrying"};
  for (int i = 0; i < 80; ++i) {
    test::attempt_spec s;
    s.event_id = "evt_" + std::to_string(i % 7);
    s.connection_id = tenant.connection_ids[i % 2];
    s.destination_id = tenant.destination_ids[(i / 2) % 2];
    s.status = statuses[i % 4];
    s.is_dlq = i % 9 == 0 ? std::optional<int>(1) : (i % 13 == 0 ? std::nullopt : std::optional<int>(0));
    s.created_at = "2026-11-" + std::to_string(10 + i % 15) + " 12:00:0" + std::to_string(i % 10) + "+00";
    rows.push_back(s);
  }
  test::insert_attempts(db, tenant, rows);
  const std::string c0 = tenant.connection_ids[0], d1 = tenant.destination_ids[1];
  struct query_case {
    std::string query, where;
  };
  const std::vector<query_case> cases{
      {"", ""},
      {"event_id=evt_3", "event_id = 'evt_3'"},
      {"connection_id=" + c0, "connection_id = " + test::quote(c0)},
      {"destination_id=" + d1, "destination_id = " + test::quote(d1)},
      {"status=failed", "status = 'failed'"},
      {"status=pending", "status = 'pending'"},
      {"is_dlq=1", "is_dlq = 1"},
      {"is_dlq=0", "(is_dlq = 0 OR is_dlq IS NULL)"},
      {"status=success&connection_id=" + c0, "status = 'success' AND connection_id = " + test::quote(c0)},
      {"event_id=evt_2&destination_id=" + d1 + "&status=retrying",
       "event_id = 'evt_2' AND destination_id = " + test::quote(d1) + " AND status = 'retrying'"},
      {"is_dlq=1&status=success&connection_id=" + c0 + "&destination_id=" + d1 + "&event_id=evt_0",
       "is_dlq = 1 AND status = 'success' AND connection_id = " + test::quote(c0) + " AND destination_id = " +
           test::quote(d1) + " AND event_id = 'evt_0'"},
      {"event_id=evt_none", "event_id = 'evt_none'"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("query: " << c.query) {
      auto r = get("/v1/delivery-attempts?limit=100&" + c.query);
      BOOST_REQUIRE(r.status == 200);
      BOOST_TEST(ids_of(r) == expected(c.where), boost::test_tools::per_element());
      BOOST_TEST(r.json().at("pagination").at("total").as_int64() == expected_total(c.where));
    }
  }
}

BOOST_AUTO_TEST_CASE(limit_offset_total_and_has_more) {
  std::vector<test::attempt_spec> rows(23);
  for (std::size_t i = 0; i < rows.size(); ++i)
    rows[i].created_at = "2026-11-2" + std::to_string(i % 8) + " 0" + std::to_string(i % 10) + ":00:00+00";
  test::insert_attempts(db, tenant, rows);
  struct page_case {
    int limit, offset, count;
    bool has_more;
  };
  for (auto pc : {page_case{10, 0, 10, true}, page_case{10, 10, 10, true}, page_case{10, 20, 3, false},
                  page_case{23, 0, 23, false}, page_case{22, 0, 22, true}, page_case{5, 23, 0, false},
                  page_case{5, 1000, 0, false}, page_case{1, 22, 1, false}}) {
    BOOST_TEST_CONTEXT("limit " << pc.limit << " offset " << pc.offset) {
      auto r = get("/v1/delivery-attempts?limit=" + std::to_string(pc.limit) + "&offset=" + std::to_string(pc.offset));
      BOOST_REQUIRE(r.status == 200);
      auto p = r.json().at("pagination");
      BOOST_TEST(ids_of(r) == expected("", pc.limit, pc.offset), boost::test_tools::per_element());
      BOOST_TEST(ids_of(r).size() == static_cast<std::size_t>(pc.count));
      BOOST_TEST(p.at("total").as_int64() == 23);
      BOOST_TEST(p.at("limit").as_int64() == pc.limit);
      BOOST_TEST(p.at("offset").as_int64() == pc.offset);
      BOOST_TEST(p.at("has_more").as_bool() == pc.has_more);
      // Every page carries cursors, offset pages too: next while more follows,
      // prev unless this is the first page.
      BOOST_TEST(p.at("next_cursor").is_null() == !pc.has_more);
      BOOST_TEST(p.at("prev_cursor").is_null() == (pc.offset == 0 || pc.count == 0));
    }
  }
  // Default limit is 50.
  BOOST_TEST(get("/v1/delivery-attempts").json().at("pagination").at("limit").as_int64() == 50);
}

// An event's total is the first page's row count when that page holds all of
// its attempts (the statement then skips the count), and a real count otherwise:
// both must be exact, including with several events and with a status too.
BOOST_AUTO_TEST_CASE(an_events_total_is_exact_whether_or_not_its_first_page_holds_it_all) {
  std::vector<test::attempt_spec> rows(30);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    rows[i].event_id = i < 23 ? "evt_many" : "evt_few";
    rows[i].status = i % 3 == 0 ? "failed" : "success";
    rows[i].created_at = "2026-11-2" + std::to_string(i % 8) + " 0" + std::to_string(i % 10) + ":00:00+00";
  }
  test::insert_attempts(db, tenant, rows);
  struct page_case {
    std::string query;
    int limit, offset, count;
    std::int64_t total;
  };
  for (const auto& pc : {page_case{"event_id=evt_many", 50, 0, 23, 23}, page_case{"event_id=evt_many", 23, 0, 23, 23},
                         page_case{"event_id=evt_many", 22, 0, 22, 23}, page_case{"event_id=evt_many", 1, 0, 1, 23},
                         page_case{"event_id=evt_many", 10, 10, 10, 23}, page_case{"event_id=evt_many", 10, 20, 3, 23},
                         page_case{"event_id=evt_many", 5, 23, 0, 23}, page_case{"event_id=evt_few", 7, 0, 7, 7},
                         page_case{"event_id=evt_few", 6, 0, 6, 7}, page_case{"event_id=evt_few,evt_many", 29, 0, 29, 30},
                         page_case{"event_id=evt_few,evt_many", 30, 0, 30, 30},
                         page_case{"event_id=evt_many&status=failed", 8, 0, 8, 8},
                         page_case{"event_id=evt_many&status=failed", 7, 0, 7, 8},
                         page_case{"event_id=evt_none", 10, 0, 0, 0}}) {
    BOOST_TEST_CONTEXT(pc.query << " limit " << pc.limit << " offset " << pc.offset) {
      auto r = get("/v1/delivery-attempts?" + pc.query + "&limit=" + std::to_string(pc.limit) +
                   "&offset=" + std::to_string(pc.offset));
      BOOST_REQUIRE(r.status == 200);
      BOOST_TEST(ids_of(r).size() == static_cast<std::size_t>(pc.count));
      BOOST_TEST(r.json().at("pagination").at("total").as_int64() == pc.total);
    }
  }
}

// Past deep_offset_threshold the server switches plans (ids through the index,
// then the page's rows): the answers must not change.
BOOST_AUTO_TEST_CASE(deep_offsets_use_another_plan_and_the_same_rows) {
  db.exec("INSERT INTO delivery_attempts (id, org_id, env_id, event_id, connection_id, destination_id, request_url, "
          "request_method, status, created_at, is_dlq) SELECT 'da_' || md5(g::text || " + test::quote(tenant.org_id) +
          "), " + test::quote(tenant.org_id) + ", " + test::quote(tenant.env_id) + ", 'evt_x', " +
          test::quote(tenant.connection_ids[0]) + ", " + test::quote(tenant.destination_ids[0]) +
          ", 'https://x', 'POST', (ARRAY['success','failed'])[1 + g % 2], timestamptz '2026-11-01' + (g / 3) * "
          "interval '1 second', g % 2 FROM generate_series(1, 700) g");
  for (const std::string& filters : std::vector<std::string>{"", "&status=failed", "&is_dlq=1", "&connection_id=" + tenant.connection_ids[0]}) {
    const std::string where = filters == "&status=failed" ? "status = 'failed'"
                              : filters == "&is_dlq=1"    ? "is_dlq = 1"
                              : filters.empty()           ? ""
                                                          : "connection_id = " + test::quote(tenant.connection_ids[0]);
    for (int offset : {150, 199, 200, 201, 333, 650, 699, 700, 5000}) {
      BOOST_TEST_CONTEXT("offset " << offset << filters) {
        auto r = get("/v1/delivery-attempts?limit=40&offset=" + std::to_string(offset) + filters);
        BOOST_REQUIRE(r.status == 200);
        BOOST_TEST(ids_of(r) == expected(where, 40, offset), boost::test_tools::per_element());
        BOOST_TEST(r.json().at("pagination").at("total").as_int64() == expected_total(where));
        BOOST_TEST(r.json().at("pagination").at("has_more").as_bool() ==
                   (offset + 40 < expected_total(where)));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(every_validation_error_is_a_400_with_the_error_body) {
  const std::vector<std::pair<std::string, std::string>> bad{
      {"limit=0", "limit"},        {"limit=101", "limit"},          {"limit=abc", "limit"},
      {"limit=", "limit"},         {"limit=-5", "limit"},           {"limit=1&limit=2", "limit"},
      {"offset=-1", "offset"},     {"offset=x", "offset"},          {"offset=99999999999999999999", "offset"},
      {"event_id=", "event_id"},   {"connection_id=", "connection_id"}, {"destination_id=", "destination_id"},
      {"event_id=" + std::string(129, 'e'), "event_id"},
      {"status=done", "pending, success, failed, retrying"},       {"status=SUCCESS", "status"},
      {"event_id=evt%00x", "event_id"}, {"destination_id=%FF%FE", "UTF-8"}, {"limit=%", "percent"},
      {"is_dlq=2", "is_dlq"},      {"is_dlq=true", "is_dlq"},       {"cursor=abc", "cursor"},
  };
  for (const auto& [query, mentions] : bad) {
    BOOST_TEST_CONTEXT("query: " << query) {
      auto r = get("/v1/delivery-attempts?" + query);
      check_error_body(r, 400);
      BOOST_TEST(std::string(r.json().at("error").as_string()).find(mentions) != std::string::npos);
    }
  }
  // 128 bytes is still fine; unknown parameters are ignored.
  BOOST_TEST(get("/v1/delivery-attempts?event_id=" + std::string(128, 'e')).status == 200);
  BOOST_TEST(get("/v1/delivery-attempts?colour=blue&limit=1").status == 200);
}

BOOST_AUTO_TEST_CASE(arbitrary_response_bytes_still_give_valid_json) {
  const std::string id = "da_" + test::random_hex(32);
  test::insert_attempts(db, tenant, {{.id = id}});
  // Invalid UTF-8, a NUL, control characters, a quote and a backslash.
  db.exec("UPDATE delivery_attempts SET response_body = '\\x48ff00c3280a0d09221b5c80e2'::bytea, "
          "error = E'tab\\there \\u0001 \"quoted\" back\\\\slash', request_headers = E'{\"a\":\"\\u2028\"}' "
          "WHERE id = " + test::quote(id));
  auto r = get("/v1/delivery-attempts");
  BOOST_REQUIRE(r.status == 200);
  json::value doc;
  BOOST_REQUIRE_NO_THROW(doc = r.json());
  auto body = std::string(doc.at("delivery_attempts").at(0).at("response_body").as_string());
  // H, U+FFFD for 0xff, NUL kept as U+0000, U+FFFD for the broken C3 28 -> "(" kept...
  BOOST_TEST(body == std::string("H\xEF\xBF\xBD") + std::string(1, '\0') + "\xEF\xBF\xBD(\n\r\t\"\x1b\\" +
                         "\xEF\xBF\xBD\xEF\xBF\xBD");
  BOOST_TEST(doc.at("delivery_attempts").at(0).at("error").as_string() == "tab\there \x01 \"quoted\" back\\slash");
  BOOST_TEST(r.body.find('\x01') == std::string::npos);  // control characters are escaped on the wire
}

BOOST_AUTO_TEST_CASE(sql_injection_strings_are_plain_values) {
  test::insert_attempts(db, tenant, {{}, {}});
  const std::vector<std::string> payloads{"' OR '1'='1", "x'; DROP TABLE delivery_attempts; --",
                                          "\" OR 1=1 --", "evt_1' UNION SELECT * FROM api_keys --", "%' OR id LIKE '%"};
  for (const auto& p : payloads) {
    std::string enc;
    for (unsigned char c : p) {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      enc += buf;
    }
    for (const char* param : {"event_id", "connection_id", "destination_id"}) {
      BOOST_TEST_CONTEXT(param << " = " << p) {
        auto r = get(std::string("/v1/delivery-attempts?") + param + "=" + enc);
        BOOST_REQUIRE(r.status == 200);
        BOOST_TEST(r.json().at("delivery_attempts").as_array().empty());
        BOOST_TEST(r.json().at("pagination").at("total").as_int64() == 0);
      }
    }
    for (const char* param : {"status", "is_dlq", "limit", "offset"}) {
      BOOST_TEST_CONTEXT(param << " = " << p) { check_error_body(get(std::string("/v1/delivery-attempts?") + param + "=" + enc), 400); }
    }
    BOOST_TEST(get("/v1/delivery-attempts/" + enc).status == 404);
  }
  // Still there, still two.
  BOOST_TEST(get("/v1/delivery-attempts").json().at("pagination").at("total").as_int64() == 2);
}

BOOST_AUTO_TEST_CASE(single_attempt_by_id) {
  const auto ids = test::insert_attempts(db, tenant, {{.event_id = "evt_single", .status = "retrying"}});
  auto r = get("/v1/delivery-attempts/" + ids[0]);
  BOOST_REQUIRE(r.status == 200);
  auto doc = r.json().as_object();
  BOOST_TEST(doc.size() == 1u);
  auto& a = doc.at("delivery_attempt").as_object();
  BOOST_TEST(a.size() == field_order.size());
  BOOST_TEST(a.at("id").as_string() == ids[0]);
  BOOST_TEST(a.at("event_id").as_string() == "evt_single");
  BOOST_TEST(a.at("status").as_string() == "retrying");
  BOOST_TEST(a.at("connection_name").as_string() == "Connection A");

  auto missing = get("/v1/delivery-attempts/da_" + test::random_hex(32));
  check_error_body(missing, 404);
}

// The row cache end to end: a page listed again comes from the cache (the
// server's /metrics says so) with the very same body, and a row changed in the
// database shows on the next page, not after a TTL.
BOOST_AUTO_TEST_CASE(a_page_listed_again_comes_from_the_row_cache_and_shows_changes_at_once) {
  for (int i = 0; i < 30; ++i)
    test::insert_attempts(db, tenant, {{.status = "failed", .created_at = "2026-11-28 08:" + std::to_string(10 + i) +
                                                                          ":00+00"}});
  auto cached_pages = [&] {
    const auto body = server.get("/metrics").body;
    const std::string name = "hookstream_row_cache_pages_total{read=\"cached\"} ";
    const auto pos = body.find(name);
    BOOST_REQUIRE(pos != std::string::npos);
    return std::stoll(body.substr(pos + name.size()));
  };
  const auto first = get("/v1/delivery-attempts?limit=20");
  BOOST_REQUIRE(first.status == 200);
  const auto before = cached_pages();
  for (int i = 0; i < 6; ++i) BOOST_TEST(get("/v1/delivery-attempts?limit=20").body == first.body);
  BOOST_TEST(cached_pages() > before);

  const auto changed = ids_of(first).at(5);
  db.exec("UPDATE delivery_attempts SET status = 'success', response_status = 200 WHERE id = " +
          test::quote(changed) + " AND org_id = " + test::quote(tenant.org_id));
  const auto after = get("/v1/delivery-attempts?limit=20").json();
  const auto& row = after.at("delivery_attempts").as_array().at(5).as_object();
  BOOST_TEST(std::string(row.at("id").as_string()) == changed);
  BOOST_TEST(std::string(row.at("status").as_string()) == "success");
  BOOST_TEST(row.at("response_status").as_int64() == 200);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(time_zones)

// No statement relies on the session's TimeZone (a pooler in transaction mode
// may hand out sessions set to anything): a server whose sessions run in
// Asia/Kathmandu (+05:45) answers byte for byte what one in the cluster's
// default zone answers, pages, cursors and a single attempt alike.
BOOST_FIXTURE_TEST_CASE(the_session_time_zone_changes_no_answer, listing_fixture) {
  std::vector<test::attempt_spec> rows(30);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    // Around midnight UTC (a different calendar day in Kathmandu) and a DST change elsewhere.
    rows[i].created_at = "2026-03-2" + std::to_string(8 + i % 2) + " 2" + std::to_string(i % 4) + ":4" +
                         std::to_string(i % 10) + ":0" + std::to_string(i % 10) + "." + std::to_string(100 + i) + "+00";
    rows[i].status = i % 3 ? "success" : "failed";
  }
  const auto ids = test::insert_attempts(db, tenant, rows);
  std::string url = test::database_url();
  url += (url.find('?') == std::string::npos ? "?" : "&") + std::string("options=-c%20TimeZone%3DAsia%2FKathmandu");
  test::test_server elsewhere(1, [&](server::server_config& c) { c.pool.conninfo = url; });
  BOOST_REQUIRE(*test::sql_session(url).scalar("SHOW TimeZone") == "Asia/Kathmandu");

  auto both = [&](const std::string& target) {
    const auto here = get(target);
    const auto there = elsewhere.get(target, {test::api_key_header(tenant.api_key)});
    BOOST_TEST_INFO(target);
    BOOST_TEST(here.status == 200u);
    BOOST_TEST(there.status == 200u);
    BOOST_TEST(here.body == there.body);
    return here;
  };
  const auto first = both("/v1/delivery-attempts?limit=7");
  const auto cursor = std::string(first.json().at("pagination").at("next_cursor").as_string());
  both("/v1/delivery-attempts?limit=7&cursor=" + cursor);
  both("/v1/delivery-attempts?limit=7&status=failed&offset=3");
  both("/v1/delivery-attempts/" + ids[5]);
}

BOOST_AUTO_TEST_SUITE_END()
