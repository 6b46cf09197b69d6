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
  BOOST_TEST(!r.filter.event_id.has_value());
  BOOST_TEST(!r.filter.connection_id.has_value());
  BOOST_TEST(!r.filter.destination_id.has_value());
  BOOST_TEST(!r.filter.status.has_value());
  BOOST_TEST(!r.filter.in_dlq.has_value());
}

constexpr std::array<std::string_view, 3> id_params{"event_id", "connection_id", "destination_id"};

const std::optional<std::string>& id_slot(const page_request& r, std::string_view param) {
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
      BOOST_TEST(id_slot(accepted(p + "=evt_0123456789abcdef"), param).value() == "evt_0123456789abcdef");
      // SQL injection attempts are just values: exact match, nothing interpreted.
      BOOST_TEST(id_slot(accepted(p + "=%27%20OR%201%3D1%20--"), param).value() == "' OR 1=1 --");
      BOOST_TEST(id_slot(accepted(p + "=%27+OR+1%3D1+--"), param).value() == "' OR 1=1 --");
      BOOST_TEST(id_slot(accepted(p + "=x%27%3B%20DROP%20TABLE%20delivery_attempts%3B%20--"), param).value() ==
                 "x'; DROP TABLE delivery_attempts; --");
      BOOST_TEST(id_slot(accepted(p + "=%22%5C%25_*"), param).value() == "\"\\%_*");
      // Unicode (percent-encoded UTF-8), 2-, 3- and 4-byte sequences.
      BOOST_TEST(id_slot(accepted(p + "=%C3%A9v%C3%A9nement_%E2%98%83_%F0%9F%98%80"), param).value() ==
                 "\xC3\xA9v\xC3\xA9nement_\xE2\x98\x83_\xF0\x9F\x98\x80");
    }
  }
}

BOOST_AUTO_TEST_CASE(id_filter_sets_only_its_own_slot) {
  const auto e = accepted("event_id=a");
  BOOST_TEST(e.filter.event_id.value() == "a");
  BOOST_TEST(!e.filter.connection_id.has_value());
  BOOST_TEST(!e.filter.destination_id.has_value());
  const auto c = accepted("connection_id=b");
  BOOST_TEST(!c.filter.event_id.has_value());
  BOOST_TEST(c.filter.connection_id.value() == "b");
  BOOST_TEST(!c.filter.destination_id.has_value());
  const auto d = accepted("destination_id=c");
  BOOST_TEST(!d.filter.event_id.has_value());
  BOOST_TEST(!d.filter.connection_id.has_value());
  BOOST_TEST(d.filter.destination_id.value() == "c");
  BOOST_TEST(!d.filter.status.has_value());
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
      BOOST_TEST(id_slot(accepted(p + "=" + v128), param).value() == v128);
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
  BOOST_TEST(accepted("event_id=" + encoded128).filter.event_id.value() == std::string(128, 'a'));
  // 64 x U+00E9 = 128 bytes of UTF-8 (64 characters): accepted.
  std::string e64, e64_raw;
  for (int i = 0; i < 64; ++i) {
    e64 += "%C3%A9";
    e64_raw += "\xC3\xA9";
  }
  BOOST_TEST(accepted("connection_id=" + e64).filter.connection_id.value() == e64_raw);
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
      BOOST_TEST(r.filter.status.value() == s);
      BOOST_TEST(!r.filter.in_dlq.has_value());
      BOOST_TEST(!r.filter.event_id.has_value());
    }
  }
}

BOOST_AUTO_TEST_CASE(unknown_statuses_rejected_listing_allowed_values) {
  for (std::string_view q : {"status=SUCCESS", "status=done", "status=", "status", "status=Pending",
                             "status=success%20", "status=succes", "status=success,failed", "status=%27%20OR%201%3D1"}) {
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
  BOOST_TEST(!zero.filter.status.has_value());
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
  BOOST_TEST(accepted("event%5Fid=evt%5F1").filter.event_id.value() == "evt_1");
  BOOST_TEST(accepted("status=%73uccess").filter.status.value() == "success");
  BOOST_TEST(accepted("is%5Fdlq=%31").filter.in_dlq.value() == true);
}

BOOST_AUTO_TEST_CASE(plus_is_a_space) {
  BOOST_TEST(accepted("event_id=a+b").filter.event_id.value() == "a b");
  BOOST_TEST(accepted("event_id=a%20b").filter.event_id.value() == "a b");
  BOOST_TEST(accepted("event_id=a%2Bb").filter.event_id.value() == "a+b");
  BOOST_TEST(accepted("connection_id=+").filter.connection_id.value() == " ");
  // A '+' in the key makes it a different (unknown) parameter.
  const auto r = accepted("event+id=x&limit+=abc");
  BOOST_TEST(!r.filter.event_id.has_value());
  BOOST_TEST(r.limit == 50);
}

BOOST_AUTO_TEST_CASE(encoded_separators_stay_in_the_value) {
  const auto r = accepted("event_id=a%26limit%3D0&limit=3");
  BOOST_TEST(r.filter.event_id.value() == "a&limit=0");
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
  BOOST_TEST(r.filter.event_id.value() == "evt_1");
  BOOST_TEST(r.filter.connection_id.value() == "conn_2");
  BOOST_TEST(r.filter.destination_id.value() == "dst_3");
  BOOST_TEST(r.filter.status.value() == "failed");
  BOOST_TEST(r.filter.in_dlq.value() == true);
  BOOST_TEST(r.limit == 10);
  BOOST_TEST(r.offset == 20);
}

BOOST_AUTO_TEST_CASE(combination_order_does_not_matter) {
  const auto r = accepted("offset=5&is_dlq=0&unknown=1&status=retrying&destination_id=d&limit=100&event_id=e");
  BOOST_TEST(r.filter.event_id.value() == "e");
  BOOST_TEST(!r.filter.connection_id.has_value());
  BOOST_TEST(r.filter.destination_id.value() == "d");
  BOOST_TEST(r.filter.status.value() == "retrying");
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
  BOOST_TEST(*q.request.filter.status == "failed");
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
  BOOST_TEST(*accepted("event_id=%E2%98%83%F0%9F%98%80").filter.event_id == "\xE2\x98\x83\xF0\x9F\x98\x80");
}

BOOST_AUTO_TEST_SUITE_END()
