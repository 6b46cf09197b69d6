// A libpq connection string taken apart so that host names are resolved off the
// event loop.
//
// PQconnectStartParams resolves a host name with a blocking getaddrinfo() on the
// calling thread; libpq's documented way around it is `hostaddr`. So pg_connection
// asks names_to_resolve() for the names that need DNS, resolves them with Asio's
// resolver (which runs getaddrinfo on a private thread), and connects with
// with_addresses(): every address becomes a `hostaddr` entry beside its `host`,
// which libpq still uses for TLS (SNI, verify-full) and .pgpass.
//
// Nothing needs resolving for IP literals, Unix-socket directories, an explicit
// `hostaddr`, or a `service` (whose file may name hosts that libpq resolves
// itself: use hostaddr there to stay non-blocking).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace hookstream::storage::detail {

class connect_target {
 public:
  using option = std::pair<std::string, std::string>;

  /// Parses a libpq URL or key=value string. An unset `host` falls back to the
  /// PGHOST environment variable, as libpq does. Errors: libpq's parse error.
  static std::variant<connect_target, std::string> parse(const std::string& conninfo);

  /// Host names that need a DNS look-up, in order of appearance (no duplicates).
  const std::vector<std::string>& names_to_resolve() const noexcept { return names_; }

  /// The options to hand to PQconnectStartParams (expand_dbname = 0).
  /// `addresses[i]` are the addresses of names_to_resolve()[i]; an entry with a
  /// name is repeated once per address (and its port with it, when ports are
  /// given per host); a name with no address is left out. Without names, the
  /// options are the parsed ones unchanged. nullopt when no host is left (every
  /// name failed to resolve).
  std::optional<std::vector<option>> with_addresses(const std::vector<std::vector<std::string>>& addresses) const;

 private:
  struct host_entry {
    std::string host;
    std::string port;  ///< empty: the single or default port
    int name_index = -1;  ///< index into names_, or -1 for nothing to resolve
  };
  std::vector<option> options_;  ///< everything except host, hostaddr, port
  std::vector<host_entry> hosts_;
  std::string single_port_;  ///< the port option when it is not a per-host list
  std::vector<std::string> names_;
  bool rewrite_ = false;
};

}  // namespace hookstream::storage::detail
