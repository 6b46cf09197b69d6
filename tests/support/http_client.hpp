// A blocking HTTP/1.1 client on one keep-alive connection, for tests that talk
// to a server from their own threads (each thread its own client).
#pragma once

#include "support/test_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <string>
#include <vector>

namespace hookstream::test {

class http_client {
 public:
  /// Connects to 127.0.0.1:`port` (throws on failure).
  explicit http_client(unsigned short port);
  /// GET `target` with extra headers ("Name: value" each) on the kept
  /// connection; reconnects first when the server closed it after the last
  /// answer. Throws on a transport error.
  http_result get(const std::string& target, const std::vector<std::string>& headers = {});

 private:
  void connect();
  unsigned short port_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
  bool open_ = false;
};

}  // namespace hookstream::test
