// storage::detail::connect_target: which host names need DNS, and the libpq
// options that connect to the resolved addresses without libpq's blocking look-up.
#include <hookstream/storage/detail/connect_target.hpp>
#include <hookstream/storage/error.hpp>

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <map>

using hookstream::storage::detail::connect_target;
using hookstream::storage::errc;

namespace {
connect_target parse(const std::string& conninfo) {
  auto r = connect_target::parse(conninfo);
  if (auto* error = std::get_if<std::string>(&r)) BOOST_FAIL("parse failed: " + *error);
  return std::get<connect_target>(std::move(r));
}

std::map<std::string, std::string> as_map(const std::vector<connect_target::option>& options) {
  std::map<std::string, std::string> m;
  for (const auto& [k, v] : options) {
    BOOST_TEST_INFO("option " << k);
    BOOST_TEST(m.count(k) == 0u);  // each keyword once
    m[k] = v;
  }
  return m;
}

// PGHOST would change what an unset host means; keep it out of these tests.
struct no_pghost {
  no_pghost() { ::unsetenv("PGHOST"); }
};
}  // namespace

BOOST_AUTO_TEST_SUITE(connect_targets)

BOOST_FIXTURE_TEST_CASE(ip_addresses_need_no_lookup, no_pghost) {
  const auto t = parse("postgresql://app@127.0.0.1:5433/hookstream?sslmode=require");
  BOOST_TEST(t.names_to_resolve().empty());
  auto m = as_map(*t.with_addresses({}));
  BOOST_TEST(m["host"] == "127.0.0.1");
  BOOST_TEST(m["port"] == "5433");
  BOOST_TEST(m["dbname"] == "hookstream");
  BOOST_TEST(m["user"] == "app");
  BOOST_TEST(m["sslmode"] == "require");
  BOOST_TEST(m.count("hostaddr") == 0u);
}

BOOST_FIXTURE_TEST_CASE(a_name_becomes_one_entry_per_address_and_keeps_its_host, no_pghost) {
  const auto t = parse("postgresql://app:secret@localhost:5433/hookstream?sslmode=require");
  BOOST_TEST(t.names_to_resolve() == std::vector<std::string>{"localhost"}, boost::test_tools::per_element());
  auto m = as_map(*t.with_addresses({{"::1", "127.0.0.1"}}));
  BOOST_TEST(m["host"] == "localhost,localhost");  // TLS (SNI, verify-full) and .pgpass use it
  BOOST_TEST(m["hostaddr"] == "::1,127.0.0.1");
  BOOST_TEST(m["port"] == "5433");  // one port applies to every entry
  BOOST_TEST(m["password"] == "secret");
  BOOST_TEST(m["sslmode"] == "require");
}

BOOST_FIXTURE_TEST_CASE(per_host_ports_follow_their_host, no_pghost) {
  const auto t = parse("host=db1,10.0.0.5,db2,db1 port=5432,5433,5434,5435 dbname=x");
  BOOST_TEST(t.names_to_resolve() == (std::vector<std::string>{"db1", "db2"}), boost::test_tools::per_element());
  auto m = as_map(*t.with_addresses({{"192.0.2.1", "192.0.2.2"}, {"192.0.2.9"}}));
  BOOST_TEST(m["host"] == "db1,db1,10.0.0.5,db2,db1,db1");
  BOOST_TEST(m["hostaddr"] == "192.0.2.1,192.0.2.2,10.0.0.5,192.0.2.9,192.0.2.1,192.0.2.2");
  BOOST_TEST(m["port"] == "5432,5432,5433,5434,5435,5435");
}

BOOST_FIXTURE_TEST_CASE(unix_sockets_keep_an_empty_hostaddr, no_pghost) {
  const auto only_socket = parse("host=/var/run/postgresql dbname=x");
  BOOST_TEST(only_socket.names_to_resolve().empty());
  BOOST_TEST(as_map(*only_socket.with_addresses({}))["host"] == "/var/run/postgresql");

  const auto mixed = parse("host=/tmp,db1 dbname=x");
  auto m = as_map(*mixed.with_addresses({{"192.0.2.1"}}));
  BOOST_TEST(m["host"] == "/tmp,db1");
  BOOST_TEST(m["hostaddr"] == ",192.0.2.1");
}

BOOST_FIXTURE_TEST_CASE(an_explicit_hostaddr_or_a_service_is_left_to_libpq, no_pghost) {
  const auto with_addr = parse("host=db.example hostaddr=192.0.2.7 dbname=x");
  BOOST_TEST(with_addr.names_to_resolve().empty());
  auto m = as_map(*with_addr.with_addresses({}));
  BOOST_TEST(m["host"] == "db.example");
  BOOST_TEST(m["hostaddr"] == "192.0.2.7");
  BOOST_TEST(parse("service=prod host=db.example").names_to_resolve().empty());
}

BOOST_FIXTURE_TEST_CASE(a_name_without_addresses_is_left_out, no_pghost) {
  const auto t = parse("host=gone.example,192.0.2.3 dbname=x");
  auto m = as_map(*t.with_addresses({{}}));
  BOOST_TEST(m["host"] == "192.0.2.3");
  BOOST_TEST(m["hostaddr"] == "192.0.2.3");
  // With nothing left, libpq must not fall back to its default (another server).
  BOOST_TEST(!parse("host=gone.example dbname=x").with_addresses({{}}).has_value());
}

BOOST_AUTO_TEST_CASE(pghost_is_honoured_when_the_string_names_no_host) {
  ::setenv("PGHOST", "db-from-env.example", 1);
  const auto t = parse("dbname=x");
  ::unsetenv("PGHOST");
  BOOST_TEST(t.names_to_resolve() == std::vector<std::string>{"db-from-env.example"},
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_malformed_string_is_an_error_with_libpq_words) {
  auto r = connect_target::parse("host='unterminated");
  BOOST_REQUIRE(std::holds_alternative<std::string>(r));
  BOOST_TEST(!std::get<std::string>(r).empty());
  BOOST_TEST(std::holds_alternative<std::string>(connect_target::parse("postgresql://[::1/x")));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(sqlstates)

BOOST_AUTO_TEST_CASE(session_ending_states_are_connection_failures) {
  for (const char* s : {"57P01", "57P02", "57P03", "08006", "08003", "08001", "53300"}) {
    BOOST_TEST_INFO(s);
    BOOST_TEST((hookstream::storage::classify_sqlstate(s) == errc::connection_failed));
  }
  BOOST_TEST((hookstream::storage::classify_sqlstate("57014") == errc::query_timeout));
  for (const char* s : {"42703", "23505", "40001", "", "57P0", "53200"}) {
    BOOST_TEST_INFO(s);
    BOOST_TEST((hookstream::storage::classify_sqlstate(s) == errc::query_failed));
  }
}

BOOST_AUTO_TEST_SUITE_END()
