// Pages far larger than a TLS record (16 KiB), through the whole stack: run by
// the `api` test over plain TCP and by `api_tls` over TLS, where the rows span
// many records and OpenSSL may hold decrypted bytes that poll(2) cannot see.
#include "support/test_database.hpp"
#include "support/test_server.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

using namespace hookstream;

BOOST_AUTO_TEST_SUITE(large_pages)

BOOST_AUTO_TEST_CASE(pages_with_large_bodies_arrive_whole) {
  test::sql_session db;
  const auto tenant = test::make_tenant(db);
  std::vector<test::attempt_spec> rows(60);
  for (std::size_t i = 0; i < rows.size(); ++i)
    rows[i].created_at = "2026-11-28 08:" + std::to_string(10 + i % 50) + ":00." + std::to_string(100 + i) + "+00";
  test::insert_attempts(db, tenant, rows);
  // Bodies of 5 to 60 KB, each with its own length, so a lost or repeated
  // record shows up as a wrong size or a broken JSON document.
  db.exec("UPDATE delivery_attempts SET response_body = convert_to(repeat(md5(id), 150 + (abs(hashtext(id)) % 1700)), "
          "'UTF8') WHERE org_id = " + test::quote(tenant.org_id));
  const auto expected = db.column("SELECT length(response_body) FROM delivery_attempts WHERE org_id = " +
                                  test::quote(tenant.org_id) + " ORDER BY created_at DESC, id DESC");
  // Bodies arrive whole: the listing's field cap is raised above them.
  test::test_server server(1, [](server::server_config& c) { c.handler.listing_field_bytes = 64 * 1024; });
  for (int round = 0; round < 5; ++round) {
    auto r = server.get("/v1/delivery-attempts?limit=60", {test::api_key_header(tenant.api_key)});
    BOOST_REQUIRE_EQUAL(r.status, 200u);
    BOOST_TEST(r.body.size() > 500'000u);
    const auto doc = r.json();
    const auto& list = doc.at("delivery_attempts").as_array();
    BOOST_REQUIRE_EQUAL(list.size(), expected.size());
    for (std::size_t i = 0; i < list.size(); ++i)
      BOOST_TEST(list[i].at("response_body").as_string().size() == std::stoul(expected[i]));
  }
}

BOOST_AUTO_TEST_SUITE_END()
