// An in-process hookstream server on a free port, and a small blocking HTTP
// client for talking to it from tests.
#pragma once

#include <hookstream/server/server.hpp>

#include <boost/json/value.hpp>

#include <map>
#include <memory>
#include <string>
#include <thread>

namespace hookstream::test {

struct http_result {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  ///< lowercase names
  std::string body;
  /// Parses the body as JSON (throws when it is not).
  boost::json::value json() const;
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

/// With HOOKSTREAM_RECORD_RESPONSES set, appends `r` (the answer to GET
/// `target`) to the answers the OpenAPI contract test checks. Thread-safe.
void record_answer(const std::string& target, const http_result& r);

/// Runs `hookstream::server::server` against the test database until destroyed.
class test_server {
 public:
  /// `tweak` may adjust the configuration before start.
  explicit test_server(unsigned threads = 1,
                       const std::function<void(server::server_config&)>& tweak = {});
  ~test_server();

  unsigned short port() const { return port_; }
  /// GET `target` with extra headers ("Name: value" each).
  http_result get(const std::string& target, const std::vector<std::string>& headers = {}) const;
  /// Any raw bytes; returns all the server sent until it closed the connection
  /// (give the last request `Connection: close`), or until 5 s passed.
  std::string raw(const std::string& bytes) const;

 private:
  std::unique_ptr<server::server> server_;
  unsigned short port_ = 0;
};

/// Convenience: `X-API-Key: <key>`.
inline std::string api_key_header(const std::string& key) { return "X-API-Key: " + key; }

}  // namespace hookstream::test
