// Time ranges and several values per filter, end to end (issue 12): a real
// server and PostgreSQL, every page and total compared with what PostgreSQL
// computes independently from the same rows; every malformed filter is a 400
// with the error body; cursors remember their range and value sets. And the
// OpenAPI document (GET /v1/openapi.json) against the code that enforces it.
#include "support/test_database.hpp"
#include "support/test_server.hpp"

#include <hookstream/server/list_query.hpp>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <random>
#include <set>

using namespace hookstream;
namespace json = boost::json;

namespace {

struct filters_fixture {
  test::sql_session db;
  test::test_tenant tenant = test::make_tenant(db);
  test::test_server server{1};

  test::http_result raw_get(const std::string& query) {
    return server.get("/v1/delivery-attempts?" + query, {test::api_key_header(tenant.api_key)});
  }
  struct page {
    std::vector<std::string> ids;
    std::int64_t total = 0;
    std::string next;
  };
  page get(const std::string& query) {
    auto r = raw_get(query);
    BOOST_REQUIRE_MESSAGE(r.status == 200, query << " -> " << r.status << " " << r.body);
    const auto doc = r.json();
    page p;
    for (auto& a : doc.at("delivery_attempts").as_array()) p.ids.emplace_back(a.at("id").as_string());
    p.total = doc.at("pagination").at("total").as_int64();
    if (!doc.at("pagination").at("next_cursor").is_null()) p.next = doc.at("pagination").at("next_cursor").as_string();
    return p;
  }
  std::vector<std::string> expected(const std::string& where) {
    return db.column("SELECT id FROM delivery_attempts WHERE org_id = " + test::quote(tenant.org_id) +
                     " AND env_id = " + test::quote(tenant.env_id) + " AND " + where +
                     " ORDER BY created_at DESC, id DESC");
  }
  void load(int n) {
    // Spread over 40 days, on and between minute, hour and day boundaries.
    std::mt19937 rng(12);
    const char* statuses[] = {"success", "failed", "pending", "retrying"};
    std::vector<test::attempt_spec> rows(static_cast<std::size_t>(n));
    for (auto& r : rows) {
      r.event_id = "evt_" + std::to_string(rng() % 4);
      r.connection_id = tenant.connection_ids[rng() % 2];
      r.destination_id = tenant.destination_ids[rng() % 2];
      r.status = statuses[rng() % 4];
      r.is_dlq = rng() % 7 == 0 ? 1 : 0;
      char at[64];
      const bool on_boundary = rng() % 4 == 0;
      std::snprintf(at, sizeof at, "2026-10-%02u %02u:%02u:%02u.%06u+00", 1 + static_cast<unsigned>(rng() % 30),
                    on_boundary ? 0u : static_cast<unsigned>(rng() % 24),
                    on_boundary ? 0u : static_cast<unsigned>(rng() % 60),
                    on_boundary ? 0u : static_cast<unsigned>(rng() % 60),
                    on_boundary ? 0u : static_cast<unsigned>(rng() % 1000000));
      r.created_at = at;
    }
    test::insert_attempts(db, tenant, rows);
  }
};

void check_error_body(const test::http_result& r) {
  BOOST_TEST(r.status == 400u);
  BOOST_TEST(r.header("content-type") == "application/json");
  const auto body = r.json().as_object();
  BOOST_TEST(body.size() == 3u);
  BOOST_TEST(body.at("status").as_int64() == 400);
  BOOST_TEST(std::string(body.at("request_id").as_string()) == r.header("x-request-id"));
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(filters, filters_fixture)

BOOST_AUTO_TEST_CASE(malformed_ranges_and_lists_are_400s) {
  const std::string eleven = "e0,e1,e2,e3,e4,e5,e6,e7,e8,e9,e10";
  const std::vector<std::pair<std::string, std::string>> bad{
      {"created_after=yesterday", "created_after must be an RFC 3339"},
      {"created_after=2026-11-28", "created_after must be an RFC 3339"},
      {"created_after=2026-11-28T08:39:52", "created_after must be an RFC 3339"},  // no offset
      {"created_before=2026-11-28%2008:39:52Z", "created_before must be an RFC 3339"},
      {"created_before=2026-02-30T00:00:00Z", "created_before must be an RFC 3339"},
      {"created_before=2026-11-28T24:00:00Z", "created_before must be an RFC 3339"},
      {"created_before=2026-11-28T23:59:60Z", "created_before must be an RFC 3339"},
      {"created_after=2026-11-28T08:39:52.1234567890Z", "created_after must be an RFC 3339"},
      {"created_after=2026-11-28T08:39:52%2B25:00", "created_after must be an RFC 3339"},
      {"created_after=1764319192", "created_after must be an RFC 3339"},
      {"created_after=", "created_after must be an RFC 3339"},
      {"created_after=2026-11-28T08:00:00Z&created_after=2026-11-28T09:00:00Z", "more than once"},
      {"created_after=2026-11-28T09:00:00Z&created_before=2026-11-28T09:00:00Z", "earlier than created_before"},
      {"created_after=2026-11-28T10:00:00%2B01:00&created_before=2026-11-28T09:00:00Z", "earlier than"},
      {"created_after=2026-11-28T09:00:00Z&created_before=2026-11-28T08:00:00Z", "earlier than created_before"},
      {"status=failed,done", "status must be one or more of"},
      {"status=failed,,retrying", "empty value"},
      {"status=failed,", "empty value"},
      {"connection_id=,a", "empty value"},
      {"event_id=" + eleven, "at most 10 distinct values"},
      {"destination_id=a,b&destination_id=c", "more than once"},
      {"connection_id=a," + std::string(129, 'c'), "at most 128 bytes"},
      {"event_id=a,%FF", "UTF-8"},
  };
  for (const auto& [query, mentions] : bad) {
    BOOST_TEST_CONTEXT("query: " << query) {
      auto r = raw_get(query);
      check_error_body(r);
      if (r.status == 400)
        BOOST_TEST(std::string(r.json().at("error").as_string()).find(mentions) != std::string::npos,
                   r.json().at("error").as_string());
    }
  }
  // Ten distinct values pass, and duplicates count once (eleven with one twice).
  BOOST_TEST(raw_get("event_id=e0,e1,e2,e3,e4,e5,e6,e7,e8,e9").status == 200u);
  BOOST_TEST(raw_get("event_id=e0,e1,e2,e3,e4,e5,e6,e7,e8,e9,e9").status == 200u);
}

BOOST_AUTO_TEST_CASE(ranges_and_value_sets_select_exactly_the_rows_sql_selects) {
  load(1500);
  const std::string c0 = tenant.connection_ids[0], c1 = tenant.connection_ids[1];
  const std::string d0 = tenant.destination_ids[0], d1 = tenant.destination_ids[1];
  struct probe {
    std::string query, where;
  };
  const std::vector<probe> probes{
      {"status=failed,retrying", "status IN ('failed','retrying')"},
      {"status=retrying%2Cfailed,pending", "status IN ('failed','retrying','pending')"},
      {"status=failed,retrying,pending,success", "true"},
      {"connection_id=" + c1 + "," + c0 + "&status=failed", "status = 'failed'"},
      {"connection_id=" + c1 + ",conn_absent", "connection_id = " + test::quote(c1)},
      {"destination_id=" + d0 + "," + d1 + "&is_dlq=1", "coalesce(is_dlq, 0) = 1"},
      {"event_id=evt_1,evt_3&status=success,failed",
       "event_id IN ('evt_1','evt_3') AND status IN ('success','failed')"},
      {"created_after=2026-10-10T00:00:00Z", "created_at > '2026-10-10 00:00:00+00'"},
      {"created_before=2026-10-10T00:00:00Z", "created_at < '2026-10-10 00:00:00+00'"},
      // An offset written with a raw '+' (a space after decoding) and '%2B'.
      {"created_after=2026-10-05T13:17:21.5+02:00&created_before=2026-10-19T00:00:00.000001%2B00:00",
       "created_at > '2026-10-05 11:17:21.5+00' AND created_at < '2026-10-19 00:00:00.000001+00'"},
      {"created_after=2026-10-03T07:00:00Z&created_before=2026-10-03T07:00:00.000001Z", "false"},
      {"created_after=2026-10-06T23:59:59.999999Z&created_before=2026-10-21T00:00:00Z&status=failed,pending",
       "created_at > '2026-10-06 23:59:59.999999+00' AND created_at < '2026-10-21 00:00:00+00' AND status IN "
       "('failed','pending')"},
      {"created_after=2026-10-12T10:30:00Z&created_before=2026-10-12T18:45:30Z&connection_id=" + c0,
       "created_at > '2026-10-12 10:30:00+00' AND created_at < '2026-10-12 18:45:30+00' AND connection_id = " +
           test::quote(c0)},
      {"created_after=2026-10-02T00:00:00Z&created_before=2026-10-28T00:00:00Z&destination_id=" + d1 + "," + d0 +
           "&is_dlq=0&status=success,retrying",
       "created_at > '2026-10-02 00:00:00+00' AND created_at < '2026-10-28 00:00:00+00' AND coalesce(is_dlq, 0) = 0 "
       "AND status IN ('success','retrying')"},
      {"created_before=2026-10-15T12:00:00-03:30&event_id=evt_0,evt_2",
       "created_at < '2026-10-15 15:30:00+00' AND event_id IN ('evt_0','evt_2')"},
  };
  for (const auto& p : probes) {
    BOOST_TEST_CONTEXT(p.query) {
      const auto want = expected(p.where);
      // First page and its exact total.
      const auto first = get(p.query + "&limit=20");
      BOOST_TEST(first.total == static_cast<std::int64_t>(want.size()));
      BOOST_TEST(first.ids == std::vector<std::string>(want.begin(), want.begin() + std::min<std::size_t>(20, want.size())),
                 boost::test_tools::per_element());
      // A deep offset page (the deferred-join plan).
      if (want.size() > 230) {
        const auto deep = get(p.query + "&limit=7&offset=223");
        BOOST_TEST(deep.ids == std::vector<std::string>(want.begin() + 223, want.begin() + 230),
                   boost::test_tools::per_element());
      }
      // The whole walk by next_cursor: every row once, in order, the total on every page.
      std::vector<std::string> walked = first.ids;
      std::string next = first.next;
      while (!next.empty()) {
        BOOST_REQUIRE(walked.size() <= want.size());
        const auto pg = get(p.query + "&limit=97&cursor=" + next);
        BOOST_TEST(pg.total == static_cast<std::int64_t>(want.size()));
        walked.insert(walked.end(), pg.ids.begin(), pg.ids.end());
        next = pg.next;
      }
      BOOST_TEST(walked == want, boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(a_cursor_remembers_its_range_and_value_sets) {
  load(300);
  const std::string range = "created_after=2026-10-03T00:00:00Z&created_before=2026-10-25T00:00:00Z";
  const auto first = get(range + "&status=failed,pending&limit=5");
  BOOST_REQUIRE(!first.next.empty());
  // The same sets in another order, spelled with %2C, or with a duplicate: the same filter.
  BOOST_TEST(raw_get(range + "&status=pending,failed&cursor=" + first.next).status == 200u);
  BOOST_TEST(raw_get(range + "&status=pending%2Cfailed,failed&cursor=" + first.next).status == 200u);
  // The same instant with another offset is the same range.
  BOOST_TEST(raw_get("created_after=2026-10-03T02:00:00%2B02:00&created_before=2026-10-25T00:00:00Z"
                     "&status=failed,pending&cursor=" + first.next).status == 200u);
  const std::vector<std::string> changed{
      "created_after=2026-10-03T00:00:00.000001Z&created_before=2026-10-25T00:00:00Z&status=failed,pending",
      "created_after=2026-10-03T00:00:00Z&status=failed,pending",
      "created_before=2026-10-25T00:00:00Z&status=failed,pending",
      "status=failed,pending",
      range + "&status=failed",
      range + "&status=failed,pending,retrying",
      range + "&status=failed,pending&connection_id=" + tenant.connection_ids[0],
  };
  for (const auto& q : changed) {
    BOOST_TEST_CONTEXT(q) {
      auto r = raw_get(q + "&cursor=" + first.next);
      check_error_body(r);
      if (r.status == 400) BOOST_TEST(std::string(r.json().at("error").as_string()).find("cursor") != std::string::npos);
    }
  }
}

// The document at /v1/openapi.json is public and describes what the server
// enforces: every listing parameter the parser reads, each with the rule its
// 400 answer states, and every route of the server.
BOOST_AUTO_TEST_CASE(openapi_document_matches_the_parser_and_the_routes) {
  const auto r = server.get("/v1/openapi.json");  // no credential
  BOOST_REQUIRE(r.status == 200u);
  BOOST_TEST(r.header("content-type") == "application/json");
  const auto doc = r.json();
  BOOST_TEST(doc.at("openapi").as_string() == "3.1.0");
  std::set<std::string> paths;
  for (const auto& kv : doc.at("paths").as_object()) paths.emplace(kv.key());
  const std::set<std::string> served{"/healthz", "/readyz", "/metrics", "/v1/openapi.json", "/v1/delivery-attempts",
                                     "/v1/delivery-attempts/stream", "/v1/delivery-attempts/{id}"};
  BOOST_TEST(paths == served, boost::test_tools::per_element());
  // Each documented path answers something other than the 404 of unknown paths.
  for (const auto& p : paths) {
    std::string target = p;
    if (auto at = target.find("{id}"); at != std::string::npos) target.replace(at, 4, "da_x");
    // A stream's answer never ends: ask with a cursor it refuses (a whole 400).
    if (target.ends_with("/stream")) target += "?cursor=not-a-stream-cursor";
    BOOST_TEST(server.get(target, {test::api_key_header(tenant.api_key)}).header("content-type") != "",  p);
    if (p.find("{id}") == std::string::npos)
      BOOST_TEST(server.get(target, {test::api_key_header(tenant.api_key)}).status != 404u, p);
  }
  BOOST_TEST(server.get("/v1/openapi.jsonx").status == 404u);

  const auto& params = doc.at("paths").at("/v1/delivery-attempts").at("get").at("parameters").as_array();
  std::vector<std::string> documented;
  for (const auto& p : params) documented.emplace_back(p.at("name").as_string());
  std::vector<std::string> parsed;
  for (const auto& p : server::listing_parameters()) parsed.emplace_back(p.name);
  BOOST_TEST(documented == parsed, boost::test_tools::per_element());
  // Every documented parameter is one the parser reads: a value its schema
  // rejects is a 400 naming it; where the answer states the parameter's rule
  // ("<name> must <rule>"), the document states the same rule.
  const std::vector<std::pair<std::string, std::string>> refused{
      {"limit", "0"},          {"offset", "-1"},        {"event_id", ","},  {"connection_id", ",x"},
      {"destination_id", "x,"}, {"status", "done"},     {"is_dlq", "yes"},  {"created_after", "today"},
      {"created_before", "2026-11-28"}, {"cursor", "not-a-cursor"}};
  BOOST_REQUIRE_EQUAL(refused.size(), parsed.size());
  int rules_stated = 0;
  for (const auto& [name, value] : refused) {
    BOOST_TEST_CONTEXT(name << "=" << value) {
      const auto answer = raw_get(name + "=" + value);
      check_error_body(answer);
      if (answer.status != 400) continue;
      const std::string error(answer.json().at("error").as_string());
      BOOST_TEST(error.rfind(name + " ", 0) == 0u, error);
      std::string description;
      for (const auto& p : params)
        if (p.at("name").as_string() == name) description = p.at("description").as_string();
      if (error.rfind(name + " must be ", 0) == 0) {
        ++rules_stated;
        BOOST_TEST(description.find("Must " + error.substr(name.size() + 6)) != std::string::npos,
                   "\"" << error << "\" is not stated in \"" << description << "\"");
      }
    }
  }
  BOOST_TEST(rules_stated >= 6);  // limit, offset, status, is_dlq and both bounds at least
}

BOOST_AUTO_TEST_SUITE_END()
