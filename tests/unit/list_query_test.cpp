// Validation of the listing's query string: hookstream::server::parse_list_query.
#include <hookstream/server/list_query.hpp>

#include <boost/test/unit_test.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace hs = hookstream::server;
using hookstream::storage::page_request;

namespace {

// The request a query parses to; fails the test case when it is rejected.
page_request accepted(std::string_view query) {
  auto r = hs::parse_list_query(query);
  BOOST_REQUIRE_MESSAGE(std::holds_alternative<hs::list_query>(r),
                        "expected '" << query << "' to be accepted, got: "
                                     << (std::holds_alternative<hs::invalid_parameter>(r)
                                             ? std::get<hs::invalid_parameter>(r).message
                                             : std::string()));
  return std::get<hs::list_query>(r).request;
}

// The 400 message of a query; fails the test case when the query is accepted.
std::string rejected(std::string_view query) {
  auto r = hs::parse_list_query(query);
  BOOST_REQUIRE_MESSAGE(std::holds_alternative<hs::invalid_parameter>(r),
                        "expected '" << query << "' to be rejected");
  const std::string message = std::get<hs::invalid_parameter>(r).message;
  BOOST_TEST(!message.empty());
  return message;
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

void require_no_filters(const page_request& r) {
  BOOST_TEST(r.filter.event_id.empty());
  BOOST_TEST(r.filter.connection_id.empty());
  BOOST_TEST(r.filter.destination_id.empty());
  BOOST_TEST(r.filter.status.empty());
  BOOST_TEST(!r.filter.in_dlq.has_value());
}

constexpr std::array<std::string_view, 3> id_params{"event_id", "connection_id", "destination_id"};

const std::vector<std::string>& id_slot(const page_request& r, std::string_view param) {
  if (param == "event_id") return r.filter.event_id;
  if (param == "connection_id") return r.filter.connection_id;
  return r.filter.destination_id;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(list_query)

// --- defaults -------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(empty_query_gives_defaults) {
  const auto r = accepted("");
  BOOST_TEST(r.limit == 50);
  BOOST_TEST(r.limit == hs::default_page_limit);
  BOOST_TEST(r.offset == 0);
  require_no_filters(r);
}

BOOST_AUTO_TEST_CASE(null_view_gives_defaults) {
  // A target without '?' may hand over a default-constructed view (data() == nullptr).
  const auto r = accepted(std::string_view{});
  BOOST_TEST(r.limit == 50);
  BOOST_TEST(r.offset == 0);
  require_no_filters(r);
}

BOOST_AUTO_TEST_CASE(only_unknown_parameters_give_defaults) {
  const auto r = accepted("foo=bar&baz&sort=desc&LIMIT=abc&Offset=-3&event=x");
  BOOST_TEST(r.limit == 50);
  BOOST_TEST(r.offset == 0);
  require_no_filters(r);
}

// --- limit ----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(limit_bounds_accepted) {
  BOOST_TEST(accepted("limit=1").limit == 1);
  BOOST_TEST(accepted("limit=100").limit == 100);
  BOOST_TEST(accepted("limit=37").limit == 37);
  BOOST_TEST(accepted("limit=50").limit == 50);
}

BOOST_AUTO_TEST_CASE(limit_leaves_other_fields_alone) {
  const auto r = accepted("limit=7");
  BOOST_TEST(r.limit == 7);
  BOOST_TEST(r.offset == 0);
  require_no_filters(r);
}

BOOST_AUTO_TEST_CASE(bad_limits_rejected_naming_limit) {
  const std::array<std::string_view, 17> bad{
      "limit=0",
      "limit=101",
      "limit=-1",
      "limit=abc",
      "limit=",
      "limit",
      "limit=5.0",
      "limit=%2B5",  // "+5"
      "limit=+5",    // '+' is a space: " 5"
      "limit=%205",  // " 5"
      "limit=5%20",  // "5 "
      "limit=1e2",
      "limit=0x10",
      "limit=4294967297",          // wraps to 1 in 32 bits
      "limit=9223372036854775808",  // INT64_MAX + 1
      "limit=99999999999999999999999999999999",
      "limit=1000"};
  for (auto q : bad) {
    BOOST_TEST_CONTEXT("query: " << q) {
      const auto message = rejected(q);
      BOOST_TEST(contains(message, "limit"), "message: " << message);
    }
  }
}

BOOST_AUTO_TEST_CASE(limit_message_states_the_range) {
  BOOST_TEST(rejected("limit=0") == "limit must be an integer between 1 and 100");
}

// --- offset ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(offsets_accepted) {
  BOOST_TEST(accepted("offset=0").offset == 0);
  BOOST_TEST(accepted("offset=1").offset == 1);
  BOOST_TEST(accepted("offset=1000000").offset == 1000000);
  BOOST_TEST(accepted("offset=4294967296").offset == std::int64_t{4294967296});
  BOOST_TEST(accepted("offset=999999999999999999").offset == std::int64_t{999999999999999999});
}

BOOST_AUTO_TEST_CASE(offset_leaves_limit_default) {
  const auto r = accepted("offset=20");
  BOOST_TEST(r.offset == 20);
  BOOST_TEST(r.limit == 50);
}

BOOST_AUTO_TEST_CASE(bad_offsets_rejected_naming_offset) {
  const std::array<std::string_view, 12> bad{
      "offset=-1",
      "offset=-0",
      "offset=abc",
      "offset=",
      "offset",
      "offset=1.5",
      "offset=%2B1",
      "offset=%201",
      "offset=1e3",
      "offset=9223372036854775808",  // INT64_MAX + 1
      "offset=18446744073709551616",  // UINT64_MAX + 1
      "offset=99999999999999999999999999999999"};
  for (auto q : bad) {
    BOOST_TEST_CONTEXT("query: " << q) {
      const auto message = rejected(q);
      BOOST_TEST(contains(message, "offset"), "message: " << message);
    }
  }
}

// --- id filters -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(id_filters_kept_verbatim) {
  for (auto param : id_params) {
    BOOST_TEST_CONTEXT("parameter: " << param) {
      const std::string p(param);
      BOOST_TEST(id_slot(accepted(p + "=evt_0123456789abcdef"), param).at(0) == "evt_0123456789abcdef");
      // SQL injection attempts are just values: exact match, nothing interpreted.
      BOOST_TEST(id_slot(accepted(p + "=%27%20OR%201%3D1%20--"), param).at(0) == "' OR 1=1 --");
      BOOST_TEST(id_slot(accepted(p + "=%27+OR+1%3D1+--"), param).at(0) == "' OR 1=1 --");
      BOOST_TEST(id_slot(accepted(p + "=x%27%3B%20DROP%20TABLE%20delivery_attempts%3B%20--"), param).at(0) ==
                 "x'; DROP TABLE delivery_attempts; --");
      BOOST_TEST(id_slot(accepted(p + "=%22%5C%25_*"), param).at(0) == "\"\\%_*");
      // Unicode (percent-encoded UTF-8), 2-, 3- and 4-byte sequences.
      BOOST_TEST(id_slot(accepted(p + "=%C3%A9v%C3%A9nement_%E2%98%83_%F0%9F%98%80"), param).at(0) ==
                 "\xC3\xA9v\xC3\xA9nement_\xE2\x98\x83_\xF0\x9F\x98\x80");
    }
  }
}

BOOST_AUTO_TEST_CASE(id_filter_sets_only_its_own_slot) {
  const auto e = accepted("event_id=a");
  BOOST_TEST(e.filter.event_id.at(0) == "a");
  BOOST_TEST(e.filter.connection_id.empty());
  BOOST_TEST(e.filter.destination_id.empty());
  const auto c = accepted("connection_id=b");
  BOOST_TEST(c.filter.event_id.empty());
  BOOST_TEST(c.filter.connection_id.at(0) == "b");
  BOOST_TEST(c.filter.destination_id.empty());
  const auto d = accepted("destination_id=c");
  BOOST_TEST(d.filter.event_id.empty());
  BOOST_TEST(d.filter.connection_id.empty());
  BOOST_TEST(d.filter.destination_id.at(0) == "c");
  BOOST_TEST(d.filter.status.empty());
  BOOST_TEST(!d.filter.in_dlq.has_value());
}

BOOST_AUTO_TEST_CASE(empty_id_filters_rejected) {
  for (auto param : id_params) {
    BOOST_TEST_CONTEXT("parameter: " << param) {
      const std::string p(param);
      const auto with_equals = rejected(p + "=");
      BOOST_TEST(contains(with_equals, param), "message: " << with_equals);
      BOOST_TEST(with_equals == p + " must not be empty");
      const auto bare = rejected(p);
      BOOST_TEST(contains(bare, param), "message: " << bare);
    }
  }
}

BOOST_AUTO_TEST_CASE(id_filter_length_limit_is_128_bytes) {
  BOOST_TEST(hs::max_id_filter_bytes == 128u);
  for (auto param : id_params) {
    BOOST_TEST_CONTEXT("parameter: " << param) {
      const std::string p(param);
      const std::string v128(128, 'a'), v129(129, 'a');
      BOOST_TEST(id_slot(accepted(p + "=" + v128), param).at(0) == v128);
      const auto message = rejected(p + "=" + v129);
      BOOST_TEST(contains(message, param), "message: " << message);
      BOOST_TEST(contains(message, "128"), "message: " << message);
    }
  }
}

BOOST_AUTO_TEST_CASE(id_filter_length_counts_decoded_bytes) {
  // 128 'a's written as %61: 384 characters on the wire, 128 bytes decoded.
  std::string encoded128;
  for (int i = 0; i < 128; ++i) encoded128 += "%61";
  BOOST_TEST(accepted("event_id=" + encoded128).filter.event_id.at(0) == std::string(128, 'a'));
  // 64 x U+00E9 = 128 bytes of UTF-8 (64 characters): accepted.
  std::string e64, e64_raw;
  for (int i = 0; i < 64; ++i) {
    e64 += "%C3%A9";
    e64_raw += "\xC3\xA9";
  }
  BOOST_TEST(accepted("connection_id=" + e64).filter.connection_id.at(0) == e64_raw);
  // 43 x U+2603 = 129 bytes (43 characters): rejected, the limit is bytes.
  std::string s43;
  for (int i = 0; i < 43; ++i) s43 += "%E2%98%83";
  const auto message = rejected("destination_id=" + s43);
  BOOST_TEST(contains(message, "destination_id"), "message: " << message);
}

// --- status ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(known_statuses_accepted) {
  for (std::string_view s : {"pending", "success", "failed", "retrying"}) {
    BOOST_TEST_CONTEXT("status: " << s) {
      const auto r = accepted("status=" + std::string(s));
      BOOST_TEST(r.filter.status.at(0) == s);
      BOOST_TEST(!r.filter.in_dlq.has_value());
      BOOST_TEST(r.filter.event_id.empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(unknown_statuses_rejected_listing_allowed_values) {
  for (std::string_view q : {"status=SUCCESS", "status=done", "status=", "status", "status=Pending",
                             "status=success%20", "status=succes", "status=success;failed", "status=%27%20OR%201%3D1"}) {
    BOOST_TEST_CONTEXT("query: " << q) {
      const auto message = rejected(q);
      BOOST_TEST(contains(message, "status"), "message: " << message);
      for (std::string_view allowed : {"pending", "success", "failed", "retrying"})
        BOOST_TEST(contains(message, allowed), "message: " << message << " lacks " << allowed);
    }
  }
}

// --- is_dlq ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(is_dlq_values) {
  const auto one = accepted("is_dlq=1");
  BOOST_TEST(one.filter.in_dlq.has_value());
  BOOST_TEST(one.filter.in_dlq.value() == true);
  const auto zero = accepted("is_dlq=0");
  BOOST_TEST(zero.filter.in_dlq.has_value());
  BOOST_TEST(zero.filter.in_dlq.value() == false);
  BOOST_TEST(zero.filter.status.empty());
}

BOOST_AUTO_TEST_CASE(bad_is_dlq_rejected) {
  for (std::string_view q : {"is_dlq=2", "is_dlq=true", "is_dlq=false", "is_dlq=", "is_dlq", "is_dlq=01",
                             "is_dlq=-1", "is_dlq=yes", "is_dlq=1%20"}) {
    BOOST_TEST_CONTEXT("query: " << q) {
      const auto message = rejected(q);
      BOOST_TEST(contains(message, "is_dlq"), "message: " << message);
    }
  }
}

// --- duplicates -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(duplicate_known_parameters_rejected) {
  const std::array<std::pair<std::string_view, std::string_view>, 10> cases{{
      {"limit=5&limit=5", "limit"},
      {"limit=5&limit=6", "limit"},
      {"offset=0&offset=10", "offset"},
      {"event_id=a&event_id=a", "event_id"},
      {"event_id=a&event_id=b", "event_id"},
      {"connection_id=a&connection_id=b", "connection_id"},
      {"destination_id=a&destination_id=b", "destination_id"},
      {"status=success&status=failed", "status"},
      {"is_dlq=1&is_dlq=1", "is_dlq"},
      {"is_dlq=0&limit=3&is_dlq=1", "is_dlq"},
  }};
  for (auto [q, name] : cases) {
    BOOST_TEST_CONTEXT("query: " << q) {
      const auto message = rejected(q);
      BOOST_TEST(contains(message, name), "message: " << message);
      BOOST_TEST(contains(message, "more than once"), "message: " << message);
    }
  }
}

BOOST_AUTO_TEST_CASE(duplicates_detected_after_decoding_the_key) {
  const auto message = rejected("limit=5&%6Cimit=6");
  BOOST_TEST(contains(message, "limit"), "message: " << message);
  const auto m2 = rejected("event_id=a&event%5Fid=b");
  BOOST_TEST(contains(m2, "event_id"), "message: " << m2);
}

BOOST_AUTO_TEST_CASE(duplicate_unknown_parameters_ignored) {
  const auto r = accepted("foo=1&foo=2&limit=9&foo=3");
  BOOST_TEST(r.limit == 9);
  require_no_filters(r);
}

// --- decoding -------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(keys_and_values_are_percent_decoded) {
  BOOST_TEST(accepted("%6Cimit=%31%30").limit == 10);
  BOOST_TEST(accepted("%6c%69%6d%69%74=42").limit == 42);
  BOOST_TEST(accepted("offset=%32%30").offset == 20);
  BOOST_TEST(accepted("event%5Fid=evt%5F1").filter.event_id.at(0) == "evt_1");
  BOOST_TEST(accepted("status=%73uccess").filter.status.at(0) == "success");
  BOOST_TEST(accepted("is%5Fdlq=%31").filter.in_dlq.value() == true);
}

BOOST_AUTO_TEST_CASE(plus_is_a_space) {
  BOOST_TEST(accepted("event_id=a+b").filter.event_id.at(0) == "a b");
  BOOST_TEST(accepted("event_id=a%20b").filter.event_id.at(0) == "a b");
  BOOST_TEST(accepted("event_id=a%2Bb").filter.event_id.at(0) == "a+b");
  BOOST_TEST(accepted("connection_id=+").filter.connection_id.at(0) == " ");
  // A '+' in the key makes it a different (unknown) parameter.
  const auto r = accepted("event+id=x&limit+=abc");
  BOOST_TEST(r.filter.event_id.empty());
  BOOST_TEST(r.limit == 50);
}

BOOST_AUTO_TEST_CASE(encoded_separators_stay_in_the_value) {
  const auto r = accepted("event_id=a%26limit%3D0&limit=3");
  BOOST_TEST(r.filter.event_id.at(0) == "a&limit=0");
  BOOST_TEST(r.limit == 3);
}

BOOST_AUTO_TEST_CASE(malformed_percent_encoding_rejected) {
  for (std::string_view q : {"limit=%zz", "event_id=%", "event_id=%4", "%G0=1"}) {
    BOOST_TEST_CONTEXT("query: " << q) {
      auto r = hs::parse_list_query(q);
      BOOST_TEST(std::holds_alternative<hs::invalid_parameter>(r));
    }
  }
}

// --- combinations ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(all_filters_combined) {
  const auto r = accepted(
      "event_id=evt_1&connection_id=conn_2&destination_id=dst_3&status=failed&is_dlq=1&limit=10&offset=20");
  BOOST_TEST(r.filter.event_id.at(0) == "evt_1");
  BOOST_TEST(r.filter.connection_id.at(0) == "conn_2");
  BOOST_TEST(r.filter.destination_id.at(0) == "dst_3");
  BOOST_TEST(r.filter.status.at(0) == "failed");
  BOOST_TEST(r.filter.in_dlq.value() == true);
  BOOST_TEST(r.limit == 10);
  BOOST_TEST(r.offset == 20);
}

BOOST_AUTO_TEST_CASE(combination_order_does_not_matter) {
  const auto r = accepted("offset=5&is_dlq=0&unknown=1&status=retrying&destination_id=d&limit=100&event_id=e");
  BOOST_TEST(r.filter.event_id.at(0) == "e");
  BOOST_TEST(r.filter.connection_id.empty());
  BOOST_TEST(r.filter.destination_id.at(0) == "d");
  BOOST_TEST(r.filter.status.at(0) == "retrying");
  BOOST_TEST(r.filter.in_dlq.value() == false);
  BOOST_TEST(r.limit == 100);
  BOOST_TEST(r.offset == 5);
}

BOOST_AUTO_TEST_CASE(one_bad_parameter_rejects_the_whole_query) {
  const auto message = rejected("event_id=evt_1&status=failed&limit=0&offset=5");
  BOOST_TEST(contains(message, "limit"), "message: " << message);
  const auto m2 = rejected("event_id=evt_1&status=bogus&limit=10");
  BOOST_TEST(contains(m2, "status"), "message: " << m2);
}

// --- cursor ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(cursor_is_kept_encoded_for_the_handler) {
  auto r = hs::parse_list_query("limit=5&cursor=AbC-_x%3D&status=failed");
  BOOST_REQUIRE(std::holds_alternative<hs::list_query>(r));
  const auto& q = std::get<hs::list_query>(r);
  BOOST_REQUIRE(q.cursor.has_value());
  BOOST_TEST(*q.cursor == "AbC-_x=");
  BOOST_TEST(q.request.limit == 5);
  BOOST_TEST(q.request.filter.status.at(0) == "failed");
  BOOST_TEST(!std::get<hs::list_query>(hs::parse_list_query("limit=5")).cursor.has_value());
}

BOOST_AUTO_TEST_CASE(cursor_rules) {
  BOOST_TEST(contains(rejected("cursor="), "cursor"));
  BOOST_TEST(contains(rejected("cursor"), "cursor"));
  BOOST_TEST(contains(rejected("cursor=a&cursor=b"), "more than once"));
  // A cursor already says where the page starts.
  BOOST_TEST(contains(rejected("cursor=abc&offset=0"), "offset"));
  BOOST_TEST(contains(rejected("offset=10&cursor=abc"), "offset"));
}

// Values go to PostgreSQL as text: a NUL would silently cut them short and
// invalid UTF-8 would be refused by the server, so both are a 400 here.
BOOST_AUTO_TEST_CASE(id_filters_must_be_clean_utf8) {
  for (const char* param : {"event_id", "connection_id", "destination_id"}) {
    BOOST_TEST_CONTEXT(param) {
      const std::string p(param);
      BOOST_TEST(contains(rejected(p + "=evt_a%00x"), p));
      BOOST_TEST(contains(rejected(p + "=%FF%FE"), "UTF-8"));
      BOOST_TEST(contains(rejected(p + "=%C3"), "UTF-8"));        // truncated
      BOOST_TEST(contains(rejected(p + "=%ED%A0%80"), "UTF-8"));  // surrogate
      BOOST_TEST(contains(rejected(p + "=%C0%80"), "UTF-8"));     // overlong NUL
    }
  }
  BOOST_TEST(accepted("event_id=%E2%98%83%F0%9F%98%80").filter.event_id.at(0) == "\xE2\x98\x83\xF0\x9F\x98\x80");
}

BOOST_AUTO_TEST_SUITE_END()

// --- several values ---------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(list_query_values)

using strings = std::vector<std::string>;

BOOST_AUTO_TEST_CASE(comma_separated_values_are_deduplicated_and_sorted) {
  BOOST_TEST(accepted("status=retrying,failed").filter.status == (strings{"failed", "retrying"}),
             boost::test_tools::per_element());
  BOOST_TEST(accepted("status=failed,failed,retrying,failed").filter.status == (strings{"failed", "retrying"}),
             boost::test_tools::per_element());
  // An encoded comma separates too (URLSearchParams encodes every comma).
  BOOST_TEST(accepted("connection_id=conn_b%2Cconn_a").filter.connection_id == (strings{"conn_a", "conn_b"}),
             boost::test_tools::per_element());
  BOOST_TEST(accepted("event_id=e1,e2,e3").filter.event_id == (strings{"e1", "e2", "e3"}),
             boost::test_tools::per_element());
  BOOST_TEST(accepted("destination_id=d").filter.destination_id == (strings{"d"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(at_most_ten_distinct_values) {
  std::string ten = "v0";
  for (char c = '1'; c <= '9'; ++c) (ten += ",v") += c;
  const std::string eleven = ten + ",v10";
  for (auto param : {"event_id", "connection_id", "destination_id"}) {
    BOOST_TEST_CONTEXT(param) {
      BOOST_TEST(id_slot(accepted(std::string(param) + "=" + ten), param).size() == 10u);
      const auto message = rejected(std::string(param) + "=" + eleven);
      BOOST_TEST(contains(message, param));
      BOOST_TEST(contains(message, "at most 10 distinct values"), message);
      // Repeats count once: 30 values, 10 distinct.
      BOOST_TEST(id_slot(accepted(std::string(param) + "=" + ten + "," + ten + "," + ten), param).size() == 10u);
    }
  }
  BOOST_TEST(accepted("status=pending,success,failed,retrying").filter.status.size() == 4u);
}

BOOST_AUTO_TEST_CASE(empty_values_in_a_list_are_rejected) {
  for (auto q : {"status=failed,", "status=,failed", "event_id=a,,b", "connection_id=,", "destination_id=x,"}) {
    BOOST_TEST_CONTEXT(q) { BOOST_TEST(contains(rejected(q), "empty value")); }
  }
}

BOOST_AUTO_TEST_CASE(every_value_of_a_list_is_checked) {
  BOOST_TEST(contains(rejected("status=failed,done"), "pending, success, failed, retrying"));
  BOOST_TEST(contains(rejected("event_id=ok," + std::string(129, 'x')), "128"));
  BOOST_TEST(contains(rejected("connection_id=ok,%FF"), "UTF-8"));
  BOOST_TEST(contains(rejected("destination_id=ok,a%00b"), "NUL"));
}

BOOST_AUTO_TEST_SUITE_END()

// --- time range ---------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(list_query_range)

BOOST_AUTO_TEST_CASE(rfc3339_with_z_or_an_offset) {
  // 2026-11-28T08:39:52Z = 1795855192 s.
  const std::int64_t t = 1795855192LL * 1000000;
  BOOST_TEST(*hs::parse_rfc3339("2026-11-28T08:39:52Z", false) == t);
  BOOST_TEST(*hs::parse_rfc3339("2026-11-28t08:39:52z", false) == t);
  BOOST_TEST(*hs::parse_rfc3339("2026-11-28T09:39:52+01:00", false) == t);
  BOOST_TEST(*hs::parse_rfc3339("2026-11-28T03:09:52-05:30", false) == t);
  BOOST_TEST(*hs::parse_rfc3339("2026-11-28T08:39:52+00:00", false) == t);
  BOOST_TEST(*hs::parse_rfc3339("2026-11-28T08:39:52-00:00", false) == t);
  BOOST_TEST(*hs::parse_rfc3339("2026-11-28T08:39:52.929Z", false) == t + 929000);
  BOOST_TEST(*hs::parse_rfc3339("2026-11-28T08:39:52.123456Z", false) == t + 123456);
  // Finer than a microsecond: down for "after", up for "before".
  BOOST_TEST(*hs::parse_rfc3339("2026-11-28T08:39:52.123456789Z", false) == t + 123456);
  BOOST_TEST(*hs::parse_rfc3339("2026-11-28T08:39:52.123456789Z", true) == t + 123457);
  BOOST_TEST(*hs::parse_rfc3339("2026-11-28T08:39:52.123456000Z", true) == t + 123456);
  // Before 1970, a leap day, the last instant of a year.
  BOOST_TEST(*hs::parse_rfc3339("1969-12-31T23:59:59Z", false) == -1000000);
  BOOST_TEST(*hs::parse_rfc3339("2024-02-29T00:00:00Z", false) == 1709164800LL * 1000000);
  BOOST_TEST(*hs::parse_rfc3339("1999-12-31T23:59:59.999999Z", false) == 946684799999999LL);
  // An unencoded '+' in a query string arrives as a space.
  BOOST_TEST(*hs::parse_rfc3339("2026-11-28T09:39:52 01:00", false) == t);
}

BOOST_AUTO_TEST_CASE(anything_else_is_not_rfc3339) {
  for (auto s : {"", "2026-11-28", "2026-11-28T08:39:52", "2026-11-28 08:39:52Z", "2026-11-28T08:39Z",
                 "2026-11-28T08:39:52.Z", "2026-11-28T08:39:52.1234567890Z", "2026-11-28T08:39:52+0100",
                 "2026-11-28T08:39:52+01", "2026-11-28T08:39:52+24:00", "2026-11-28T08:39:52+01:60",
                 "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
                 "2026-11-28T24:00:00Z", "2026-11-28T23:60:00Z", "2026-12-31T23:59:60Z", "1795855192",
                 "2026-11-28T08:39:52Zjunk", "+2026-11-28T08:39:52Z", "2026-11-28T08:39:52ZZ",
                 "2026-11-28T08:39:52.12a3Z", "２０２６-11-28T08:39:52Z", "yesterday"}) {
    BOOST_TEST_CONTEXT(s) { BOOST_TEST(!hs::parse_rfc3339(s, false).has_value()); }
  }
}

BOOST_AUTO_TEST_CASE(bounds_are_parsed_and_checked) {
  const auto r = accepted("created_after=2026-11-21T09:17:23Z&created_before=2026-11-28T09:17:23%2B00:00");
  BOOST_TEST(*r.filter.created_after == 1795252643LL * 1000000);
  BOOST_TEST(*r.filter.created_before == 1795857443LL * 1000000);
  BOOST_TEST(!accepted("created_after=2026-11-21T09:17:23Z").filter.created_before.has_value());
  BOOST_TEST(!accepted("created_before=2026-11-21T09:17:23Z").filter.created_after.has_value());
  // Exclusive bounds: equal bounds select nothing and are refused, like reversed ones.
  BOOST_TEST(contains(rejected("created_after=2026-11-21T09:17:23Z&created_before=2026-11-21T10:17:23%2B01:00"),
                      "earlier than created_before"));
  BOOST_TEST(contains(rejected("created_after=2026-11-22T00:00:00Z&created_before=2026-11-21T00:00:00Z"),
                      "earlier than created_before"));
  // A microsecond apart is a valid (if narrow) range.
  BOOST_TEST(accepted("created_after=2026-11-21T00:00:00Z&created_before=2026-11-21T00:00:00.000001Z")
                 .filter.created_after.has_value());
  for (auto q : {"created_after=", "created_after=2026-11-21", "created_before=soon", "created_after=1795855192",
                 "created_after=2026-11-21T09:17:23Z&created_after=2026-11-21T09:17:23Z"}) {
    BOOST_TEST_CONTEXT(q) { BOOST_TEST(contains(rejected(q), "created_")); }
  }
  BOOST_TEST(contains(rejected("created_after=yesterday"), "RFC 3339"));
}

// The OpenAPI document is generated from this table; every parameter in it is
// one the parser reads (a bad value of it is refused naming it).
BOOST_AUTO_TEST_CASE(every_documented_parameter_is_enforced) {
  for (const auto& p : hs::listing_parameters()) {
    BOOST_TEST_CONTEXT(p.name) {
      const auto message = rejected(std::string(p.name) + "=");
      BOOST_TEST(contains(message, p.name), message);
    }
  }
  BOOST_TEST(hs::listing_parameters().size() == 10u);
}

BOOST_AUTO_TEST_SUITE_END()
