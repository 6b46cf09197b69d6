// hookstream-bench's response reader (bench/response_feed.hpp, bench/lean_parser.hpp):
// a response arrives in pieces of any size, including one byte at a time and
// with the next response already behind it, and parses the same as in one piece.
#include "lean_parser.hpp"
#include "response_feed.hpp"

#include <boost/beast/http/error.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>

namespace http = boost::beast::http;
using hookstream::bench::lean_parser;
using hookstream::bench::pending_input;

namespace {

const std::string sized = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 14\r\n\r\n"
                          "{\"rows\":[1,2]}";
const std::string chunked = "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n";

struct parsed {
  unsigned status = 0;
  std::string body;
  std::uint64_t body_bytes = 0;
  std::size_t consumed = 0;
  bool done = false;
};

// Feeds `wire` to one parser in pieces of `piece` bytes (the last may be shorter).
parsed feed_in_pieces(pending_input& in, std::string_view wire, std::size_t piece, bool keep_body = true) {
  parsed p;
  std::string body;
  std::optional<lean_parser<false>> holder;
  if (keep_body) holder.emplace(body);
  else holder.emplace();
  auto& parser = *holder;
  auto r = in.feed(parser, {});
  BOOST_REQUIRE(!r.ec);
  p.consumed += r.consumed;
  for (std::size_t at = 0; at < wire.size() && !parser.is_done(); at += piece) {
    r = in.feed(parser, wire.substr(at, piece));
    BOOST_REQUIRE_MESSAGE(!r.ec, r.ec.message());
    p.consumed += r.consumed;
  }
  p.status = parser.status();
  p.body = body;
  p.body_bytes = parser.body_bytes();
  p.done = parser.is_done();
  return p;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(response_feed)

BOOST_AUTO_TEST_CASE(any_piece_size_parses_alike) {
  for (const std::string* wire : {&sized, &chunked}) {
    for (std::size_t piece = 1; piece <= wire->size(); ++piece) {
      pending_input in;
      const parsed p = feed_in_pieces(in, *wire, piece);
      BOOST_TEST_CONTEXT("piece of " << piece << " bytes") {
        BOOST_TEST(p.done);
        BOOST_TEST(p.status == (wire == &sized ? 200u : 201u));
        BOOST_TEST(p.body == (wire == &sized ? "{\"rows\":[1,2]}" : "hello, world"));
        BOOST_TEST(p.body_bytes == p.body.size());
        BOOST_TEST(p.consumed == wire->size());
        BOOST_TEST(in.empty());
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(bytes_past_a_response_start_the_next) {
  const std::string both = sized + chunked;
  for (std::size_t piece : {std::size_t{1}, std::size_t{7}, both.size()}) {
    pending_input in;
    const parsed first = feed_in_pieces(in, both, piece);
    BOOST_TEST(first.body == "{\"rows\":[1,2]}");
    BOOST_TEST(first.consumed == sized.size());
    // What the first parser did not take is the second response's start (all
    // of it when it came in one piece); it goes on from there.
    const std::size_t fed = (sized.size() + piece - 1) / piece * piece;
    const std::string_view rest = std::string_view(both).substr(std::min(fed, both.size()));
    const parsed second = feed_in_pieces(in, rest, piece);
    BOOST_TEST(second.done);
    BOOST_TEST(second.status == 201u);
    BOOST_TEST(second.body == "hello, world");
    BOOST_TEST(in.empty());
  }
}

BOOST_AUTO_TEST_CASE(a_dropped_body_is_counted_not_kept) {
  pending_input in;
  const parsed p = feed_in_pieces(in, sized, 5, /*keep_body=*/false);
  BOOST_TEST(p.done);
  BOOST_TEST(p.body.empty());
  BOOST_TEST(p.body_bytes == 14u);
}

BOOST_AUTO_TEST_CASE(a_header_past_its_limit_is_an_error_not_kept_forever) {
  pending_input in;
  lean_parser<false> parser;
  parser.header_limit(64);
  const std::string line = "X-Filler: " + std::string(20, 'x') + "\r\n";
  auto r = in.feed(parser, "HTTP/1.1 200 OK\r\n");
  BOOST_TEST(!r.ec);
  for (int i = 0; i < 10 && !r.ec; ++i) r = in.feed(parser, line);
  BOOST_TEST_MESSAGE(r.ec.message());
  BOOST_TEST((r.ec == http::error::header_limit));
}

BOOST_AUTO_TEST_CASE(a_body_that_ends_at_close) {
  pending_input in;
  std::string body;
  lean_parser<false> parser(body);
  auto r = in.feed(parser, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the");
  BOOST_TEST(!r.ec);
  r = in.feed(parser, " end");
  BOOST_TEST(!r.ec);
  BOOST_TEST(!parser.is_done());
  boost::beast::error_code ec;
  parser.put_eof(ec);
  BOOST_TEST(!ec);
  BOOST_TEST(parser.is_done());
  BOOST_TEST(body == "until the end");
}

BOOST_AUTO_TEST_SUITE_END()
