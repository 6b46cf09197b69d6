// The live tail (GET /v1/delivery-attempts/stream) against the real server and
// a real PostgreSQL: events as the listing renders them, resuming by
// Last-Event-ID or ?cursor= with no gap and no duplicate (also under writers
// that never stop while clients drop and resume at random points), filters,
// tenant isolation, authentication, cursor checks, limits, overflow, expired
// cursors and shutdown.
#include "support/sse_client.hpp"
#include "support/test_database.hpp"
#include "support/test_server.hpp"

#include <hookstream/auth/session_cookie.hpp>
#include <hookstream/server/api_handler.hpp>
#include <hookstream/server/keyset_cursor.hpp>
#include <hookstream/storage/migrations.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <mutex>
#include <random>
#include <set>
#include <thread>

using namespace hookstream;
using namespace std::chrono_literals;
using test::sse_client;
using test::sse_event;

namespace {

const std::string stream_path = "/v1/delivery-attempts/stream";

// A server whose live tail beats often, so tests need not wait 15 s.
std::unique_ptr<test::test_server> live_tail_server(unsigned threads = 1,
                                                    const std::function<void(server::server_config&)>& more = {}) {
  return std::make_unique<test::test_server>(threads, [&](server::server_config& c) {
    c.live_tail.heartbeat = 200ms;
    c.live_tail.poll_interval = 200ms;
    if (more) more(c);
  });
}

// A server on a database of its own (`url`: pruning is global) whose live tail
// keeps events for `retention` and prunes every `interval`.
std::unique_ptr<test::test_server> pruning_server(const std::string& url, std::chrono::seconds retention,
                                                  std::chrono::milliseconds interval) {
  return live_tail_server(1, [&](server::server_config& c) {
    c.database_url = c.pool.conninfo = c.maintenance_database_url = url;
    c.live_tail.retention = retention;
    c.live_tail.prune_interval = interval;
  });
}

// Opens a stream; while the hub is still connecting (a server just started),
// the answer is 503 with Retry-After: try again.
std::unique_ptr<sse_client> open_stream(const test::test_server& server, const std::string& query,
                                        const std::vector<std::string>& headers, int receive_buffer = 0) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  for (;;) {
    auto c = std::make_unique<sse_client>(server.port(), stream_path + query, headers, receive_buffer);
    if (c->status() == 503 && c->body().find("connecting") != std::string::npos &&
        std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(50ms);
      continue;
    }
    return c;
  }
}

// The next attempt event (heartbeats skipped), or nullopt after `timeout`.
std::optional<sse_event> next_attempt(sse_client& c, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto e = c.next(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
    if (!e) return std::nullopt;
    if (e->event == "attempt") return e;
    BOOST_TEST_REQUIRE(e->event == "heartbeat", "unexpected event " << e->event << ": " << e->data);
  }
  return std::nullopt;
}

std::optional<sse_event> next_heartbeat(sse_client& c) {
  for (int i = 0; i < 100; ++i) {
    auto e = c.next(5s);
    if (!e) return std::nullopt;
    if (e->event == "heartbeat") return e;
  }
  return std::nullopt;
}

std::string field(const std::string& json, const char* name) {
  const auto v = boost::json::parse(json).at(name);
  return v.is_string() ? std::string(v.as_string()) : boost::json::serialize(v);
}

// The listing's rendering of one attempt (found by its unique event id).
std::string listing_rendering(const test::test_server& server, const std::string& key, const std::string& event_id) {
  const auto page = server.get("/v1/delivery-attempts?event_id=" + event_id, {test::api_key_header(key)});
  BOOST_REQUIRE(page.status == 200u);
  const std::string prefix = "{\"delivery_attempts\":[";
  const auto end = page.body.find("],\"pagination\"");
  BOOST_REQUIRE(page.body.rfind(prefix, 0) == 0u);
  BOOST_REQUIRE(end != std::string::npos);
  return page.body.substr(prefix.size(), end - prefix.size());
}

test::attempt_spec spec(const std::string& event_id, const std::string& status = "success") {
  test::attempt_spec s;
  s.event_id = event_id;
  s.status = status;
  return s;
}

std::int64_t metric(const test::test_server& server, const std::string& name) {
  const auto body = server.get("/metrics").body;
  const auto at = body.find("\n" + name + " ");
  BOOST_REQUIRE_MESSAGE(at != std::string::npos, name << " not in /metrics");
  return std::stoll(body.substr(at + name.size() + 2));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(live_tail)

BOOST_AUTO_TEST_CASE(new_and_changed_attempts_arrive_as_the_listing_renders_them) {
  test::sql_session db;
  const auto t = test::make_tenant(db);
  auto server = live_tail_server();
  auto c = open_stream(*server, "", {test::api_key_header(t.api_key)});
  BOOST_REQUIRE(c->status() == 200u);
  BOOST_TEST(c->header("content-type") == "text/event-stream");
  BOOST_TEST(c->header("transfer-encoding") == "chunked");
  BOOST_TEST(c->header("ratelimit-limit") != "");
  BOOST_TEST(c->header("x-request-id").rfind("req_", 0) == 0u);

  const auto ids = test::insert_attempts(db, t, {spec("evt_one"), spec("evt_two", "failed")});
  db.exec("UPDATE delivery_attempts SET status = 'retrying', attempt_number = 2 WHERE id = " + test::quote(ids[1]));
  db.exec("UPDATE delivery_attempts SET status = status WHERE id = " + test::quote(ids[0]));  // no change: no event

  std::vector<sse_event> got;
  for (int i = 0; i < 3; ++i) {
    auto e = next_attempt(*c);
    BOOST_REQUIRE(e);
    got.push_back(*e);
  }
  // Inserted in one statement (log order within it is the statement's), then the change.
  std::set<std::string> first_two{field(got[0].data, "id"), field(got[1].data, "id")};
  BOOST_TEST((first_two == std::set<std::string>{ids[0], ids[1]}));
  BOOST_TEST(field(got[2].data, "id") == ids[1]);
  BOOST_TEST(field(got[2].data, "status") == "retrying");
  BOOST_TEST(field(got[2].data, "attempt_number") == "2");
  const auto& inserted_second = field(got[0].data, "id") == ids[1] ? got[0] : got[1];
  BOOST_TEST(field(inserted_second.data, "status") == "failed");  // the event shows the row as it was then
  // Byte for byte what the listing shows now (names included).
  const auto& first = field(got[0].data, "id") == ids[0] ? got[0] : got[1];
  BOOST_TEST(first.data == listing_rendering(*server, t.api_key, "evt_one"));
  BOOST_TEST(got[2].data == listing_rendering(*server, t.api_key, "evt_two"));
  BOOST_TEST(field(first.data, "connection_name") == "Connection A");
  std::set<std::string> distinct_ids;
  for (const auto& e : got) distinct_ids.insert(e.id);
  BOOST_TEST(distinct_ids.size() == 3u);
  BOOST_TEST(!next_attempt(*c, 600ms));  // the no-op update made nothing
}

// Migration 0040: PostgreSQL commits notifying transactions one at a time, so
// a writer sends no NOTIFY while another writer's is pending (that one wakes
// the listeners when it commits), and does when it writes alone. A database of
// its own: the NOTIFY says nothing of its writer, and another test binary's
// writers in a shared database (ctest -j) would notify this listener too.
BOOST_AUTO_TEST_CASE(a_writer_skips_its_notify_only_while_another_is_pending) {
  const test::scratch_database scratch("live_tail_notify");
  BOOST_REQUIRE(storage::migrate_database(scratch.url(), 60s));
  test::sql_session db(scratch.url()), listener(scratch.url()), open_writer(scratch.url());
  const auto t = test::make_tenant(db);
  listener.exec("LISTEN hookstream_attempt_events");
  listener.take_notifications();
  const auto notifications_within = [&](std::chrono::milliseconds wait) {
    int n = 0;
    for (auto until = std::chrono::steady_clock::now() + wait; std::chrono::steady_clock::now() < until;) {
      std::this_thread::sleep_for(10ms);
      n += listener.take_notifications();
    }
    return n;
  };

  open_writer.exec("BEGIN");
  test::insert_attempts(open_writer, t, {spec("evt_pending")});
  test::insert_attempts(db, t, {spec("evt_skipped")});  // commits while the other NOTIFY is pending
  BOOST_TEST(notifications_within(300ms) == 0);
  open_writer.exec("COMMIT");
  BOOST_TEST(notifications_within(300ms) == 1);
  test::insert_attempts(db, t, {spec("evt_alone")});
  BOOST_TEST(notifications_within(300ms) == 1);
}

// The writer that skipped its NOTIFY commits just after the one that sent it:
// the hub's follow-up read finds it, long before the next poll (60 s here).
BOOST_AUTO_TEST_CASE(a_writer_that_skipped_its_notify_is_streamed_without_waiting_for_the_poll) {
  test::sql_session db, first, second;
  const auto t = test::make_tenant(db);
  auto server = live_tail_server(1, [](server::server_config& c) { c.live_tail.poll_interval = 60s; });
  auto c = open_stream(*server, "", {test::api_key_header(t.api_key)});
  BOOST_REQUIRE(c->status() == 200u);
  // The quiet writer commits at once, then later and later after the notifying
  // one: past the hub's read that the NOTIFY caused and its follow-up (10 ms),
  // with no poll due for a minute. Only the check for open writers finds it.
  const std::chrono::milliseconds gaps[] = {0ms, 3ms, 40ms, 300ms, 1200ms};
  for (int round = 0; round < 5; ++round) {
    const std::string a = "evt_notified_" + std::to_string(round), b = "evt_quiet_" + std::to_string(round);
    first.exec("BEGIN");
    second.exec("BEGIN");
    test::insert_attempts(first, t, {spec(a)});
    test::insert_attempts(second, t, {spec(b)});  // no NOTIFY: first's is pending
    first.exec("COMMIT");
    std::this_thread::sleep_for(gaps[round]);
    second.exec("COMMIT");
    std::set<std::string> got;
    for (int i = 0; i < 2; ++i) {
      auto e = next_attempt(*c, 5s);
      BOOST_REQUIRE_MESSAGE(e, "round " << round << ": only " << got.size() << " of 2 events within 5 s");
      got.insert(field(e->data, "event_id"));
    }
    BOOST_TEST((got == std::set<std::string>{a, b}));
  }
}

BOOST_AUTO_TEST_CASE(last_event_id_and_cursor_resume_without_gap_or_duplicate) {
  test::sql_session db;
  const auto t = test::make_tenant(db);
  auto server = live_tail_server(2);
  const auto key = test::api_key_header(t.api_key);
  std::string second_id;
  {
    auto c = open_stream(*server, "", {key});
    test::insert_attempts(db, t, {spec("evt_r1")});
    test::insert_attempts(db, t, {spec("evt_r2")});
    auto e1 = next_attempt(*c);
    auto e2 = next_attempt(*c);
    BOOST_REQUIRE(e1 && e2);
    BOOST_TEST(field(e1->data, "event_id") == "evt_r1");
    second_id = e2->id;
  }  // hangs up
  test::insert_attempts(db, t, {spec("evt_r3")});
  test::insert_attempts(db, t, {spec("evt_r4")});
  test::insert_attempts(db, t, {spec("evt_r5")});
  for (const bool by_header : {true, false}) {
    BOOST_TEST_CONTEXT(std::string(by_header ? "Last-Event-ID" : "?cursor=")) {
      auto c = by_header ? open_stream(*server, "", {key, "Last-Event-ID: " + second_id})
                         : open_stream(*server, "?cursor=" + second_id, {key});
      BOOST_REQUIRE(c->status() == 200u);
      for (const char* expected : {"evt_r3", "evt_r4", "evt_r5"}) {
        auto e = next_attempt(*c);
        BOOST_REQUIRE(e);
        BOOST_TEST(field(e->data, "event_id") == expected);
      }
      BOOST_TEST(!next_attempt(*c, 600ms));
    }
  }
  // The header wins over the URL's cursor (EventSource keeps its first URL).
  auto c = open_stream(*server, "?cursor=" + second_id, {key, "Last-Event-ID: " + second_id});
  BOOST_REQUIRE(next_attempt(*c));
}

BOOST_AUTO_TEST_CASE(a_heartbeat_id_resumes_a_quiet_stream) {
  test::sql_session db;
  const auto t = test::make_tenant(db);
  const auto other = test::make_tenant(db);
  auto server = live_tail_server();
  const auto key = test::api_key_header(t.api_key);
  std::string heartbeat_id;
  {
    auto c = open_stream(*server, "", {key});
    // Others' events move the log on; this tenant's heartbeat id follows it.
    test::insert_attempts(db, other, {spec("evt_elsewhere")});
    std::this_thread::sleep_for(300ms);
    auto hb = next_heartbeat(*c);
    BOOST_REQUIRE(hb);
    BOOST_TEST(hb->data == "{}");
    hb = next_heartbeat(*c);  // one sent after the other tenant's event was read
    BOOST_REQUIRE(hb);
    heartbeat_id = hb->id;
    BOOST_TEST(!heartbeat_id.empty());
  }
  test::insert_attempts(db, t, {spec("evt_after_heartbeat")});
  auto c = open_stream(*server, "", {key, "Last-Event-ID: " + heartbeat_id});
  auto e = next_attempt(*c);
  BOOST_REQUIRE(e);
  BOOST_TEST(field(e->data, "event_id") == "evt_after_heartbeat");
  BOOST_TEST(!next_attempt(*c, 600ms));
}

BOOST_AUTO_TEST_CASE(filters_and_tenants_are_kept_apart) {
  test::sql_session db;
  const auto a = test::make_tenant(db);
  const auto a2 = test::make_tenant(db, a.org_id);  // same org, another environment
  const auto b = test::make_tenant(db);
  auto server = live_tail_server(2);
  struct subscription {
    const test::test_tenant* tenant;
    std::string query;
    std::function<bool(const test::attempt_spec&)> wants;
    std::unique_ptr<sse_client> client;
  };
  std::vector<subscription> subs;
  subs.push_back({&a, "", [](const auto&) { return true; }, nullptr});
  subs.push_back({&a, "?status=failed", [](const auto& s) { return s.status == "failed"; }, nullptr});
  subs.push_back({&a, "?connection_id=" + a.connection_ids[1],
                  [&](const auto& s) { return s.connection_id == a.connection_ids[1]; }, nullptr});
  subs.push_back({&a, "?destination_id=" + a.destination_ids[1] + "&is_dlq=1",
                  [&](const auto& s) { return s.destination_id == a.destination_ids[1] && s.is_dlq == 1; }, nullptr});
  subs.push_back({&a, "?event_id=evt_f3", [](const auto& s) { return s.event_id == "evt_f3"; }, nullptr});
  subs.push_back({&a, "?is_dlq=0", [](const auto& s) { return !s.is_dlq || *s.is_dlq == 0; }, nullptr});
  // Comma lists and the time range, as the listing reads them.
  subs.push_back({&a, "?event_id=evt_f1,evt_f3&status=failed,retrying",
                  [](const auto& s) { return (s.event_id == "evt_f1" || s.event_id == "evt_f3") && s.status == "failed"; },
                  nullptr});
  subs.push_back({&a, "?created_after=2026-11-28T00:00:00Z",
                  [](const auto& s) { return s.created_at.rfind("2026-11-28", 0) == 0; }, nullptr});
  subs.push_back({&a, "?created_before=2026-11-28T00:00:00Z&connection_id=" + a.connection_ids[0],
                  [&](const auto& s) {
                    return s.created_at.rfind("2026-11-27", 0) == 0 && s.connection_id == a.connection_ids[0];
                  },
                  nullptr});
  subs.push_back({&a2, "", [](const auto&) { return true; }, nullptr});
  subs.push_back({&b, "", [](const auto&) { return true; }, nullptr});
  for (auto& s : subs) {
    s.client = open_stream(*server, s.query, {test::api_key_header(s.tenant->api_key)});
    BOOST_REQUIRE(s.client->status() == 200u);
  }

  std::map<const test::test_tenant*, std::vector<std::pair<std::string, test::attempt_spec>>> written;
  std::mt19937 rng(7);
  for (int i = 0; i < 60; ++i) {
    const test::test_tenant* t = i % 5 == 0 ? &b : i % 7 == 0 ? &a2 : &a;
    test::attempt_spec s = spec("evt_f" + std::to_string(i % 4), i % 3 ? "success" : "failed");
    s.connection_id = t->connection_ids[rng() % 2];
    s.destination_id = t->destination_ids[rng() % 2];
    if (i % 2) s.created_at = "2026-11-27 23:59:59.999999+00";
    if (rng() % 4 == 0) s.is_dlq = 1;
    else if (rng() % 3 == 0) s.is_dlq.reset();
    const auto ids = test::insert_attempts(db, *t, {s});
    written[t].emplace_back(ids[0], s);
  }
  for (auto& s : subs) {
    BOOST_TEST_CONTEXT("subscription " << s.query << " of " << s.tenant->env_id) {
      std::vector<std::string> expected;
      for (const auto& [id, row] : written[s.tenant])
        if (s.wants(row)) expected.push_back(id);
      std::vector<std::string> got;
      std::string first_event_id;
      while (got.size() < expected.size()) {
        auto e = next_attempt(*s.client);
        if (!e) break;
        if (got.empty()) first_event_id = e->id;
        got.push_back(field(e->data, "id"));
        BOOST_TEST(field(e->data, "org_id") == s.tenant->org_id);
        BOOST_TEST(field(e->data, "env_id") == s.tenant->env_id);
      }
      BOOST_TEST(got == expected, boost::test_tools::per_element());
      BOOST_TEST(!next_attempt(*s.client, 300ms));
      // The same events again from the table (catch-up), filtered the same way.
      if (expected.size() >= 2) {
        auto again = open_stream(*server, s.query, {test::api_key_header(s.tenant->api_key),
                                                    "Last-Event-ID: " + first_event_id});
        BOOST_REQUIRE(again->status() == 200u);
        std::vector<std::string> replayed;
        while (replayed.size() + 1 < expected.size()) {
          auto e = next_attempt(*again);
          if (!e) break;
          replayed.push_back(field(e->data, "id"));
        }
        BOOST_TEST(replayed == std::vector<std::string>(expected.begin() + 1, expected.end()),
                   boost::test_tools::per_element());
        BOOST_TEST(!next_attempt(*again, 300ms));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(credentials_like_the_listing) {
  test::sql_session db;
  const auto t = test::make_tenant(db);
  const std::string secret = "live-tail-test-secret-0123456789abcdef01";
  auto server = live_tail_server(1, [&](server::server_config& c) { c.handler.auth.session_secrets = {secret}; });

  auto none = open_stream(*server, "", {});
  BOOST_TEST(none->status() == 401u);
  BOOST_TEST(!none->header("www-authenticate").empty());
  BOOST_TEST(boost::json::parse(none->body()).at("status").as_int64() == 401);
  auto wrong = open_stream(*server, "", {"X-API-Key: hs_test_" + std::string(64, '0')});
  BOOST_TEST(wrong->status() == 401u);

  // A better-auth session of a member whose active organization is the tenant's.
  const std::string user = "user_" + test::random_hex(12), token = "tok_" + test::random_hex(24);
  db.exec("INSERT INTO \"user\" (id, name, email, \"emailVerified\") VALUES (" + test::quote(user) + ", 'U', " +
          test::quote(user + "@example.com") + ", true);"
          "INSERT INTO member (id, \"organizationId\", \"userId\", role, \"createdAt\") VALUES ('m_" +
          test::random_hex(12) + "', " + test::quote(t.org_id) + ", " + test::quote(user) + ", 'owner', now());"
          "INSERT INTO session (id, \"expiresAt\", token, \"updatedAt\", \"userId\", \"activeOrganizationId\") "
          "VALUES ('s_" + test::random_hex(12) + "', now() + interval '1 hour', " + test::quote(token) +
          ", now(), " + test::quote(user) + ", " + test::quote(t.org_id) + ")");
  std::vector<std::unique_ptr<sse_client>> streams;
  streams.push_back(open_stream(*server, "", {test::api_key_header(t.api_key)}));
  streams.push_back(open_stream(*server, "", {"Authorization: Bearer " + t.api_key}));
  streams.push_back(open_stream(*server, "", {"Cookie: better-auth.session_token=" +
                                                 auth::sign_session_cookie(token, secret)}));
  for (auto& s : streams) BOOST_REQUIRE(s->status() == 200u);
  test::insert_attempts(db, t, {spec("evt_auth")});
  for (auto& s : streams) {
    auto e = next_attempt(*s);
    BOOST_REQUIRE(e);
    BOOST_TEST(field(e->data, "event_id") == "evt_auth");
  }
}

BOOST_AUTO_TEST_CASE(cursors_are_bound_to_tenant_filters_and_kind) {
  test::sql_session db;
  const auto t = test::make_tenant(db);
  const auto other = test::make_tenant(db);
  for (int i = 0; i < 3; ++i) test::insert_attempts(db, t, {spec("evt_c" + std::to_string(i))});
  auto server = live_tail_server();
  const auto key = test::api_key_header(t.api_key);
  std::string id;
  {
    auto c = open_stream(*server, "", {key});
    test::insert_attempts(db, t, {spec("evt_c9")});
    auto e = next_attempt(*c);
    BOOST_REQUIRE(e);
    id = e->id;
  }
  auto check_400 = [&](const std::string& query, const std::vector<std::string>& headers, const std::string& words) {
    auto c = open_stream(*server, query, headers);
    BOOST_TEST(c->status() == 400u, query);
    BOOST_TEST(c->body().find(words) != std::string::npos, c->body());
  };
  check_400("", {test::api_key_header(other.api_key), "Last-Event-ID: " + id}, "not valid");
  check_400("?status=failed", {key, "Last-Event-ID: " + id}, "other filters");
  std::string edited = id;
  edited[10] = edited[10] == 'A' ? 'B' : 'A';
  check_400("", {key, "Last-Event-ID: " + edited}, "not valid");
  check_400("", {key, "Last-Event-ID: garbage"}, "not valid");
  // A listing cursor is not a stream cursor, nor the other way round.
  const auto page = server->get("/v1/delivery-attempts?limit=1", {key});
  const std::string listing_cursor(page.json().at("pagination").at("next_cursor").as_string());
  check_400("?cursor=" + listing_cursor, {key}, "not valid");
  BOOST_TEST(server->get("/v1/delivery-attempts?cursor=" + id, {key}).status == 400u);
  check_400("?status=nope", {key}, "status must be one or more of");
  // Malformed requests are refused before any credential is looked at.
  check_400("?cursor=garbage", {}, "not valid");
}

BOOST_AUTO_TEST_CASE(subscribers_are_limited_per_tenant_and_per_process) {
  test::sql_session db;
  const auto a = test::make_tenant(db);
  const auto b = test::make_tenant(db);
  const auto c = test::make_tenant(db);
  auto server = live_tail_server(2, [](server::server_config& cfg) {
    cfg.live_tail.max_subscribers_per_tenant = 2;
    cfg.live_tail.max_subscribers = 3;
  });
  auto a1 = open_stream(*server, "", {test::api_key_header(a.api_key)});
  auto a2 = open_stream(*server, "?status=failed", {test::api_key_header(a.api_key)});
  BOOST_REQUIRE(a1->status() == 200u);
  BOOST_REQUIRE(a2->status() == 200u);
  auto a3 = open_stream(*server, "", {test::api_key_header(a.api_key)});
  BOOST_TEST(a3->status() == 429u);
  BOOST_TEST(a3->header("retry-after") != "");
  BOOST_TEST(boost::json::parse(a3->body()).at("status").as_int64() == 429);
  BOOST_TEST(a3->body().find("at most 2") != std::string::npos);
  auto b1 = open_stream(*server, "", {test::api_key_header(b.api_key)});
  BOOST_TEST(b1->status() == 200u);
  auto c1 = open_stream(*server, "", {test::api_key_header(c.api_key)});
  BOOST_TEST(c1->status() == 503u);
  BOOST_TEST(c1->header("retry-after") != "");
  BOOST_TEST(boost::json::parse(c1->body()).at("status").as_int64() == 503);
  BOOST_TEST(metric(*server, "hookstream_stream_subscribers") == 3);
  BOOST_TEST(metric(*server, "hookstream_stream_refused_tenant_limit_total") == 1);
  BOOST_TEST(metric(*server, "hookstream_stream_refused_process_limit_total") == 1);

  // A client that hangs up gives its place back at once.
  a1->close();
  std::unique_ptr<sse_client> again;
  for (int i = 0; i < 100; ++i) {
    again = open_stream(*server, "", {test::api_key_header(a.api_key)});
    if (again->status() == 200u) break;
    std::this_thread::sleep_for(20ms);
  }
  BOOST_TEST(again->status() == 200u);
}

BOOST_AUTO_TEST_CASE(a_client_that_does_not_read_is_overflowed_and_closed) {
  test::sql_session db;
  const auto t = test::make_tenant(db);
  auto server = live_tail_server(1, [](server::server_config& c) {
    c.live_tail.subscriber_buffer_events = 64;
    c.live_tail.subscriber_buffer_bytes = 1024 * 1024;
  });
  // A small receive buffer: the kernel soon stops taking bytes for it.
  auto slow = open_stream(*server, "", {test::api_key_header(t.api_key)}, 4096);
  auto reader = open_stream(*server, "", {test::api_key_header(t.api_key)});
  BOOST_REQUIRE(slow->status() == 200u);
  // Large rows fill the socket buffers, then the subscriber's queue.
  const std::string body(30000, 'x');
  std::atomic<int> read_by_reader{0};
  std::thread drain([&] {  // the other client keeps up, unaffected (no Boost.Test calls in this thread)
    while (read_by_reader < 300) {
      auto e = reader->next(5s);
      if (!e || e->event == "overflow") break;
      if (e->event == "attempt") ++read_by_reader;
    }
  });
  for (int i = 0; i < 60; ++i) {
    std::string values;
    for (int j = 0; j < 5; ++j) {
      const auto id = "da_" + test::random_hex(32);
      values += std::string(values.empty() ? "" : ",") + "(" + test::quote(id) + "," + test::quote(t.org_id) + "," +
                test::quote(t.env_id) + ",'evt_big'," + test::quote(t.connection_ids[0]) + "," +
                test::quote(t.destination_ids[0]) + ",'https://x','POST','success',convert_to(" +
                test::quote(body) + ",'UTF8'))";
    }
    db.exec("INSERT INTO delivery_attempts (id, org_id, env_id, event_id, connection_id, destination_id, "
            "request_url, request_method, status, response_body) VALUES " + values);
  }
  drain.join();
  BOOST_TEST(read_by_reader == 300);
  // The slow client now reads: a prefix of the events, in order (with
  // heartbeats where the inserts paused), then the overflow notice, then the
  // end of the stream.
  int events = 0;
  std::optional<sse_event> last;
  while (auto e = slow->next(5s)) {
    last = e;
    if (e->event == "heartbeat") continue;
    if (e->event != "attempt") break;
    ++events;
  }
  BOOST_REQUIRE(last);
  BOOST_TEST(last->event == "overflow");
  BOOST_TEST(last->data.find("Last-Event-ID") != std::string::npos);
  BOOST_TEST(events < 300);
  BOOST_TEST(!slow->next(5s));
  BOOST_TEST(slow->ended());
  BOOST_TEST(metric(*server, "hookstream_stream_overflows_total") == 1);
}

BOOST_AUTO_TEST_CASE(a_client_that_never_reads_is_dropped_within_the_write_deadline) {
  test::sql_session db;
  const auto t = test::make_tenant(db);
  auto server = live_tail_server(1, [](server::server_config& c) {
    c.live_tail.subscriber_buffer_events = 4;
    c.listener.write_timeout = 500ms;
  });
  auto stuck = open_stream(*server, "", {test::api_key_header(t.api_key)}, 4096);
  BOOST_REQUIRE(stuck->status() == 200u);
  const std::string body(30000, 'y');
  for (int i = 0; i < 300; ++i)
    db.exec("INSERT INTO delivery_attempts (id, org_id, env_id, event_id, connection_id, destination_id, "
            "request_url, request_method, status, response_body) VALUES ('da_" + test::random_hex(32) + "'," +
            test::quote(t.org_id) + "," + test::quote(t.env_id) + ",'evt_y'," + test::quote(t.connection_ids[0]) +
            "," + test::quote(t.destination_ids[0]) + ",'https://x','POST','success',convert_to(" + test::quote(body) +
            ",'UTF8'))");
  // Never read: the server gives up on its write and lets the stream go.
  std::int64_t open = 1;
  for (int i = 0; i < 100 && open != 0; ++i) {
    std::this_thread::sleep_for(50ms);
    open = metric(*server, "hookstream_stream_subscribers");
  }
  BOOST_TEST(open == 0);
  BOOST_TEST(metric(*server, "hookstream_stream_overflows_total") == 1);
}

BOOST_AUTO_TEST_CASE(an_expired_cursor_is_gone) {
  // A database of its own: pruning is global, and short retention here must
  // not take other tests' events.
  const test::scratch_database scratch("live_tail");
  const std::string& url = scratch.url();
  BOOST_REQUIRE(storage::migrate_database(url, 60s));
  {
    test::sql_session db(url);
    const auto t = test::make_tenant(db);
    auto server = pruning_server(url, 1s, 100ms);
    const auto key = test::api_key_header(t.api_key);
    std::string old_id;
    {
      auto c = open_stream(*server, "", {key});
      test::insert_attempts(db, t, {spec("evt_old")});
      test::insert_attempts(db, t, {spec("evt_old2")});
      auto e = next_attempt(*c);
      BOOST_REQUIRE(e);
      old_id = e->id;
    }
    // The log is pruned past it (and a fresh event arrives meanwhile).
    for (int i = 0; i < 100 && db.scalar("SELECT count(*) FROM attempt_events") != "0"; ++i)
      std::this_thread::sleep_for(50ms);
    BOOST_REQUIRE(db.scalar("SELECT count(*) FROM attempt_events") == "0");
    auto gone = open_stream(*server, "", {key, "Last-Event-ID: " + old_id});
    BOOST_TEST(gone->status() == 410u);
    BOOST_TEST(gone->body().find("read the listing again") != std::string::npos, gone->body());
    BOOST_TEST(metric(*server, "hookstream_stream_pruned_events_total") >= 2);
  }
}

// A backlog of several batches (5,000 events a statement) goes in one pass:
// the pass's statements take turns with the reads, without waiting for the
// next interval. Passes start 4 s apart, so all of the backlog pruned within
// 3.5 s of the first pruned event is the first pass's. (Timed from that event,
// not from the server's start: under a loaded CI machine the hub may take
// seconds to connect.)
BOOST_AUTO_TEST_CASE(a_backlog_of_several_batches_is_pruned_in_one_pass) {
  const test::scratch_database scratch("live_tail");
  const std::string& url = scratch.url();
  BOOST_REQUIRE(storage::migrate_database(url, 60s));
  test::sql_session db(url);
  const auto t = test::make_tenant(db);
  constexpr int backlog = 12001;  // two whole batches and one event
  db.exec(test::generated_attempts(t, 0, "'da_' || g", "success", "now()", 1, backlog));
  std::this_thread::sleep_for(1100ms);  // past the retention below
  auto server = pruning_server(url, 1s, 4s);
  const auto pruned = [&] { return metric(*server, "hookstream_stream_pruned_events_total"); };
  const auto started = std::chrono::steady_clock::now();
  while (pruned() == 0 && std::chrono::steady_clock::now() < started + 30s) std::this_thread::sleep_for(20ms);
  const auto first_pruned = std::chrono::steady_clock::now();
  BOOST_REQUIRE_MESSAGE(pruned() > 0, "no prune pass within 30 s");
  while (pruned() < backlog && std::chrono::steady_clock::now() < first_pruned + 3500ms)
    std::this_thread::sleep_for(20ms);
  BOOST_TEST(pruned() == backlog);
  BOOST_TEST(*db.scalar("SELECT count(*) FROM attempt_events") == "0");
}

BOOST_AUTO_TEST_CASE(shutdown_ends_streams_cleanly) {
  test::sql_session db;
  const auto t = test::make_tenant(db);
  server::server_config cfg;
  cfg.database_url = cfg.pool.conninfo = test::database_url();
  cfg.port = 0;
  cfg.threads = 2;
  cfg.handler.cursor_secret = "test-cursor-secret-0123456789abcdef";
  cfg.listener.shutdown_timeout = 5s;
  cfg.live_tail.heartbeat = 60s;
  server::server srv(cfg);
  srv.start();
  std::vector<std::unique_ptr<sse_client>> streams;
  for (int i = 0; i < 4; ++i) {
    for (int tries = 0; tries < 200; ++tries) {
      auto c = std::make_unique<sse_client>(srv.port(), stream_path, std::vector{test::api_key_header(t.api_key)});
      if (c->status() == 200u) {
        streams.push_back(std::move(c));
        break;
      }
      std::this_thread::sleep_for(50ms);
    }
  }
  BOOST_REQUIRE(streams.size() == 4u);
  const auto stopping = std::chrono::steady_clock::now();
  srv.stop();
  for (auto& s : streams) {
    BOOST_TEST(!s->next(3s));
    BOOST_TEST(s->ended_cleanly());  // the last chunk, not a cut connection
  }
  srv.wait();
  // Well before the 5 s shutdown timeout: streams do not hold the drain up.
  BOOST_TEST((std::chrono::steady_clock::now() - stopping < 2s));
}

BOOST_AUTO_TEST_CASE(a_transport_that_cannot_stream_gets_501) {
  test::sql_session db;
  const auto t = test::make_tenant(db);
  boost::asio::io_context io;
  storage::pool_config pc;
  pc.conninfo = test::database_url();
  storage::connection_pool pool(io.get_executor(), pc);
  server::handler_config hc;
  hc.cursor_secret = "test-cursor-secret-0123456789abcdef";
  server::api_handler api(pool, hc);
  server::http_request req{boost::beast::http::verb::get, stream_path, 11};
  req.set("X-API-Key", t.api_key);
  auto fut = boost::asio::co_spawn(io, api.handle(req), boost::asio::use_future);
  io.run();
  const auto res = fut.get();
  BOOST_TEST(res.result_int() == 501u);
  BOOST_TEST(res.body().find("api_handler::serve") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
