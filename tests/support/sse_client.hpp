// A small blocking Server-Sent Events client for tests: opens GET with
// headers, reads the head, then decodes the body (chunked or close-delimited)
// into events the way EventSource does (blank line ends an event; `event`,
// `id`, `data` fields; lines starting with ':' and `retry` ignored).
//
// Fixture code: it blocks, with timeouts on every read.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hookstream::test {

struct sse_event {
  std::string event;  ///< "message" when the block named none
  std::string id;     ///< empty when the block had no id field
  std::string data;
};

class sse_client {
 public:
  /// Connects to 127.0.0.1:`port` and sends GET `target` with `headers`
  /// ("Name: value"). `receive_buffer` > 0 sets SO_RCVBUF before connecting
  /// (a small one makes a client that does not read fill up quickly). Reads
  /// the head (throws on a transport error or if none comes within 10 s);
  /// for a status other than 200 also the whole body.
  sse_client(unsigned short port, const std::string& target, const std::vector<std::string>& headers = {},
             int receive_buffer = 0);
  ~sse_client();
  sse_client(const sse_client&) = delete;
  sse_client& operator=(const sse_client&) = delete;

  unsigned status() const { return status_; }
  std::string header(const std::string& lower_name) const;
  /// The body of a non-200 answer.
  const std::string& body() const { return error_body_; }

  /// The next event, waiting up to `timeout`; nullopt when none came in time
  /// or the stream ended (see ended()).
  std::optional<sse_event> next(std::chrono::milliseconds timeout);
  /// True once the server ended the stream (last chunk or end of file).
  bool ended() const { return ended_; }
  /// True when the end was a proper last chunk (HTTP/1.1), not a cut.
  bool ended_cleanly() const { return clean_end_; }
  /// Closes the connection now (an abrupt client hang-up).
  void close();

 private:
  bool fill(std::chrono::steady_clock::time_point deadline);  // reads more raw bytes
  bool decode_body();                                          // raw_ -> body_, chunked or not
  std::optional<sse_event> take_event();

  int fd_ = -1;
  unsigned status_ = 0;
  std::map<std::string, std::string> headers_;
  std::string error_body_;
  bool chunked_ = false;
  bool ended_ = false;
  bool clean_end_ = false;
  bool eof_ = false;
  std::string raw_;   // bytes received, not yet decoded
  std::string body_;  // decoded body, not yet parsed into events
};

}  // namespace hookstream::test
