// Command line and environment of hookstream-server: server::parse_server_config.
#include <hookstream/server/config.hpp>

#include <boost/test/unit_test.hpp>

#include <array>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hs = hookstream::server;
using namespace std::chrono_literals;

namespace {

// Every environment variable the parser reads.
constexpr std::array<const char*, 23> config_env_vars{
    "HOOKSTREAM_LISTEN",
    "DATABASE_URL",
    "HOOKSTREAM_THREADS",
    "HOOKSTREAM_POOL_SIZE",
    "HOOKSTREAM_POOL_MAX_WAITERS",
    "HOOKSTREAM_ACTIVE_REQUESTS_PER_CONNECTION",
    "HOOKSTREAM_POOL_MAX_CONNECTING",
    "HOOKSTREAM_CONNECT_TIMEOUT_MS",
    "HOOKSTREAM_ACQUIRE_TIMEOUT_MS",
    "HOOKSTREAM_QUERY_TIMEOUT_MS",
    "HOOKSTREAM_REQUEST_TIMEOUT_MS",
    "HOOKSTREAM_READ_TIMEOUT_MS",
    "HOOKSTREAM_WRITE_TIMEOUT_MS",
    "HOOKSTREAM_SHUTDOWN_TIMEOUT_MS",
    "HOOKSTREAM_MAX_CONNECTIONS",
    "HOOKSTREAM_NO_MIGRATE",
    "HOOKSTREAM_MIGRATE_ONLY",
    "HOOKSTREAM_CURSOR_SECRET",
    "HOOKSTREAM_MAINTENANCE_DATABASE_URL",
    "HOOKSTREAM_REPLICA_URLS",
    "HOOKSTREAM_MAX_REPLICA_LAG_MS",
    "HOOKSTREAM_REPLICA_CHECK_INTERVAL_MS",
    "HOOKSTREAM_PREPARED_STATEMENTS",
};

// Unsets every configuration variable for the duration of a test case (so the
// environment the tests run in, DATABASE_URL in particular, cannot leak in), and
// restores the original values afterwards.
struct clean_environment {
  std::vector<std::pair<const char*, std::optional<std::string>>> saved;

  clean_environment() {
    for (const char* name : config_env_vars) {
      const char* v = std::getenv(name);
      saved.emplace_back(name, v ? std::optional<std::string>(v) : std::nullopt);
      ::unsetenv(name);
    }
  }
  ~clean_environment() {
    for (const auto& [name, value] : saved) {
      if (value) ::setenv(name, value->c_str(), 1);
      else ::unsetenv(name);
    }
  }
  clean_environment(const clean_environment&) = delete;
  clean_environment& operator=(const clean_environment&) = delete;

  static void set(const char* name, const char* value) { ::setenv(name, value, 1); }
};

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

hs::server_config parsed(const std::vector<std::string>& args) {
  auto outcome = hs::parse_server_config(args);
  BOOST_REQUIRE_MESSAGE(outcome.config.has_value(), "expected the arguments to parse, got: " << outcome.message);
  BOOST_TEST(outcome.exit_code == 0);
  return std::move(*outcome.config);
}

// The error message; fails the test case unless the outcome is an error (exit 2).
std::string error_of(const std::vector<std::string>& args) {
  auto outcome = hs::parse_server_config(args);
  BOOST_REQUIRE_MESSAGE(!outcome.config.has_value(), "expected the arguments to be rejected");
  BOOST_TEST(outcome.exit_code == 2);
  BOOST_TEST(!outcome.message.empty());
  return outcome.message;
}

const std::array<std::string_view, 14> value_options{
    "listen",           "database-url",       "threads",           "pool-size",
    "pool-max-waiters", "pool-max-connecting", "connect-timeout-ms", "acquire-timeout-ms",
    "query-timeout-ms", "request-timeout-ms", "read-timeout-ms",   "write-timeout-ms",
    "shutdown-timeout-ms", "max-connections"};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(config, clean_environment)

// --- --help ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(help_lists_every_option) {
  const auto outcome = hs::parse_server_config({"--help"});
  BOOST_TEST(!outcome.config.has_value());
  BOOST_TEST(outcome.exit_code == 0);
  for (auto name : value_options)
    BOOST_TEST(contains(outcome.message, "--" + std::string(name)), "usage lacks --" << name);
  BOOST_TEST(contains(outcome.message, "--no-migrate"));
  BOOST_TEST(contains(outcome.message, "--migrate-only"));
  BOOST_TEST(contains(outcome.message, "--help"));
  for (const char* env : config_env_vars) BOOST_TEST(contains(outcome.message, env), "usage lacks " << env);
  BOOST_TEST(outcome.message == hs::server_usage());
}

BOOST_AUTO_TEST_CASE(short_help_and_help_among_options) {
  const auto h = hs::parse_server_config({"-h"});
  BOOST_TEST(!h.config.has_value());
  BOOST_TEST(h.exit_code == 0);
  BOOST_TEST(h.message == hs::server_usage());

  const auto later = hs::parse_server_config({"--database-url", "x", "--help"});
  BOOST_TEST(!later.config.has_value());
  BOOST_TEST(later.exit_code == 0);
  BOOST_TEST(later.message == hs::server_usage());
}

BOOST_AUTO_TEST_CASE(help_needs_no_database) {
  const auto outcome = hs::parse_server_config({"--help"});
  BOOST_TEST(outcome.exit_code == 0);
  BOOST_TEST(contains(outcome.message, "Usage"));
}

// --- database URL ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(missing_database_url_is_an_error) {
  const auto message = error_of({});
  BOOST_TEST(contains(message, "DATABASE_URL"), message);
  BOOST_TEST(contains(message, "--database-url"), message);
  const auto with_other_options = error_of({"--threads", "2", "--listen", "0.0.0.0:9000"});
  BOOST_TEST(contains(with_other_options, "DATABASE_URL"), with_other_options);
}

BOOST_AUTO_TEST_CASE(empty_database_url_rejected) {
  error_of({"--database-url", ""});
  error_of({"--database-url="});
  // An empty environment variable counts as unset.
  set("DATABASE_URL", "");
  error_of({});
}

BOOST_AUTO_TEST_CASE(database_url_alone_gives_defaults) {
  const auto c = parsed({"--database-url", "postgresql://u@localhost/db"});
  BOOST_TEST(c.database_url == "postgresql://u@localhost/db");
  BOOST_TEST(c.pool.conninfo == "postgresql://u@localhost/db");
  BOOST_TEST(c.listen_address == "127.0.0.1");
  BOOST_TEST(c.port == 8080);
  BOOST_TEST(c.threads == 0u);
  BOOST_TEST(c.pool_size == 4u);
  BOOST_TEST(c.pool.max_size == 4u);
  BOOST_TEST(c.pool.max_waiters == 4096u);
  BOOST_TEST(c.pool.max_connecting == 2u);
  BOOST_TEST(c.pool.connect_timeout.count() == 5000);
  BOOST_TEST(c.pool.statement_timeout.count() == 5000);
  BOOST_TEST(c.handler.acquire_timeout.count() == 1000);
  BOOST_TEST(c.handler.request_timeout.count() == 10000);
  BOOST_TEST(c.listener.read_timeout.count() == 30000);
  BOOST_TEST(c.listener.write_timeout.count() == 10000);
  BOOST_TEST(c.listener.shutdown_timeout.count() == 10000);
  BOOST_TEST(c.listener.max_connections == 10000u);
  BOOST_TEST(c.migrate == true);
  BOOST_TEST(c.migrate_only == false);
}

// --- command line ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(separate_values_parsed) {
  const auto c = parsed({"--database-url", "X", "--listen", "0.0.0.0:9000", "--threads", "3", "--pool-size", "7"});
  BOOST_TEST(c.database_url == "X");
  BOOST_TEST(c.pool.conninfo == "X");
  BOOST_TEST(c.listen_address == "0.0.0.0");
  BOOST_TEST(c.port == 9000);
  BOOST_TEST(c.threads == 3u);
  BOOST_TEST(c.pool_size == 7u);
  BOOST_TEST(c.pool.max_size == 7u);
}

BOOST_AUTO_TEST_CASE(equals_form_parsed) {
  const auto c = parsed({"--database-url=host=/tmp dbname=hooks", "--listen=[::1]:8081", "--threads=5",
                         "--pool-size=9"});
  // Only the first '=' separates the name: the conninfo keeps its own.
  BOOST_TEST(c.database_url == "host=/tmp dbname=hooks");
  BOOST_TEST(c.pool.conninfo == "host=/tmp dbname=hooks");
  BOOST_TEST(c.listen_address == "::1");
  BOOST_TEST(c.port == 8081);
  BOOST_TEST(c.threads == 5u);
  BOOST_TEST(c.pool_size == 9u);
  BOOST_TEST(c.pool.max_size == 9u);
}

BOOST_AUTO_TEST_CASE(every_option_reaches_its_field) {
  const auto c = parsed({"--database-url=db",
                         "--listen=10.1.2.3:1234",
                         "--threads=8",
                         "--pool-size=12",
                         "--pool-max-waiters=0",
                         "--pool-max-connecting=3",
                         "--connect-timeout-ms=1111",
                         "--acquire-timeout-ms=2222",
                         "--query-timeout-ms=3333",
                         "--request-timeout-ms=4444",
                         "--read-timeout-ms=5555",
                         "--write-timeout-ms=6666",
                         "--shutdown-timeout-ms=7777",
                         "--max-connections=99"});
  BOOST_TEST(c.listen_address == "10.1.2.3");
  BOOST_TEST(c.port == 1234);
  BOOST_TEST(c.threads == 8u);
  BOOST_TEST(c.pool_size == 12u);
  BOOST_TEST(c.pool.max_size == 12u);
  BOOST_TEST(c.pool.max_waiters == 0u);
  BOOST_TEST(c.pool.max_connecting == 3u);
  BOOST_TEST(c.pool.connect_timeout.count() == 1111);
  BOOST_TEST(c.handler.acquire_timeout.count() == 2222);
  BOOST_TEST(c.pool.statement_timeout.count() == 3333);
  BOOST_TEST(c.handler.request_timeout.count() == 4444);
  BOOST_TEST(c.listener.read_timeout.count() == 5555);
  BOOST_TEST(c.listener.write_timeout.count() == 6666);
  BOOST_TEST(c.listener.shutdown_timeout.count() == 7777);
  BOOST_TEST(c.listener.max_connections == 99u);
}

BOOST_AUTO_TEST_CASE(row_cache_options_reach_the_handler) {
  const auto defaults = parsed({"--database-url=db"});
  BOOST_TEST(defaults.handler.row_cache.max_bytes == 32u * 1024 * 1024);
  BOOST_TEST(defaults.handler.row_cache.ttl.count() == 60000);
  const auto c = parsed({"--database-url=db", "--row-cache-bytes=0", "--row-cache-ttl-ms=250"});
  BOOST_TEST(c.handler.row_cache.max_bytes == 0u);
  BOOST_TEST(c.handler.row_cache.ttl.count() == 250);
  BOOST_TEST(!hs::parse_server_config({"--database-url=db", "--row-cache-bytes=-1"}).config);
}

BOOST_AUTO_TEST_CASE(active_requests_per_connection_reaches_the_handler) {
  BOOST_TEST(parsed({"--database-url=db"}).handler.active_requests_per_connection == 2u);
  BOOST_TEST(parsed({"--database-url=db", "--active-requests-per-connection=0"}).handler.active_requests_per_connection ==
             0u);
  BOOST_TEST(parsed({"--database-url=db", "--active-requests-per-connection=16"}).handler.active_requests_per_connection ==
             16u);
  for (const char* bad : {"--active-requests-per-connection=-1", "--active-requests-per-connection=1001",
                          "--active-requests-per-connection=four"})
    BOOST_TEST(!hs::parse_server_config({"--database-url=db", bad}).config, bad);
}

BOOST_AUTO_TEST_CASE(flags) {
  const auto plain = parsed({"--database-url", "db"});
  BOOST_TEST(plain.migrate == true);
  BOOST_TEST(plain.migrate_only == false);
  const auto no_migrate = parsed({"--database-url", "db", "--no-migrate"});
  BOOST_TEST(no_migrate.migrate == false);
  BOOST_TEST(no_migrate.migrate_only == false);
  const auto only = parsed({"--migrate-only", "--database-url", "db"});
  BOOST_TEST(only.migrate == true);
  BOOST_TEST(only.migrate_only == true);
  // A flag takes no separate value: the next argument is parsed as an option.
  const auto next = parsed({"--no-migrate", "--threads", "2", "--database-url", "db"});
  BOOST_TEST(next.migrate == false);
  BOOST_TEST(next.threads == 2u);
}

BOOST_AUTO_TEST_CASE(later_option_wins) {
  const auto c = parsed({"--database-url", "a", "--threads", "2", "--threads", "4", "--database-url", "b"});
  BOOST_TEST(c.threads == 4u);
  BOOST_TEST(c.database_url == "b");
}

BOOST_AUTO_TEST_CASE(listen_forms) {
  const auto any = parsed({"--database-url", "db", "--listen", "0.0.0.0:65535"});
  BOOST_TEST(any.listen_address == "0.0.0.0");
  BOOST_TEST(any.port == 65535);
  const auto v6 = parsed({"--database-url", "db", "--listen", "[::]:80"});
  BOOST_TEST(v6.listen_address == "::");
  BOOST_TEST(v6.port == 80);
  const auto name = parsed({"--database-url", "db", "--listen", "localhost:1"});
  BOOST_TEST(name.listen_address == "127.0.0.1");
  BOOST_TEST(name.port == 1);
}

// --- environment ----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(environment_applies) {
  set("DATABASE_URL", "postgresql://env@h/db");
  set("HOOKSTREAM_POOL_SIZE", "11");
  set("HOOKSTREAM_LISTEN", "0.0.0.0:7000");
  set("HOOKSTREAM_THREADS", "6");
  set("HOOKSTREAM_REQUEST_TIMEOUT_MS", "1234");
  const auto c = parsed({});
  BOOST_TEST(c.database_url == "postgresql://env@h/db");
  BOOST_TEST(c.pool.conninfo == "postgresql://env@h/db");
  BOOST_TEST(c.pool_size == 11u);
  BOOST_TEST(c.pool.max_size == 11u);
  BOOST_TEST(c.listen_address == "0.0.0.0");
  BOOST_TEST(c.port == 7000);
  BOOST_TEST(c.threads == 6u);
  BOOST_TEST(c.handler.request_timeout.count() == 1234);
}

BOOST_AUTO_TEST_CASE(environment_flags) {
  set("DATABASE_URL", "db");
  set("HOOKSTREAM_NO_MIGRATE", "1");
  set("HOOKSTREAM_MIGRATE_ONLY", "true");
  const auto c = parsed({});
  BOOST_TEST(c.migrate == false);
  BOOST_TEST(c.migrate_only == true);

  set("HOOKSTREAM_NO_MIGRATE", "0");
  set("HOOKSTREAM_MIGRATE_ONLY", "no");
  const auto d = parsed({});
  BOOST_TEST(d.migrate == true);
  BOOST_TEST(d.migrate_only == false);
}

BOOST_AUTO_TEST_CASE(command_line_wins_over_environment) {
  set("DATABASE_URL", "postgresql://env@h/db");
  set("HOOKSTREAM_POOL_SIZE", "11");
  set("HOOKSTREAM_LISTEN", "0.0.0.0:7000");
  const auto c = parsed({"--pool-size", "5", "--database-url", "postgresql://cli@h/db", "--listen=127.0.0.2:7001"});
  BOOST_TEST(c.database_url == "postgresql://cli@h/db");
  BOOST_TEST(c.pool.conninfo == "postgresql://cli@h/db");
  BOOST_TEST(c.pool_size == 5u);
  BOOST_TEST(c.pool.max_size == 5u);
  BOOST_TEST(c.listen_address == "127.0.0.2");
  BOOST_TEST(c.port == 7001);
}

BOOST_AUTO_TEST_CASE(environment_fills_what_the_command_line_leaves) {
  set("HOOKSTREAM_POOL_SIZE", "11");
  const auto c = parsed({"--database-url", "cli"});
  BOOST_TEST(c.database_url == "cli");
  BOOST_TEST(c.pool_size == 11u);
}

BOOST_AUTO_TEST_CASE(invalid_environment_value_rejected) {
  set("DATABASE_URL", "db");
  set("HOOKSTREAM_THREADS", "abc");
  const auto message = error_of({});
  BOOST_TEST(contains(message, "HOOKSTREAM_THREADS"), message);
  ::unsetenv("HOOKSTREAM_THREADS");
  set("HOOKSTREAM_LISTEN", "0.0.0.0:70000");
  const auto listen = error_of({});
  BOOST_TEST(contains(listen, "HOOKSTREAM_LISTEN"), listen);
}

BOOST_AUTO_TEST_CASE(fixture_cleared_the_environment) {
  for (const char* env : config_env_vars) BOOST_TEST((std::getenv(env) == nullptr), env << " is set");
}

// --- invalid command lines ------------------------------------------------------

BOOST_AUTO_TEST_CASE(invalid_numbers_rejected) {
  const std::array<std::pair<std::string_view, std::string_view>, 24> bad{{
      {"threads", "abc"},
      {"threads", ""},
      {"threads", "-1"},
      {"threads", "+2"},
      {"threads", "0"},
      {"threads", "257"},
      {"threads", "2.5"},
      {"threads", "2x"},
      {"threads", " 2"},
      {"threads", "99999999999999999999999"},
      {"pool-size", "0"},
      {"pool-size", "1001"},
      {"pool-size", "seven"},
      {"pool-max-waiters", "1000001"},
      {"pool-max-waiters", "-5"},
      {"pool-max-connecting", "0"},
      {"connect-timeout-ms", "86400001"},
      {"connect-timeout-ms", "1s"},
      {"acquire-timeout-ms", "-1"},
      {"query-timeout-ms", "1e3"},
      {"request-timeout-ms", ""},
      {"read-timeout-ms", "18446744073709551616"},
      {"max-connections", "0"},
      {"max-connections", "1000001"},
  }};
  for (auto [name, value] : bad) {
    BOOST_TEST_CONTEXT("--" << name << " '" << value << "'") {
      const auto separate = error_of({"--database-url", "db", "--" + std::string(name), std::string(value)});
      BOOST_TEST(contains(separate, "--" + std::string(name)), separate);
      const auto joined = error_of({"--database-url", "db", "--" + std::string(name) + "=" + std::string(value)});
      BOOST_TEST(contains(joined, "--" + std::string(name)), joined);
    }
  }
}

BOOST_AUTO_TEST_CASE(numeric_bounds_accepted) {
  const auto low = parsed({"--database-url", "db", "--threads", "1", "--pool-size", "1", "--max-connections", "1",
                           "--connect-timeout-ms", "0"});
  BOOST_TEST(low.threads == 1u);
  BOOST_TEST(low.pool_size == 1u);
  BOOST_TEST(low.listener.max_connections == 1u);
  BOOST_TEST(low.pool.connect_timeout.count() == 0);
  const auto high = parsed({"--database-url", "db", "--threads", "256", "--pool-size", "1000", "--max-connections",
                            "1000000", "--read-timeout-ms", "86400000"});
  BOOST_TEST(high.threads == 256u);
  BOOST_TEST(high.pool_size == 1000u);
  BOOST_TEST(high.listener.max_connections == 1000000u);
  BOOST_TEST(high.listener.read_timeout.count() == 86400000);
}

BOOST_AUTO_TEST_CASE(unknown_options_rejected) {
  const auto message = error_of({"--database-url", "db", "--bogus"});
  BOOST_TEST(contains(message, "--bogus"), message);
  const auto with_value = error_of({"--database-url", "db", "--bogus=1"});
  BOOST_TEST(contains(with_value, "--bogus"), with_value);
  // Options are case-sensitive and need two dashes.
  error_of({"--database-url", "db", "--THREADS", "2"});
  error_of({"--database-url", "db", "-threads", "2"});
  const auto positional = error_of({"--database-url", "db", "serve"});
  BOOST_TEST(contains(positional, "serve"), positional);
  error_of({"--database-url", "db", "-x"});
  error_of({"--database-url", "db", "--"});
}

BOOST_AUTO_TEST_CASE(missing_value_rejected) {
  const auto message = error_of({"--database-url", "db", "--threads"});
  BOOST_TEST(contains(message, "--threads"), message);
  const auto db = error_of({"--database-url"});
  BOOST_TEST(contains(db, "--database-url"), db);
}

BOOST_AUTO_TEST_CASE(bad_listen_addresses_rejected) {
  for (std::string_view v : {"0.0.0.0:70000", "0.0.0.0:65536", "0.0.0.0", "0.0.0.0:", ":8080", "0.0.0.0:-1",
                             "0.0.0.0:http", "0.0.0.0:80x", ""}) {
    BOOST_TEST_CONTEXT("--listen '" << v << "'") {
      const auto message = error_of({"--database-url", "db", "--listen", std::string(v)});
      BOOST_TEST(contains(message, "--listen"), message);
    }
  }
}

BOOST_AUTO_TEST_CASE(errors_point_to_help) {
  const auto message = error_of({"--database-url", "db", "--threads", "x"});
  BOOST_TEST(contains(message, "--help"), message);
}

BOOST_AUTO_TEST_CASE(listen_rejects_broken_addresses) {
  for (const char* bad : {"[::1:80", "[]:80", "::1:80", "not-an-ip:80", ":80", "1.2.3.4"})
    BOOST_TEST_CONTEXT(bad) { BOOST_TEST(contains(error_of({"--database-url", "db", "--listen", bad}), "listen")); }
}

BOOST_AUTO_TEST_CASE(help_and_command_line_win_over_a_bad_environment) {
  set("HOOKSTREAM_THREADS", "abc");
  auto help = hs::parse_server_config({"--help"});
  BOOST_TEST(help.exit_code == 0);
  BOOST_TEST(contains(help.message, "--threads"));
  BOOST_TEST(parsed({"--database-url", "db", "--threads", "4"}).threads == 4u);
  BOOST_TEST(contains(error_of({"--database-url", "db"}), "HOOKSTREAM_THREADS"));
}

// A secret that fails validation is never echoed back, from either source.
// Issue 14: replicas repeat on the command line and are space-separated in the
// environment; the lag bound must leave room for two check intervals; the
// statement mode and the maintenance URL reach their fields.
BOOST_AUTO_TEST_CASE(replicas_statement_mode_and_maintenance_url) {
  const auto c = parsed({"--database-url", "postgresql://p/db", "--replica-url", "postgresql://r1/db", "--replica-url",
                         "postgresql://r2/db", "--max-replica-lag-ms", "300", "--replica-check-interval-ms", "50",
                         "--prepared-statements", "off", "--maintenance-database-url", "postgresql://direct/db"});
  BOOST_TEST(c.replica_urls == (std::vector<std::string>{"postgresql://r1/db", "postgresql://r2/db"}),
             boost::test_tools::per_element());
  BOOST_TEST(c.max_replica_lag.count() == 300);
  BOOST_TEST(c.replica_check_interval.count() == 50);
  BOOST_TEST((c.pool.statements == hookstream::storage::statement_mode::unnamed));
  BOOST_TEST(hs::maintenance_url(c) == "postgresql://direct/db");
  BOOST_TEST(c.pool.conninfo == "postgresql://p/db");

  const auto d = parsed({"--database-url", "postgresql://p/db"});
  BOOST_TEST(d.replica_urls.empty());
  BOOST_TEST((d.pool.statements == hookstream::storage::statement_mode::automatic));
  BOOST_TEST(hs::maintenance_url(d) == "postgresql://p/db");

  set("HOOKSTREAM_REPLICA_URLS", "  postgresql://a/db postgresql://b/db\tpostgresql://c/db ");
  set("HOOKSTREAM_PREPARED_STATEMENTS", "on");
  const auto e = parsed({"--database-url", "postgresql://p/db"});
  BOOST_TEST(e.replica_urls.size() == 3u);
  BOOST_TEST((e.pool.statements == hookstream::storage::statement_mode::named));

  BOOST_TEST(error_of({"--database-url", "x", "--replica-url", "r", "--max-replica-lag-ms", "150",
                       "--replica-check-interval-ms", "100"})
                 .find("twice") != std::string::npos);
  BOOST_TEST(error_of({"--database-url", "x", "--prepared-statements", "maybe"}).find("prepared-statements") !=
             std::string::npos);
  std::vector<std::string> many{"--database-url", "x"};
  for (int i = 0; i < 17; ++i) {
    std::string url(1, 'r');
    url += std::to_string(i);
    many.push_back("--replica-url");
    many.push_back(url);
  }
  BOOST_TEST(error_of(many).find("at most 16") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_refused_cursor_secret_is_not_echoed) {
  clean_environment env;
  const std::string secret = "tooshort-Xq7";
  auto from_flag = hs::parse_server_config({"--database-url", "postgresql://x/y", "--cursor-secret", secret});
  BOOST_TEST(!from_flag.config);
  BOOST_TEST(from_flag.message.find("cursor-secret") != std::string::npos);
  BOOST_TEST(from_flag.message.find(secret) == std::string::npos);
  ::setenv("HOOKSTREAM_CURSOR_SECRET", secret.c_str(), 1);
  auto from_env = hs::parse_server_config({"--database-url", "postgresql://x/y"});
  BOOST_TEST(!from_env.config);
  BOOST_TEST(from_env.message.find("HOOKSTREAM_CURSOR_SECRET") != std::string::npos);
  BOOST_TEST(from_env.message.find(secret) == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
