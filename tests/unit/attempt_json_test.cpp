// JSON rendering of delivery attempts: hookstream/server/attempt_json.hpp.
#include <hookstream/server/attempt_json.hpp>
#include <hookstream/storage/attempt_row_cache.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/test/unit_test.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hs = hookstream::server;
namespace json = boost::json;
using hookstream::storage::delivery_attempt_view;
using hookstream::storage::unix_micros;

namespace {

// U+FFFD REPLACEMENT CHARACTER in UTF-8.
const std::string fffd = "\xEF\xBF\xBD";

std::string json_string(std::string_view s) {
  std::string out;
  hs::append_json_string(out, s);
  return out;
}

// The string the JSON literal denotes, after checking the literal parses as JSON.
std::string parsed_string(const std::string& literal) {
  boost::system::error_code ec;
  json::value v = json::parse(literal, ec);
  BOOST_REQUIRE_MESSAGE(!ec, "not valid JSON (" << ec.message() << "): " << literal);
  BOOST_REQUIRE(v.is_string());
  return std::string(v.as_string());
}

// Checks the literal parses and denotes `expected`.
void check_decodes_to(std::string_view input, const std::string& expected) {
  const std::string literal = json_string(input);
  BOOST_TEST(parsed_string(literal) == expected);
}

std::string rfc3339(unix_micros t) {
  std::string out;
  hs::append_rfc3339(out, t);
  return out;
}

constexpr std::int64_t ms = 1000;  // micros per millisecond

json::object parse_object(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  BOOST_REQUIRE_MESSAGE(!ec, "not valid JSON (" << ec.message() << "): " << text);
  BOOST_REQUIRE(v.is_object());
  return v.as_object();
}

const std::vector<std::string> attempt_fields{
    "id",          "org_id",          "env_id",          "event_id",       "connection_id",
    "destination_id", "request_url",   "request_method",  "request_headers", "request_body_size",
    "response_status", "response_headers", "response_body", "duration_ms",   "status",
    "error",       "created_at",      "attempt_number",  "next_retry_at",  "is_dlq",
    "dlq_at",      "trigger_type",    "connection_name", "destination_name"};

std::vector<std::string> keys_in_order(const json::object& o) {
  std::vector<std::string> keys;
  for (const auto& kv : o) keys.emplace_back(kv.key());
  return keys;
}

// An attempt with every nullable field set.
delivery_attempt_view full_attempt() {
  delivery_attempt_view a;
  a.id = "da_0123456789abcdef0123456789abcdef";
  a.org_id = "org_1";
  a.env_id = "env_2";
  a.event_id = "evt_3";
  a.connection_id = "conn_4";
  a.destination_id = "dst_5";
  a.request_url = "https://example.com/hook?a=1&b=\"2\"";
  a.request_method = "POST";
  a.request_headers = R"({"content-type":"application/json"})";
  a.request_body_size = 1234;
  a.response_status = 502;
  a.response_headers = R"({"server":"nginx"})";
  a.response_body = "Bad \xFF gateway\n";
  a.duration_ms = 87;
  a.status = "failed";
  a.error = "upstream returned 502";
  a.created_at = 1'795'855'192'929'000;  // 2026-11-28T08:39:52.929Z
  a.attempt_number = 3;
  a.next_retry_at = 1'795'855'252'929'000;  // one minute later
  a.is_dlq = 1;
  a.dlq_at = 1'795'855'192'930'000;
  a.trigger_type = "automatic";
  a.connection_name = "Orders \xE2\x86\x92 Billing";
  a.destination_name = "billing-api";
  return a;
}

// An attempt with every nullable field null.
delivery_attempt_view minimal_attempt() {
  delivery_attempt_view a;
  a.id = "da_1";
  a.org_id = "org_1";
  a.env_id = "env_1";
  a.event_id = "evt_1";
  a.connection_id = "conn_1";
  a.destination_id = "dst_1";
  a.request_url = "https://x.test/";
  a.request_method = "GET";
  a.request_body_size = 0;
  a.status = "pending";
  a.created_at = 0;
  return a;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(attempt_json)

// --- append_json_string: escaping -----------------------------------------------

BOOST_AUTO_TEST_CASE(plain_ascii_is_quoted) {
  BOOST_TEST(json_string("") == "\"\"");
  BOOST_TEST(json_string("hello world") == "\"hello world\"");
  BOOST_TEST(json_string("a/b<c>&'") == "\"a/b<c>&'\"");
}

BOOST_AUTO_TEST_CASE(appends_without_clearing) {
  std::string out = "prefix:";
  hs::append_json_string(out, "x");
  BOOST_TEST(out == "prefix:\"x\"");
}

BOOST_AUTO_TEST_CASE(quotes_and_backslashes_escaped) {
  BOOST_TEST(json_string("say \"hi\"") == R"("say \"hi\"")");
  BOOST_TEST(json_string("C:\\path\\") == R"("C:\\path\\")");
  BOOST_TEST(json_string("\\\"") == R"("\\\"")");
}

BOOST_AUTO_TEST_CASE(short_escapes) {
  BOOST_TEST(json_string("\n") == R"("\n")");
  BOOST_TEST(json_string("\r") == R"("\r")");
  BOOST_TEST(json_string("\t") == R"("\t")");
  BOOST_TEST(json_string("\b") == R"("\b")");
  BOOST_TEST(json_string("\f") == R"("\f")");
  BOOST_TEST(json_string("a\r\nb\tc") == R"("a\r\nb\tc")");
}

BOOST_AUTO_TEST_CASE(other_control_characters_as_u00xx) {
  BOOST_TEST(json_string(std::string_view("\0", 1)) == R"("\u0000")");
  BOOST_TEST(json_string("\x01") == R"("\u0001")");
  BOOST_TEST(json_string("\x07") == R"("\u0007")");
  BOOST_TEST(json_string("\x0B") == R"("\u000b")");
  BOOST_TEST(json_string("\x0E") == R"("\u000e")");
  BOOST_TEST(json_string("\x1B") == R"("\u001b")");
  BOOST_TEST(json_string("\x1F") == R"("\u001f")");
  BOOST_TEST(json_string(std::string_view("a\0b", 3)) == R"("a\u0000b")");
  // Every control character round-trips.
  for (int c = 0; c < 0x20; ++c) {
    BOOST_TEST_CONTEXT("byte " << c) {
      const std::string s(1, static_cast<char>(c));
      const auto literal = json_string(s);
      BOOST_TEST(literal.size() > 3u);  // escaped, never raw
      BOOST_TEST(literal.find(static_cast<char>(c)) == std::string::npos);
      BOOST_TEST(parsed_string(literal) == s);
    }
  }
}

BOOST_AUTO_TEST_CASE(del_and_space_pass_unescaped) {
  BOOST_TEST(json_string("\x7F") == "\"\x7F\"");
  BOOST_TEST(json_string(" ~") == "\" ~\"");
}

BOOST_AUTO_TEST_CASE(valid_utf8_passes_unchanged) {
  const std::array<std::string_view, 7> valid{
      "\xC2\x80",                  // U+0080, smallest 2-byte
      "\xC3\xA9t\xC3\xA9",         // été
      "\xDF\xBF",                  // U+07FF
      "\xE0\xA0\x80",              // U+0800, smallest 3-byte
      "\xE2\x98\x83 \xE2\x82\xAC", // snowman, euro
      "\xED\x9F\xBF\xEE\x80\x80\xEF\xBF\xBF",  // U+D7FF, U+E000, U+FFFF
      "\xF0\x9F\x98\x80\xF0\x90\x80\x80\xF4\x8F\xBF\xBF",  // emoji, U+10000, U+10FFFF
  };
  for (auto s : valid) {
    BOOST_TEST_CONTEXT("input size " << s.size()) {
      std::string expected = "\"";
      expected.append(s);
      expected += '"';
      BOOST_TEST(json_string(s) == expected);
      BOOST_TEST(parsed_string(json_string(s)) == std::string(s));
    }
  }
}

BOOST_AUTO_TEST_CASE(four_byte_emoji_mixed_with_escapes) {
  const std::string s = "\xF0\x9F\x9A\x80 \"launch\"\n";
  BOOST_TEST(json_string(s) == "\"\xF0\x9F\x9A\x80 \\\"launch\\\"\\n\"");
  BOOST_TEST(parsed_string(json_string(s)) == s);
}

// --- append_json_string: invalid UTF-8 ------------------------------------------

BOOST_AUTO_TEST_CASE(lone_continuation_bytes) {
  BOOST_TEST(json_string("\x80") == "\"" + fffd + "\"");
  BOOST_TEST(json_string("\xBF") == "\"" + fffd + "\"");
  BOOST_TEST(json_string("a\x80" "b") == "\"a" + fffd + "b\"");
  // Each stray continuation byte is its own maximal subpart.
  BOOST_TEST(json_string("\x80\x80") == "\"" + fffd + fffd + "\"");
  // A valid sequence followed by an extra continuation byte.
  BOOST_TEST(json_string("\xC3\xA9\xA9") == "\"\xC3\xA9" + fffd + "\"");
}

BOOST_AUTO_TEST_CASE(truncated_sequences_at_end) {
  BOOST_TEST(json_string("\xC3") == "\"" + fffd + "\"");
  BOOST_TEST(json_string("\xE2\x82") == "\"" + fffd + "\"");
  BOOST_TEST(json_string("\xE2") == "\"" + fffd + "\"");
  BOOST_TEST(json_string("\xF0\x9F\x98") == "\"" + fffd + "\"");
  BOOST_TEST(json_string("\xF0\x9F") == "\"" + fffd + "\"");
  BOOST_TEST(json_string("\xF0") == "\"" + fffd + "\"");
  BOOST_TEST(json_string("ok\xF0\x9F\x98") == "\"ok" + fffd + "\"");
}

BOOST_AUTO_TEST_CASE(truncated_sequences_mid_string) {
  // The byte that breaks the sequence is not swallowed: it is decoded on its own.
  BOOST_TEST(json_string("\xC3" "A") == "\"" + fffd + "A\"");
  BOOST_TEST(json_string("\xE2\x82" "A") == "\"" + fffd + "A\"");
  BOOST_TEST(json_string("\xF0\x9F\x98" "A") == "\"" + fffd + "A\"");
  BOOST_TEST(json_string("\xF0\x9F\x98\"") == "\"" + fffd + "\\\"\"");
  BOOST_TEST(json_string("\xE2\x82\n") == "\"" + fffd + "\\n\"");
  // Truncated sequence followed by a valid multi-byte one.
  BOOST_TEST(json_string("\xE2\x82\xC3\xA9") == "\"" + fffd + "\xC3\xA9\"");
  BOOST_TEST(json_string("\xF0\x9F\xF0\x9F\x98\x80") == "\"" + fffd + "\xF0\x9F\x98\x80\"");
}

BOOST_AUTO_TEST_CASE(overlong_encodings) {
  // C0/C1 are never valid lead bytes: one U+FFFD per byte.
  BOOST_TEST(json_string("\xC0\x80") == "\"" + fffd + fffd + "\"");
  BOOST_TEST(json_string("\xC1\xBF") == "\"" + fffd + fffd + "\"");
  // E0 80..9F / F0 80..8F: the second byte is out of range, so the lead byte alone
  // is the maximal subpart and the rest are lone continuation bytes.
  BOOST_TEST(json_string("\xE0\x80\x80") == "\"" + fffd + fffd + fffd + "\"");
  BOOST_TEST(json_string("\xE0\x9F\xBF") == "\"" + fffd + fffd + fffd + "\"");
  BOOST_TEST(json_string("\xF0\x80\x80\x80") == "\"" + fffd + fffd + fffd + fffd + "\"");
  BOOST_TEST(json_string("\xF0\x8F\xBF\xBF") == "\"" + fffd + fffd + fffd + fffd + "\"");
}

BOOST_AUTO_TEST_CASE(surrogates_rejected) {
  BOOST_TEST(json_string("\xED\xA0\x80") == "\"" + fffd + fffd + fffd + "\"");  // U+D800
  BOOST_TEST(json_string("\xED\xBF\xBF") == "\"" + fffd + fffd + fffd + "\"");  // U+DFFF
  // A CESU-8 style surrogate pair: six replacements.
  BOOST_TEST(json_string("\xED\xA0\xBD\xED\xB8\x80") ==
             "\"" + fffd + fffd + fffd + fffd + fffd + fffd + "\"");
}

BOOST_AUTO_TEST_CASE(above_u10ffff_rejected) {
  BOOST_TEST(json_string("\xF4\x90\x80\x80") == "\"" + fffd + fffd + fffd + fffd + "\"");
  BOOST_TEST(json_string("\xF4\xBF\xBF\xBF") == "\"" + fffd + fffd + fffd + fffd + "\"");
}

BOOST_AUTO_TEST_CASE(bytes_f5_to_ff_rejected) {
  for (int b = 0xF5; b <= 0xFF; ++b) {
    BOOST_TEST_CONTEXT("byte " << b) {
      std::string s = "a";
      s += static_cast<char>(b);
      s += 'b';
      BOOST_TEST(json_string(s) == "\"a" + fffd + "b\"");
    }
  }
  // Followed by continuation bytes, each is replaced on its own.
  BOOST_TEST(json_string("\xF8\x88\x80\x80\x80") == "\"" + fffd + fffd + fffd + fffd + fffd + "\"");
}

BOOST_AUTO_TEST_CASE(nul_byte_escaped) {
  const std::string s("x\0y", 3);
  BOOST_TEST(json_string(s) == R"("x\u0000y")");
  BOOST_TEST(parsed_string(json_string(s)) == s);
}

BOOST_AUTO_TEST_CASE(invalid_input_always_parses_as_json) {
  const std::array<std::string_view, 12> inputs{
      "\x80",
      "\xC3",
      "\xE2\x82",
      "\xF0\x9F\x98",
      "\xC0\x80",
      "\xE0\x80\x80",
      "\xED\xA0\x80",
      "\xF4\x90\x80\x80",
      "\xFE\xFF",
      "\"\\\xFF\x01\x7F",
      "\xF0\x9F\x98\x80\xF0\x9F\x98",
      "HTTP/1.1 200 OK\r\n\r\n\x89PNG\r\n\x1A\n\0\0\0\rIHDR"};
  for (auto s : inputs) {
    BOOST_TEST_CONTEXT("input size " << s.size()) {
      boost::system::error_code ec;
      json::value v = json::parse(json_string(s), ec);
      BOOST_TEST(!ec, ec.message());
      BOOST_TEST(v.is_string());
    }
  }
}

BOOST_AUTO_TEST_CASE(every_single_byte_parses) {
  for (int b = 0; b < 256; ++b) {
    BOOST_TEST_CONTEXT("byte " << b) {
      const std::string s(1, static_cast<char>(b));
      const std::string decoded = parsed_string(json_string(s));
      if (b < 0x80)
        BOOST_TEST(decoded == s);
      else
        BOOST_TEST(decoded == fffd);
    }
  }
}

BOOST_AUTO_TEST_CASE(every_two_byte_string_parses) {
  // Pairs cover lead + continuation combinations, truncations and stray bytes.
  for (int a = 0; a < 256; ++a)
    for (int b = 0; b < 256; ++b) {
      const char bytes[2] = {static_cast<char>(a), static_cast<char>(b)};
      const std::string literal = json_string(std::string_view(bytes, 2));
      boost::system::error_code ec;
      json::parse(literal, ec);
      if (ec) BOOST_ERROR("bytes " << a << "," << b << " gave invalid JSON: " << ec.message());
    }
}

BOOST_AUTO_TEST_CASE(valid_input_round_trips) {
  std::string all_ascii;
  for (int c = 0; c < 0x80; ++c) all_ascii += static_cast<char>(c);
  check_decodes_to(all_ascii, all_ascii);
  const std::string mixed =
      "{\"headers\":{\"x\":\"y\\z\"}}\t\xC3\xA9\xE2\x98\x83\xF0\x9F\x98\x80\x7F end";
  check_decodes_to(mixed, mixed);
  check_decodes_to("", "");
}

BOOST_AUTO_TEST_CASE(invalid_input_decodes_to_replacements) {
  check_decodes_to("a\xFF" "b\xE2\x82" "c\xED\xA0\x80" "d", "a" + fffd + "b" + fffd + "c" + fffd + fffd + fffd + "d");
}

// --- append_rfc3339 -------------------------------------------------------------

BOOST_AUTO_TEST_CASE(epoch) {
  BOOST_TEST(rfc3339(0) == "\"1970-01-01T00:00:00.000Z\"");
}

BOOST_AUTO_TEST_CASE(appends_quoted_timestamp) {
  std::string out = "[";
  hs::append_rfc3339(out, 0);
  BOOST_TEST(out == "[\"1970-01-01T00:00:00.000Z\"");
}

BOOST_AUTO_TEST_CASE(known_instant) {
  // date -u -d '2026-11-28T08:39:52.929Z' +%s%3N  ->  1795855192929
  BOOST_TEST(rfc3339(1'795'855'192'929 * ms) == "\"2026-11-28T08:39:52.929Z\"");
}

BOOST_AUTO_TEST_CASE(sub_millisecond_truncated_not_rounded) {
  BOOST_TEST(rfc3339(1'795'855'192'929 * ms + 999) == "\"2026-11-28T08:39:52.929Z\"");
  BOOST_TEST(rfc3339(1'795'855'192'929 * ms + 500) == "\"2026-11-28T08:39:52.929Z\"");
  BOOST_TEST(rfc3339(1'795'855'192'929 * ms + 1) == "\"2026-11-28T08:39:52.929Z\"");
  BOOST_TEST(rfc3339(999) == "\"1970-01-01T00:00:00.000Z\"");
  BOOST_TEST(rfc3339(1000) == "\"1970-01-01T00:00:00.001Z\"");
  // 59.9999 s does not round up into the next minute.
  BOOST_TEST(rfc3339(59'999'999) == "\"1970-01-01T00:00:59.999Z\"");
}

BOOST_AUTO_TEST_CASE(leap_days) {
  // date -u -d '2024-02-29T12:34:56.789Z' +%s%3N  ->  1709210096789
  BOOST_TEST(rfc3339(1'709'210'096'789 * ms) == "\"2024-02-29T12:34:56.789Z\"");
  // 2000 is a leap year (divisible by 400).
  BOOST_TEST(rfc3339(951'782'400'000 * ms) == "\"2000-02-29T00:00:00.000Z\"");
  // 2100 is not: the day after 2100-02-28 is 2100-03-01.
  BOOST_TEST(rfc3339(4'107'542'400'000 * ms) == "\"2100-03-01T00:00:00.000Z\"");
  BOOST_TEST(rfc3339(4'107'542'400'000 * ms - 1) == "\"2100-02-28T23:59:59.999Z\"");
}

BOOST_AUTO_TEST_CASE(end_of_year) {
  // date -u -d '2025-12-31T23:59:59.999Z' +%s%3N  ->  1767225599999
  BOOST_TEST(rfc3339(1'767'225'599'999 * ms) == "\"2025-12-31T23:59:59.999Z\"");
  BOOST_TEST(rfc3339(1'767'225'600'000 * ms) == "\"2026-01-01T00:00:00.000Z\"");
}

BOOST_AUTO_TEST_CASE(beyond_32_bit_seconds) {
  BOOST_TEST(rfc3339(2'147'483'648'000 * ms) == "\"2038-01-19T03:14:08.000Z\"");
  BOOST_TEST(rfc3339(253'402'300'799'999 * ms) == "\"9999-12-31T23:59:59.999Z\"");
}

BOOST_AUTO_TEST_CASE(negative_instants) {
  BOOST_TEST(rfc3339(-1) == "\"1969-12-31T23:59:59.999Z\"");
  BOOST_TEST(rfc3339(-999) == "\"1969-12-31T23:59:59.999Z\"");
  BOOST_TEST(rfc3339(-1000) == "\"1969-12-31T23:59:59.999Z\"");
  BOOST_TEST(rfc3339(-1001) == "\"1969-12-31T23:59:59.998Z\"");
  BOOST_TEST(rfc3339(-1'000'000) == "\"1969-12-31T23:59:59.000Z\"");
  BOOST_TEST(rfc3339(-86'400'000'000) == "\"1969-12-31T00:00:00.000Z\"");
  BOOST_TEST(rfc3339(-86'400'000'001) == "\"1969-12-30T23:59:59.999Z\"");
  // date -u -d '1900-01-01T00:00:00Z' +%s  ->  -2208988800
  BOOST_TEST(rfc3339(-2'208'988'800'000 * ms) == "\"1900-01-01T00:00:00.000Z\"");
}

// --- append_attempt -------------------------------------------------------------

BOOST_AUTO_TEST_CASE(attempt_fields_in_api_order) {
  std::string out;
  hs::append_attempt(out, full_attempt());
  const auto o = parse_object(out);
  BOOST_TEST(o.size() == 24u);
  BOOST_TEST(keys_in_order(o) == attempt_fields, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(attempt_values_and_types) {
  std::string out;
  hs::append_attempt(out, full_attempt());
  const auto o = parse_object(out);
  BOOST_TEST(o.at("id").as_string() == "da_0123456789abcdef0123456789abcdef");
  BOOST_TEST(o.at("org_id").as_string() == "org_1");
  BOOST_TEST(o.at("env_id").as_string() == "env_2");
  BOOST_TEST(o.at("event_id").as_string() == "evt_3");
  BOOST_TEST(o.at("connection_id").as_string() == "conn_4");
  BOOST_TEST(o.at("destination_id").as_string() == "dst_5");
  BOOST_TEST(o.at("request_url").as_string() == "https://example.com/hook?a=1&b=\"2\"");
  BOOST_TEST(o.at("request_method").as_string() == "POST");
  // Headers are JSON strings holding a JSON object, not nested objects.
  BOOST_TEST(o.at("request_headers").is_string());
  BOOST_TEST(o.at("request_headers").as_string() == R"({"content-type":"application/json"})");
  BOOST_TEST(o.at("request_body_size").is_int64());
  BOOST_TEST(o.at("request_body_size").as_int64() == 1234);
  BOOST_TEST(o.at("response_status").as_int64() == 502);
  BOOST_TEST(o.at("response_headers").is_string());
  BOOST_TEST(o.at("response_headers").as_string() == R"({"server":"nginx"})");
  BOOST_TEST(o.at("response_body").as_string() == "Bad " + fffd + " gateway\n");
  BOOST_TEST(o.at("duration_ms").as_int64() == 87);
  BOOST_TEST(o.at("status").as_string() == "failed");
  BOOST_TEST(o.at("error").as_string() == "upstream returned 502");
  BOOST_TEST(o.at("created_at").as_string() == "2026-11-28T08:39:52.929Z");
  BOOST_TEST(o.at("attempt_number").as_int64() == 3);
  BOOST_TEST(o.at("next_retry_at").as_string() == "2026-11-28T08:40:52.929Z");
  // is_dlq is the integer 1, not a boolean.
  BOOST_TEST(o.at("is_dlq").is_int64());
  BOOST_TEST(!o.at("is_dlq").is_bool());
  BOOST_TEST(o.at("is_dlq").as_int64() == 1);
  BOOST_TEST(o.at("dlq_at").as_string() == "2026-11-28T08:39:52.930Z");
  BOOST_TEST(o.at("trigger_type").as_string() == "automatic");
  BOOST_TEST(o.at("connection_name").as_string() == "Orders \xE2\x86\x92 Billing");
  BOOST_TEST(o.at("destination_name").as_string() == "billing-api");
}

BOOST_AUTO_TEST_CASE(is_dlq_zero_is_integer_zero) {
  auto a = full_attempt();
  a.is_dlq = 0;
  std::string out;
  hs::append_attempt(out, a);
  const auto o = parse_object(out);
  BOOST_TEST(o.at("is_dlq").is_int64());
  BOOST_TEST(o.at("is_dlq").as_int64() == 0);
  BOOST_TEST(out.find("\"is_dlq\":0,") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(nulls_rendered_not_omitted) {
  std::string out;
  hs::append_attempt(out, minimal_attempt());
  const auto o = parse_object(out);
  BOOST_TEST(o.size() == 24u);
  BOOST_TEST(keys_in_order(o) == attempt_fields, boost::test_tools::per_element());
  for (std::string_view f : {"request_headers", "response_status", "response_headers", "response_body", "duration_ms",
                             "error", "attempt_number", "next_retry_at", "is_dlq", "dlq_at", "trigger_type",
                             "connection_name", "destination_name"}) {
    BOOST_TEST_CONTEXT("field " << f) {
      BOOST_TEST(o.contains(f));
      BOOST_TEST(o.at(f).is_null());
    }
  }
  BOOST_TEST(o.at("request_body_size").as_int64() == 0);
  BOOST_TEST(o.at("created_at").as_string() == "1970-01-01T00:00:00.000Z");
}

BOOST_AUTO_TEST_CASE(minimal_attempt_exact_text) {
  std::string out;
  hs::append_attempt(out, minimal_attempt());
  BOOST_TEST(out ==
             R"({"id":"da_1","org_id":"org_1","env_id":"env_1","event_id":"evt_1","connection_id":"conn_1",)"
             R"("destination_id":"dst_1","request_url":"https://x.test/","request_method":"GET",)"
             R"("request_headers":null,"request_body_size":0,"response_status":null,"response_headers":null,)"
             R"("response_body":null,"duration_ms":null,"status":"pending","error":null,)"
             R"("created_at":"1970-01-01T00:00:00.000Z","attempt_number":null,"next_retry_at":null,"is_dlq":null,)"
             R"("dlq_at":null,"trigger_type":null,"connection_name":null,"destination_name":null})");
}

BOOST_AUTO_TEST_CASE(empty_strings_are_not_null) {
  auto a = minimal_attempt();
  a.request_headers = "";
  a.response_body = "";
  a.error = "";
  std::string out;
  hs::append_attempt(out, a);
  const auto o = parse_object(out);
  BOOST_TEST(o.at("request_headers").is_string());
  BOOST_TEST(o.at("request_headers").as_string() == "");
  BOOST_TEST(o.at("response_body").as_string() == "");
  BOOST_TEST(o.at("error").as_string() == "");
}

BOOST_AUTO_TEST_CASE(extreme_integers) {
  auto a = minimal_attempt();
  a.request_body_size = INT64_MAX;
  a.response_status = -1;
  a.duration_ms = INT64_MIN;
  std::string out;
  hs::append_attempt(out, a);
  const auto o = parse_object(out);
  BOOST_TEST(o.at("request_body_size").as_int64() == INT64_MAX);
  BOOST_TEST(o.at("response_status").as_int64() == -1);
  BOOST_TEST(o.at("duration_ms").as_int64() == INT64_MIN);
}

BOOST_AUTO_TEST_CASE(hostile_strings_cannot_break_the_object) {
  auto a = minimal_attempt();
  a.response_body = "\",\"injected\":true,\"x\":\"\xFF\xFE\0";
  a.error = "}\n{";
  std::string out;
  hs::append_attempt(out, a);
  const auto o = parse_object(out);
  BOOST_TEST(o.size() == 24u);
  BOOST_TEST(!o.contains("injected"));
  BOOST_TEST(o.at("response_body").as_string() == "\",\"injected\":true,\"x\":\"" + fffd + fffd);
  BOOST_TEST(o.at("error").as_string() == "}\n{");
}

// --- render_single_attempt / render_attempt_page --------------------------------

BOOST_AUTO_TEST_CASE(single_attempt_wrapper) {
  const std::string body = hs::render_single_attempt(full_attempt());
  const auto o = parse_object(body);
  BOOST_TEST(o.size() == 1u);
  BOOST_REQUIRE(o.contains("delivery_attempt"));
  const auto& inner = o.at("delivery_attempt").as_object();
  BOOST_TEST(keys_in_order(inner) == attempt_fields, boost::test_tools::per_element());
  BOOST_TEST(inner.at("id").as_string() == "da_0123456789abcdef0123456789abcdef");
  std::string expected = "{\"delivery_attempt\":";
  hs::append_attempt(expected, full_attempt());
  expected += '}';
  BOOST_TEST(body == expected);
}

BOOST_AUTO_TEST_CASE(empty_page_exact_text) {
  const hookstream::storage::attempt_rows rows;
  BOOST_TEST(rows.size() == 0);
  hs::page_meta meta;
  meta.total = 0;
  meta.limit = 50;
  meta.offset = 0;
  meta.has_more = false;
  BOOST_TEST(hs::render_attempt_page(rows, meta) ==
             R"({"delivery_attempts":[],"pagination":{"total":0,"limit":50,"offset":0,"has_more":false,)"
             R"("next_cursor":null,"prev_cursor":null}})");
}

BOOST_AUTO_TEST_CASE(empty_page_structure) {
  const hookstream::storage::attempt_rows rows;
  hs::page_meta meta;
  meta.total = 1234;
  meta.limit = 7;
  meta.offset = 1200;
  meta.has_more = true;
  const auto o = parse_object(hs::render_attempt_page(rows, meta));
  BOOST_TEST(keys_in_order(o) == (std::vector<std::string>{"delivery_attempts", "pagination"}),
             boost::test_tools::per_element());
  BOOST_TEST(o.at("delivery_attempts").is_array());
  BOOST_TEST(o.at("delivery_attempts").as_array().empty());
  const auto& p = o.at("pagination").as_object();
  BOOST_TEST(keys_in_order(p) ==
                 (std::vector<std::string>{"total", "limit", "offset", "has_more", "next_cursor", "prev_cursor"}),
             boost::test_tools::per_element());
  BOOST_TEST(p.at("total").as_int64() == 1234);
  BOOST_TEST(p.at("limit").as_int64() == 7);
  BOOST_TEST(p.at("offset").as_int64() == 1200);
  BOOST_TEST(p.at("has_more").is_bool());
  BOOST_TEST(p.at("has_more").as_bool() == true);
  BOOST_TEST(p.at("next_cursor").is_null());
  BOOST_TEST(p.at("prev_cursor").is_null());
}

BOOST_AUTO_TEST_CASE(cursors_rendered_as_strings) {
  const hookstream::storage::attempt_rows rows;
  hs::page_meta meta;
  meta.total = 3;
  meta.limit = 1;
  meta.offset = 1;
  meta.has_more = true;
  meta.next_cursor = "djEuYWJj-_";
  meta.prev_cursor = "with \"quote\"";
  const std::string body = hs::render_attempt_page(rows, meta);
  const auto o = parse_object(body);
  const auto& p = o.at("pagination").as_object();
  BOOST_TEST(p.at("next_cursor").is_string());
  BOOST_TEST(p.at("next_cursor").as_string() == "djEuYWJj-_");
  BOOST_TEST(p.at("prev_cursor").is_string());
  BOOST_TEST(p.at("prev_cursor").as_string() == "with \"quote\"");
  BOOST_TEST(body.find(R"("next_cursor":"djEuYWJj-_")") != std::string::npos);

  meta.prev_cursor.clear();
  const auto p2 = parse_object(hs::render_attempt_page(rows, meta)).at("pagination").as_object();
  BOOST_TEST(p2.at("next_cursor").as_string() == "djEuYWJj-_");
  BOOST_TEST(p2.at("prev_cursor").is_null());
}

// --- rows from the row cache, kept rendered up to their names ----------------------

// The same rows, cached with and without their JSON heads (so rendered by
// copying the head, or in full), named alike: the pages are byte for byte the
// same, escapes, invalid UTF-8 and nulls included, and a page cut by its size
// ceiling ends at the same row.
BOOST_AUTO_TEST_CASE(cached_rows_kept_rendered_make_the_very_same_page) {
  using hookstream::storage::attempt_rows;
  using hookstream::storage::cached_attempt;
  std::vector<delivery_attempt_view> views{full_attempt(), minimal_attempt(), full_attempt()};
  views[2].id = "da_2";
  views[2].response_body = std::string_view("\x01\"\\ \xC3\x28 \xF0\x9F\x98\x80", 11);
  std::vector<std::shared_ptr<const cached_attempt>> plain, rendered;
  for (const auto& v : views) {
    plain.push_back(cached_attempt::copy_of(v));
    rendered.push_back(cached_attempt::copy_of(v, hs::attempt_head_json));
    BOOST_TEST(plain.back()->prerendered.empty());
    BOOST_TEST(!rendered.back()->prerendered.empty());
    // The head stands for the values: the row keeps only what places it.
    BOOST_TEST(rendered.back()->values.size() < plain.back()->values.size());
    BOOST_TEST(rendered.back()->view.id == v.id);
    BOOST_TEST(!rendered.back()->view.request_headers);
  }
  attempt_rows a(plain), b(rendered);
  BOOST_TEST(b.prerendered(1) == rendered[1]->prerendered);
  BOOST_TEST(a.prerendered(1).empty());
  // Names are not part of the head: each page names its rows (here: a rename
  // of row 0's connection, a deleted destination for row 2).
  auto name = [](const char* s) { return std::make_shared<const std::string>(s); };
  for (auto* rows : {&a, &b}) {
    rows->set_route_names(0, name("Renamed \"conn\""), name("billing-api"));
    rows->set_route_names(2, name("Orders"), nullptr);
  }
  hs::page_meta meta;
  meta.total = 3;
  meta.limit = 3;
  const std::string page = hs::render_attempt_page(a, meta);
  BOOST_TEST(hs::render_attempt_page(b, meta) == page);
  const auto o = parse_object(page);
  const auto& first = o.at("delivery_attempts").as_array().at(0).as_object();
  BOOST_TEST(keys_in_order(first) == attempt_fields, boost::test_tools::per_element());
  BOOST_TEST(first.at("connection_name").as_string() == "Renamed \"conn\"");
  BOOST_TEST(o.at("delivery_attempts").as_array().at(2).as_object().at("destination_name").is_null());
  // One row's head is what append_attempt writes before the names.
  std::string whole;
  hs::append_attempt(whole, a[0]);
  BOOST_TEST(whole.starts_with(rendered[0]->prerendered));
  BOOST_TEST(whole.substr(rendered[0]->prerendered.size()).starts_with(",\"connection_name\":"));

  for (std::size_t ceiling = page.size() / 3; ceiling <= page.size() + 700; ceiling += 97) {
    hs::page_writer wa(a, ceiling), wb(b, ceiling);
    while (!wa.write_some(64)) {}
    while (!wb.write_some(64)) {}
    BOOST_TEST_INFO("ceiling " << ceiling);
    BOOST_TEST(wa.rows_written() == wb.rows_written());
    BOOST_TEST(std::move(wa).finish(meta) == std::move(wb).finish(meta));
  }
}

BOOST_AUTO_TEST_SUITE_END()
