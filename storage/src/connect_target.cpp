#include <hookstream/storage/detail/connect_target.hpp>

#include <libpq-fe.h>
#include <arpa/inet.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

namespace hookstream::storage::detail {
namespace {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::string::size_type start = 0;
  for (;;) {
    const auto comma = s.find(',', start);
    out.push_back(s.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? "," : "") + parts[i];
  return out;
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 || ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

bool is_socket_path(const std::string& host) { return host.empty() || host[0] == '/' || host[0] == '@'; }

}  // namespace

std::variant<connect_target, std::string> connect_target::parse(const std::string& conninfo) {
  char* error = nullptr;
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> parsed(PQconninfoParse(conninfo.c_str(), &error),
                                                                       &PQconninfoFree);
  if (!parsed) {
    std::string message = error ? error : "out of memory";
    PQfreemem(error);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    return message;
  }
  connect_target t;
  std::string host, hostaddr, port;
  bool has_host = false, has_service = false;
  for (const PQconninfoOption* o = parsed.get(); o->keyword; ++o) {
    if (!o->val) continue;
    const std::string_view key = o->keyword;
    if (key == "host") {
      host = o->val;
      has_host = true;
    } else if (key == "hostaddr") {
      hostaddr = o->val;
    } else if (key == "port") {
      port = o->val;
    } else {
      if (key == "service") has_service = true;
      t.options_.emplace_back(o->keyword, o->val);
    }
  }
  if (!has_host) {
    if (const char* env = std::getenv("PGHOST"); env && *env) {
      host = env;
      has_host = true;
    }
  }
  // Leave libpq's own behaviour alone where we have nothing to add (or must not).
  const bool resolvable = has_host && hostaddr.empty() && !has_service;
  if (resolvable) {
    const auto hosts = split_list(host);
    const auto ports = port.empty() ? std::vector<std::string>{} : split_list(port);
    const bool per_host_ports = ports.size() > 1;
    for (std::size_t i = 0; i < hosts.size(); ++i) {
      host_entry e{hosts[i], per_host_ports && i < ports.size() ? ports[i] : std::string(), -1};
      if (!is_socket_path(e.host) && !is_ip_literal(e.host)) {
        auto it = std::find(t.names_.begin(), t.names_.end(), e.host);
        e.name_index = static_cast<int>(it - t.names_.begin());
        if (it == t.names_.end()) t.names_.push_back(e.host);
      }
      t.hosts_.push_back(std::move(e));
    }
    if (!per_host_ports) t.single_port_ = port;
    t.rewrite_ = !t.names_.empty();
  }
  if (!t.rewrite_) {
    if (has_host) t.options_.emplace_back("host", host);
    if (!hostaddr.empty()) t.options_.emplace_back("hostaddr", hostaddr);
    if (!port.empty()) t.options_.emplace_back("port", port);
  }
  return t;
}

std::optional<std::vector<connect_target::option>> connect_target::with_addresses(
    const std::vector<std::vector<std::string>>& addresses) const {
  std::vector<option> out = options_;
  if (!rewrite_) return out;
  std::vector<std::string> hosts, hostaddrs, ports;
  const bool per_host_ports = single_port_.empty() && std::any_of(hosts_.begin(), hosts_.end(), [](const auto& e) {
    return !e.port.empty();
  });
  auto add = [&](const host_entry& e, const std::string& address) {
    hosts.push_back(e.host);
    hostaddrs.push_back(address);
    ports.push_back(e.port);
  };
  for (const auto& e : hosts_) {
    if (e.name_index < 0) {
      // An IP literal is its own address; a socket directory has none.
      add(e, is_socket_path(e.host) ? std::string() : e.host);
      continue;
    }
    if (static_cast<std::size_t>(e.name_index) >= addresses.size()) continue;
    for (const auto& a : addresses[e.name_index]) add(e, a);
  }
  // Without a host, libpq would fall back to its default (a local socket): a
  // different server. Nothing to connect to is the caller's error to report.
  if (hosts.empty()) return std::nullopt;
  out.emplace_back("host", join(hosts));
  out.emplace_back("hostaddr", join(hostaddrs));
  if (per_host_ports) out.emplace_back("port", join(ports));
  else if (!single_port_.empty()) out.emplace_back("port", single_port_);
  return out;
}

}  // namespace hookstream::storage::detail
