// response_head writes what beast's serializer writes before the body, byte
// for byte, so http_listener may write heads itself (see response_head.hpp).
#include <hookstream/server/http_errors.hpp>
#include <hookstream/server/response_head.hpp>

#include <boost/beast/http/write.hpp>
#include <boost/test/unit_test.hpp>

#include <sstream>
#include <string>

namespace {
namespace http = boost::beast::http;
using hookstream::server::http_response;

// What beast's serializer writes for the whole message.
std::string serialized(const http_response& res) {
  std::ostringstream out;
  out << res;
  return out.str();
}

void expect_same_bytes(const http_response& res) {
  BOOST_TEST(!hookstream::server::needs_serializer(res));
  BOOST_TEST(hookstream::server::response_head(res) + res.body() == serialized(res));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(response_head_suite)

BOOST_AUTO_TEST_CASE(a_listing_answer_is_written_as_beast_writes_it) {
  http_response res{http::status::ok, 11};
  res.set(http::field::content_type, "application/json");
  res.set("X-Request-Id", "req_0123456789abcdef");
  res.set(http::field::cache_control, "no-store");
  res.body() = R"({"delivery_attempts":[],"pagination":{"has_more":false}})";
  res.keep_alive(true);
  res.prepare_payload();
  expect_same_bytes(res);
  BOOST_TEST(hookstream::server::response_head(res).starts_with("HTTP/1.1 200 OK\r\n"));
}

BOOST_AUTO_TEST_CASE(error_answers_and_http_1_0_are_written_as_beast_writes_them) {
  expect_same_bytes(hookstream::server::error_response(http::status::not_found, "no such route", "req_1"));
  expect_same_bytes(hookstream::server::server_busy_response("req_2"));
  http_response old{http::status::ok, 10};
  old.set(http::field::connection, "keep-alive");
  old.body() = "{}";
  old.prepare_payload();
  expect_same_bytes(old);
  BOOST_TEST(hookstream::server::response_head(old).starts_with("HTTP/1.0 200 OK\r\n"));
}

BOOST_AUTO_TEST_CASE(own_reasons_unknown_codes_and_empty_answers_are_written_as_beast_writes_them) {
  http_response custom{http::status::service_unavailable, 11};
  custom.reason("Come Back Later");
  custom.prepare_payload();
  expect_same_bytes(custom);
  BOOST_TEST(hookstream::server::response_head(custom).starts_with("HTTP/1.1 503 Come Back Later\r\n"));

  http_response unknown{static_cast<http::status>(599), 11};
  unknown.prepare_payload();
  expect_same_bytes(unknown);

  http_response bare{http::status::no_content, 11};
  expect_same_bytes(bare);
  BOOST_TEST(hookstream::server::response_head(bare) == "HTTP/1.1 204 No Content\r\n\r\n");
}

BOOST_AUTO_TEST_CASE(a_streamed_answers_chunked_head_is_written_as_beast_writes_it) {
  // As http_listener prepares a live tail's head before it writes it.
  http_response res{http::status::ok, 11};
  res.set(http::field::content_type, "application/x-ndjson");
  res.set("X-Request-Id", "req_0123456789abcdef");
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(false);
  res.chunked(true);
  // Beast writes a header alone with the fields' writer its serializer uses.
  std::ostringstream out;
  out << res.base();
  const std::string beast_head = out.str();
  BOOST_TEST(hookstream::server::response_head(res) == beast_head);
  BOOST_TEST(beast_head.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
  BOOST_TEST(beast_head.ends_with("\r\n\r\n"));
}

BOOST_AUTO_TEST_CASE(a_chunked_answer_is_left_to_beast) {
  http_response res{http::status::ok, 11};
  res.body() = "hello";
  res.chunked(true);
  BOOST_TEST(hookstream::server::needs_serializer(res));
}

BOOST_AUTO_TEST_SUITE_END()
