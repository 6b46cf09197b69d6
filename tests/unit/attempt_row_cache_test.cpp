// storage::attempt_row_cache without a database: keys from the wire, copies
// that own their values, the tenant guard, the TTL, the byte bound with
// least-recently-used eviction, and when a page reads identities first.
#include <hookstream/storage/attempt_row_cache.hpp>

#include <boost/test/unit_test.hpp>

#include <string>

using namespace std::chrono_literals;
namespace storage = hookstream::storage;

namespace {

storage::row_version_key key(std::uint32_t table, std::uint32_t block, std::uint16_t slot, std::uint32_t xmin,
                             std::int32_t cap = 1024) {
  auto be = [](std::uint64_t v, int bytes) {
    std::string s;
    for (int i = bytes - 1; i >= 0; --i) s += static_cast<char>((v >> (8 * i)) & 0xff);
    return s;
  };
  storage::row_version_key k;
  BOOST_REQUIRE(storage::row_version_key::from_wire(be(table, 4), be(block, 4) + be(slot, 2), be(xmin, 4), cap, k));
  return k;
}

// A row of `tenant` whose values take about `bytes` bytes.
std::shared_ptr<const storage::cached_attempt> row(const storage::tenant_id& tenant, const std::string& id,
                                                   std::size_t bytes = 10) {
  const std::string big(bytes, 'x');
  storage::delivery_attempt_view v;
  v.id = id;
  v.org_id = tenant.org_id;
  v.env_id = tenant.env_id;
  v.status = "success";
  v.response_body = big;
  return storage::cached_attempt::copy_of(v);
}

const storage::tenant_id me{"org_a", "env_a"};

}  // namespace

BOOST_AUTO_TEST_SUITE(attempt_row_cache)

BOOST_AUTO_TEST_CASE(every_part_of_a_row_version_tells_keys_apart) {
  const auto k = key(16384, 7, 3, 1000);
  BOOST_TEST((k == key(16384, 7, 3, 1000)));
  for (const auto& other : {key(16385, 7, 3, 1000), key(16384, 8, 3, 1000), key(16384, 7, 4, 1000),
                            key(16384, 7, 3, 1001), key(16384, 7, 3, 1000, 2048)})
    BOOST_TEST(!(k == other));
  storage::row_version_key out;
  BOOST_TEST(!storage::row_version_key::from_wire("abc", "abcdef", "abcd", 1, out));  // tableoid of 3 bytes
  BOOST_TEST(!storage::row_version_key::from_wire("abcd", "abcd", "abcd", 1, out));   // ctid of 4 bytes
  BOOST_TEST(!storage::row_version_key::from_wire("abcd", "abcdef", "abcdefgh", 1, out));
}

BOOST_AUTO_TEST_CASE(a_copy_owns_its_values) {
  std::string id = "da_1", org = "org_a", env = "env_a", headers = "{\"a\":\"é\"}";
  storage::delivery_attempt_view v;
  v.id = id;
  v.org_id = org;
  v.env_id = env;
  v.request_headers = headers;
  v.request_body_size = 42;
  v.connection_name = std::string_view("named");
  const auto copy = storage::cached_attempt::copy_of(v);
  for (auto* s : {&id, &org, &env, &headers}) s->assign(s->size(), '?');
  BOOST_TEST(copy->view.id == "da_1");
  BOOST_TEST(copy->view.org_id == "org_a");
  BOOST_TEST(copy->view.env_id == "env_a");
  BOOST_REQUIRE(copy->view.request_headers);
  BOOST_TEST(*copy->view.request_headers == "{\"a\":\"é\"}");
  BOOST_TEST(!copy->view.response_body);  // null stays null
  BOOST_TEST(copy->view.request_body_size == 42);
  BOOST_TEST(!copy->view.connection_name);  // names are never cached here
}

// With a prerender, the row is kept as its bytes plus what identifies and
// places it (names, cursors, the tenant guard): nothing else is copied, so a
// row costs its prerendered bytes instead of those and its values.
BOOST_AUTO_TEST_CASE(a_row_kept_prerendered_keeps_only_its_placing_fields) {
  std::string big(4000, 'b');
  storage::delivery_attempt_view v;
  v.id = "da_1";
  v.org_id = "org_a";
  v.env_id = "env_a";
  v.event_id = "evt_1";
  v.connection_id = "conn_1";
  v.destination_id = "dest_1";
  v.request_url = "https://example.test/hook";
  v.request_method = "POST";
  v.request_headers = big;
  v.response_body = big;
  v.response_status = 200;
  v.status = "success";
  v.created_at = 1700000000123456;
  v.attempt_number = 2;
  v.connection_name = std::string_view("named");
  std::size_t seen_names = 0;
  const storage::row_prerenderer prerender = [&](const storage::delivery_attempt_view& r) {
    seen_names += r.connection_name.has_value();
    return std::string(r.id) + "|" + std::string(r.status) + "|" + std::to_string(r.response_body->size());
  };
  const auto kept = storage::cached_attempt::copy_of(v, prerender);
  BOOST_TEST(kept->prerendered == "da_1|success|4000");  // made from the whole row
  BOOST_TEST(seen_names == 0u);                          // without its names
  big.assign(big.size(), '?');                           // the copy owns what it keeps
  const auto& k = kept->view;
  BOOST_TEST(k.id == "da_1");
  BOOST_TEST(k.org_id == "org_a");
  BOOST_TEST(k.env_id == "env_a");
  BOOST_TEST(k.connection_id == "conn_1");
  BOOST_TEST(k.destination_id == "dest_1");
  BOOST_TEST(k.created_at == v.created_at);
  BOOST_TEST(k.event_id.empty());
  BOOST_TEST(k.status.empty());
  BOOST_TEST(k.request_url.empty());
  BOOST_TEST(!k.request_headers);
  BOOST_TEST(!k.response_body);
  BOOST_TEST(!k.response_status);
  BOOST_TEST(!k.attempt_number);
  BOOST_TEST(!k.connection_name);
  BOOST_TEST(kept->values == "da_1org_aenv_aconn_1dest_1");
  const auto whole = storage::cached_attempt::copy_of(v);
  BOOST_TEST(whole->view.status == "success");
  BOOST_TEST(kept->charge + 8000 <= whole->charge);
}

BOOST_AUTO_TEST_CASE(a_row_is_found_only_for_its_own_tenant_and_within_its_ttl) {
  storage::attempt_row_cache cache({.max_bytes = 1 << 20, .ttl = 100ms});
  const auto t0 = storage::attempt_row_cache::clock::now();
  cache.store(key(1, 1, 1, 1), row(me, "da_1"), t0);
  BOOST_TEST(cache.find(key(1, 1, 1, 1), me, t0 + 99ms));
  // Another org, or another environment of the same org, never sees it (and
  // the entry, which cannot be right for anyone asking under this key, goes).
  BOOST_TEST(!cache.find(key(1, 1, 1, 1), {"org_a", "env_b"}, t0));
  BOOST_TEST(cache.size() == 0u);
  cache.store(key(1, 1, 1, 1), row(me, "da_1"), t0);
  BOOST_TEST(!cache.find(key(1, 1, 1, 1), {"org_b", "env_a"}, t0));
  cache.store(key(1, 1, 1, 1), row(me, "da_1"), t0);
  BOOST_TEST(!cache.find(key(1, 1, 1, 1), me, t0 + 100ms));  // expired
  BOOST_TEST(cache.size() == 0u);
  BOOST_TEST(cache.bytes() == 0u);
}

BOOST_AUTO_TEST_CASE(the_least_recently_used_rows_go_first_and_the_bytes_stay_bounded) {
  const std::size_t one = row(me, "da_0", 1000)->charge;
  storage::attempt_row_cache cache({.max_bytes = 3 * one + one / 2, .ttl = 1h});
  const auto t0 = storage::attempt_row_cache::clock::now();
  for (std::uint32_t i = 0; i < 3; ++i) cache.store(key(1, 1, 1, i), row(me, "da_" + std::to_string(i), 1000), t0);
  BOOST_TEST(cache.size() == 3u);
  BOOST_TEST(cache.find(key(1, 1, 1, 0), me, t0));               // 0 is now the most recently used
  cache.store(key(1, 1, 1, 3), row(me, "da_3", 1000), t0);         // evicts 1
  BOOST_TEST(!cache.find(key(1, 1, 1, 1), me, t0));
  BOOST_TEST(cache.find(key(1, 1, 1, 0), me, t0));
  BOOST_TEST(cache.find(key(1, 1, 1, 2), me, t0));
  BOOST_TEST(cache.find(key(1, 1, 1, 3), me, t0));
  BOOST_TEST(cache.bytes() <= 3 * one + one / 2);
  // A row larger than the whole cache is not kept, and evicts nothing.
  cache.store(key(1, 1, 1, 9), row(me, "da_9", 4 * one), t0);
  BOOST_TEST(!cache.find(key(1, 1, 1, 9), me, t0));
  BOOST_TEST(cache.size() == 3u);
  // Storing under a key already there replaces the entry, bytes included.
  cache.store(key(1, 1, 1, 3), row(me, "da_3", 10), t0);
  BOOST_TEST(cache.size() == 3u);
  BOOST_TEST(cache.bytes() == 2 * one + row(me, "da_3", 10)->charge);
  // Nothing at all with a bound of 0.
  storage::attempt_row_cache off({.max_bytes = 0, .ttl = 1h});
  BOOST_TEST(!off.enabled());
  off.store(key(1, 1, 1, 1), row(me, "da_1"), t0);
  BOOST_TEST(off.size() == 0u);
}

BOOST_AUTO_TEST_CASE(a_request_reads_identities_first_once_its_rows_were_kept) {
  using plan = storage::attempt_row_cache::page_plan;
  storage::attempt_row_cache cache;
  const std::uint64_t dashboard = 1, walk_page = 2;
  BOOST_TEST((cache.plan_page(dashboard) == plan::whole));       // first sight: keep nothing
  BOOST_TEST((cache.plan_page(dashboard) == plan::whole_kept));  // it came back: keep its rows
  cache.record_kept(dashboard);
  BOOST_TEST((cache.plan_page(dashboard) == plan::identities));
  cache.record_found(dashboard, 50, 49);  // a new attempt since: still worth it
  BOOST_TEST((cache.plan_page(dashboard) == plan::identities));
  // Its rows were pushed out before it came back: whole reads, one in eight kept.
  cache.record_found(dashboard, 50, 10);
  int kept = 0;
  for (int i = 0; i < 64; ++i) kept += cache.plan_page(dashboard) == plan::whole_kept;
  BOOST_TEST(kept == 8);
  // Another request learns on its own.
  BOOST_TEST((cache.plan_page(walk_page) == plan::whole));
  // Sampling after identities that found too few rows: one in eight.
  int after_misses = 0;
  for (int i = 0; i < 64; ++i) after_misses += cache.keep_after_misses();
  BOOST_TEST(after_misses == 8);
}

// A page that changes under writers on every read (the newest attempts being
// inserted and settled): after two identity reads in a row that needed another
// statement, it is read whole, by identities one time in 2, 4, ... 64; one
// identity read served from the cache alone brings identities back every time.
BOOST_AUTO_TEST_CASE(a_page_that_keeps_changing_is_read_whole_and_tried_again_ever_less_often) {
  using plan = storage::attempt_row_cache::page_plan;
  storage::attempt_row_cache cache;
  const std::uint64_t head = 7;
  cache.plan_page(head);
  cache.plan_page(head);
  cache.record_kept(head);
  const auto identities_in = [&](int reads) {
    int n = 0;
    for (int i = 0; i < reads; ++i) n += cache.plan_page(head) == plan::identities;
    return n;
  };
  cache.record_found(head, 50, 47);  // a second statement followed: once is no pattern
  BOOST_TEST(identities_in(16) == 16);
  int expected_period = 2;
  for (int churn = 2; churn <= 9; ++churn) {
    cache.record_found(head, 50, 46);
    const int period = std::min(expected_period, 64);
    BOOST_TEST(identities_in(128) == 128 / period, "after " << churn << " reads needing more");
    expected_period *= 2;
  }
  // Rows kept by a whole read do not make it trusted again; a page served from
  // the cache alone does.
  cache.record_kept(head);
  BOOST_TEST(identities_in(128) == 2);
  cache.record_found(head, 50, 50);
  BOOST_TEST(identities_in(16) == 16);
}

BOOST_AUTO_TEST_CASE(the_requests_it_remembers_are_bounded) {
  storage::attempt_row_cache cache;
  for (std::uint64_t r = 0; r < 3 * storage::attempt_row_cache::max_requests; ++r) {
    cache.plan_page(r);
    BOOST_TEST_REQUIRE(cache.remembered_requests() <= storage::attempt_row_cache::max_requests);
  }
}

BOOST_AUTO_TEST_SUITE_END()
