// An allocation-free Beast HTTP/1.1 parser for the bench load generator and static
// server: it keeps only what they look at (status or method, keep-alive, body) and
// appends the body to a caller-owned std::string whose capacity is reused from one
// message to the next, or only counts the body's bytes (a body nobody reads is not
// copied). Beast's http::parser<..., string_body> would build a
// basic_fields list (one heap node per header) and a fresh body string per message.
//
// Like every Beast parser it handles one message; construct a new one per message
// (cheap: no allocation). Framing (Content-Length, chunked, keep-alive, body_limit,
// header_limit) is Beast's own basic_parser logic.
#pragma once

#include <boost/beast/http/basic_parser.hpp>

#include <cstdint>
#include <string>

namespace hookstream::bench {

template <bool isRequest>
class lean_parser : public boost::beast::http::basic_parser<isRequest> {
  using error_code = boost::beast::error_code;
  using string_view = boost::beast::string_view;
  using verb = boost::beast::http::verb;
  using field = boost::beast::http::field;

public:
  // `body` is cleared here and receives the message body.
  explicit lean_parser(std::string& body) : body_(&body) { body_->clear(); }
  // The body is counted and dropped.
  lean_parser() = default;

  unsigned status() const noexcept { return status_; }  // responses
  bool gzipped() const noexcept { return gzipped_; }     // Content-Encoding: gzip
  verb method() const noexcept { return method_; }       // requests
  std::uint64_t body_bytes() const noexcept { return body_bytes_; }

private:
  void on_request_impl(verb method, string_view, string_view, int, error_code&) override { method_ = method; }
  void on_response_impl(int code, string_view, int, error_code&) override { status_ = static_cast<unsigned>(code); }
  void on_field_impl(field name, string_view, string_view value, error_code&) override {
    if (name == field::content_encoding) gzipped_ = value.find("gzip") != string_view::npos;
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code&) override {
    if (body_ && length && *length > body_->capacity()) body_->reserve(static_cast<std::size_t>(*length));
  }
  std::size_t on_body_impl(string_view s, error_code&) override { return take(s); }
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view s, error_code&) override { return take(s); }
  void on_finish_impl(error_code&) override {}

  std::size_t take(string_view s) {
    body_bytes_ += s.size();
    if (body_) body_->append(s.data(), s.size());
    return s.size();
  }

  std::string* body_ = nullptr;
  std::uint64_t body_bytes_ = 0;
  unsigned status_ = 0;
  bool gzipped_ = false;
  verb method_ = verb::unknown;
};

}  // namespace hookstream::bench
