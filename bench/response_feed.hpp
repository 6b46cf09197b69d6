// Feeds a Beast parser from reads into a buffer that many connections share.
//
// Beast's http::async_read wants a buffer per connection, and a load generator
// with 1,024 connections then holds 1,024 read buffers (and touches them all,
// which costs it cache misses the server does not have). hookstream-bench
// instead reads each connection, when the socket is readable, into one buffer
// per thread and hands the bytes to the connection's parser at once. The only
// bytes a connection keeps are those its parser could not take yet: an
// incomplete header (bounded by the parser's header limit), or bytes past the
// end of the message.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace hookstream::bench {

class pending_input {
public:
  struct fed {
    boost::beast::error_code ec;  // the parser's error; "need more" is not one
    std::size_t consumed = 0;     // bytes the parser took, kept ones included
  };

  /// Gives the kept bytes, then `in`, to `parser` until it is done or needs
  /// more; keeps what it did not take for the next call (or the next message).
  template <bool isRequest>
  fed feed(boost::beast::http::basic_parser<isRequest>& parser, std::string_view in) {
    std::string_view data = in;
    if (!kept_.empty()) {
      kept_.append(in);
      data = kept_;
    }
    fed r;
    while (!parser.is_done() && r.consumed < data.size()) {
      const std::size_t used =
          parser.put(boost::asio::const_buffer(data.data() + r.consumed, data.size() - r.consumed), r.ec);
      r.consumed += used;
      if (r.ec == boost::beast::http::error::need_more) {
        r.ec = {};
        break;
      }
      if (r.ec || used == 0) break;
    }
    if (!kept_.empty()) kept_.erase(0, r.consumed);
    else kept_.assign(data.substr(r.consumed));
    return r;
  }

  bool empty() const noexcept { return kept_.empty(); }
  void clear() noexcept { kept_.clear(); }

private:
  std::string kept_;
};

}  // namespace hookstream::bench
