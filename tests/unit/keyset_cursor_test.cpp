// Cursor encoding: round trips, and every way a cursor can be wrong.
#include <hookstream/server/keyset_cursor.hpp>

#include <boost/test/unit_test.hpp>

namespace hs = hookstream::server;
using hookstream::storage::attempt_filter;
using hookstream::storage::tenant_id;

namespace {
const hs::cursor_codec codec("0123456789abcdef0123456789abcdef");
const tenant_id tenant{"org_a", "env_a"};

hs::keyset_cursor sample() {
  return {hs::cursor_direction::next, {1795855192929123, "da_0123456789abcdef0123456789abcdef"}, 1000000};
}

hs::cursor_error error_of(const std::string& token, const tenant_id& t = tenant, const attempt_filter& f = {}) {
  auto r = codec.decode(token, t, f);
  BOOST_REQUIRE(std::holds_alternative<hs::cursor_error>(r));
  return std::get<hs::cursor_error>(r);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(keyset_cursor)

BOOST_AUTO_TEST_CASE(round_trips_and_is_url_safe) {
  attempt_filter f;
  f.status = {"failed"};
  f.in_dlq = false;
  for (auto dir : {hs::cursor_direction::next, hs::cursor_direction::prev}) {
    auto c = sample();
    c.direction = dir;
    const std::string token = codec.encode(c, tenant, f);
    BOOST_TEST(token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
               std::string::npos);
    auto back = codec.decode(token, tenant, f);
    BOOST_REQUIRE(std::holds_alternative<hs::keyset_cursor>(back));
    const auto& d = std::get<hs::keyset_cursor>(back);
    BOOST_TEST((d.direction == dir));
    BOOST_TEST(d.anchor.created_at == c.anchor.created_at);
    BOOST_TEST(d.anchor.id == c.anchor.id);
    BOOST_TEST(d.position == c.position);
  }
}

BOOST_AUTO_TEST_CASE(every_edited_byte_is_detected) {
  const std::string token = codec.encode(sample(), tenant, {});
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (std::size_t i = 0; i < token.size(); ++i) {
    std::string edited = token;
    edited[i] = alphabet[(alphabet.find(edited[i]) + 1) % alphabet.size()];
    auto r = codec.decode(edited, tenant, {});
    BOOST_TEST(std::holds_alternative<hs::cursor_error>(r), "position " << i);
  }
}

BOOST_AUTO_TEST_CASE(malformed_truncated_and_foreign_cursors) {
  const std::string token = codec.encode(sample(), tenant, {});
  BOOST_TEST((error_of("") == hs::cursor_error::malformed));
  BOOST_TEST((error_of("not base64!") == hs::cursor_error::malformed));
  BOOST_TEST((error_of(token.substr(0, token.size() - 4)) != hs::cursor_error::other_filters));
  BOOST_TEST((error_of(token.substr(0, 10)) == hs::cursor_error::malformed));
  BOOST_TEST((error_of(token + "AAAA") == hs::cursor_error::malformed));
  BOOST_TEST((error_of(std::string(5000, 'A')) == hs::cursor_error::malformed));
  // Another tenant (org or environment) cannot use it: it fails like a forgery.
  BOOST_TEST((error_of(token, {"org_b", "env_a"}) == hs::cursor_error::forged));
  BOOST_TEST((error_of(token, {"org_a", "env_b"}) == hs::cursor_error::forged));
  // Another server secret cannot read it either.
  const hs::cursor_codec other("another-secret-of-32-bytes-000000");
  BOOST_TEST(std::holds_alternative<hs::cursor_error>(other.decode(token, tenant, {})));
}

// The shape check needs no secret and no tenant: it lets the server refuse a
// malformed cursor before any work, and leaves genuineness to decode().
BOOST_AUTO_TEST_CASE(well_formed_checks_shape_only) {
  const std::string token = codec.encode(sample(), tenant, {});
  BOOST_TEST(hs::cursor_codec::well_formed(token));
  BOOST_TEST(!hs::cursor_codec::well_formed(""));
  BOOST_TEST(!hs::cursor_codec::well_formed("not base64!"));
  BOOST_TEST(!hs::cursor_codec::well_formed(token.substr(0, 10)));
  BOOST_TEST(!hs::cursor_codec::well_formed(token + "AAAA"));
  // An edited MAC keeps the shape; only decode() can tell it is not genuine.
  std::string edited = token;
  edited.back() = edited.back() == 'A' ? 'Q' : 'A';
  if (hs::cursor_codec::well_formed(edited)) BOOST_TEST((error_of(edited) == hs::cursor_error::forged));
  // Another tenant's genuine cursor is well formed, and forged for us.
  BOOST_TEST(hs::cursor_codec::well_formed(codec.encode(sample(), {"org_other", "env_other"}, {})));
}

BOOST_AUTO_TEST_CASE(bound_to_its_filters) {
  attempt_filter made_for;
  made_for.connection_id = {"conn_1"};
  const std::string token = codec.encode(sample(), tenant, made_for);
  attempt_filter other = made_for;
  other.connection_id = {"conn_2"};
  BOOST_TEST((error_of(token, tenant, other) == hs::cursor_error::other_filters));
  BOOST_TEST((error_of(token, tenant, {}) == hs::cursor_error::other_filters));
  attempt_filter more = made_for;
  more.status = {"success"};
  BOOST_TEST((error_of(token, tenant, more) == hs::cursor_error::other_filters));
  // Same values in different fields are different filters.
  attempt_filter moved;
  moved.destination_id = {"conn_1"};
  BOOST_TEST((error_of(token, tenant, moved) == hs::cursor_error::other_filters));
}

// Stream cursors (the live tail's ids): their own kind, bound like listing cursors.
BOOST_AUTO_TEST_CASE(stream_cursors_round_trip_and_are_bound_to_tenant_filters_and_kind) {
  attempt_filter f;
  f.status = {"failed"};
  const auto fp = hs::fingerprint_of(f);
  for (const hookstream::storage::event_position p :
       {hookstream::storage::event_position{0, 0}, hookstream::storage::event_position{748, 3},
        hookstream::storage::event_position{(1ull << 63) + 5, (1ll << 62) + 7}}) {
    const std::string token = codec.encode_stream(p, tenant, fp);
    BOOST_TEST(hs::cursor_codec::stream_well_formed(token));
    BOOST_TEST(!hs::cursor_codec::well_formed(token));  // not a listing cursor
    auto back = codec.decode_stream(token, tenant, fp);
    BOOST_REQUIRE(std::holds_alternative<hookstream::storage::event_position>(back));
    BOOST_TEST((std::get<hookstream::storage::event_position>(back) == p));
  }
  const std::string token = codec.encode_stream({748, 3}, tenant, fp);
  auto refusal = [&](const std::string& t, const tenant_id& who, const hs::filter_fingerprint& with) {
    auto r = codec.decode_stream(t, who, with);
    BOOST_REQUIRE(std::holds_alternative<hs::cursor_error>(r));
    return std::get<hs::cursor_error>(r);
  };
  BOOST_TEST((refusal(token, {"org_b", "env_a"}, fp) == hs::cursor_error::forged));
  BOOST_TEST((refusal(token, {"org_a", "env_b"}, fp) == hs::cursor_error::forged));
  BOOST_TEST((refusal(token, tenant, hs::fingerprint_of({})) == hs::cursor_error::other_filters));
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (std::size_t i = 0; i < token.size(); ++i) {
    std::string edited = token;
    edited[i] = alphabet[(alphabet.find(edited[i]) + 1) % alphabet.size()];
    BOOST_TEST(std::holds_alternative<hs::cursor_error>(codec.decode_stream(edited, tenant, fp)), "position " << i);
  }
  // Neither kind passes for the other.
  const std::string listing = codec.encode(sample(), tenant, f);
  BOOST_TEST(!hs::cursor_codec::stream_well_formed(listing));
  BOOST_TEST((refusal(listing, tenant, fp) == hs::cursor_error::malformed));
  BOOST_TEST((error_of(token, tenant, f) == hs::cursor_error::malformed));
  BOOST_TEST((refusal("", tenant, fp) == hs::cursor_error::malformed));
  BOOST_TEST((refusal(std::string(5000, 'A'), tenant, fp) == hs::cursor_error::malformed));
}

BOOST_AUTO_TEST_CASE(value_sets_are_order_independent_and_ranges_are_bound) {
  attempt_filter made_for;
  made_for.status = {"failed", "retrying"};
  made_for.connection_id = {"conn_b", "conn_a"};
  made_for.created_after = 1795855192929123;
  const std::string token = codec.encode(sample(), tenant, made_for);
  // The same sets in another order, or with a value repeated: the same filter.
  attempt_filter reordered = made_for;
  reordered.status = {"retrying", "failed", "failed"};
  reordered.connection_id = {"conn_a", "conn_b"};
  BOOST_TEST(std::holds_alternative<hs::keyset_cursor>(codec.decode(token, tenant, reordered)));
  // One value more or less, another value: other filters.
  attempt_filter fewer = made_for;
  fewer.status = {"failed"};
  BOOST_TEST((error_of(token, tenant, fewer) == hs::cursor_error::other_filters));
  attempt_filter more = made_for;
  more.status = {"failed", "retrying", "pending"};
  BOOST_TEST((error_of(token, tenant, more) == hs::cursor_error::other_filters));
  // Values do not move between fields unnoticed, nor merge ("a,b" is not "a" + "b").
  attempt_filter merged = made_for;
  merged.connection_id = {"conn_a,conn_b"};
  BOOST_TEST((error_of(token, tenant, merged) == hs::cursor_error::other_filters));
  // The range is part of the filter: moved by a microsecond, dropped, or added.
  attempt_filter moved = made_for;
  moved.created_after = *made_for.created_after + 1;
  BOOST_TEST((error_of(token, tenant, moved) == hs::cursor_error::other_filters));
  attempt_filter unbounded = made_for;
  unbounded.created_after.reset();
  BOOST_TEST((error_of(token, tenant, unbounded) == hs::cursor_error::other_filters));
  attempt_filter upper = made_for;
  upper.created_before = 1895855192929123;
  BOOST_TEST((error_of(token, tenant, upper) == hs::cursor_error::other_filters));
  // The same instant as the other bound is another filter too.
  attempt_filter swapped = made_for;
  swapped.created_before = made_for.created_after;
  swapped.created_after.reset();
  BOOST_TEST((error_of(token, tenant, swapped) == hs::cursor_error::other_filters));
}

BOOST_AUTO_TEST_CASE(short_secrets_are_refused) {
  BOOST_CHECK_THROW(hs::cursor_codec("short"), std::invalid_argument);
  BOOST_TEST(hs::random_cursor_secret().size() == 64u);
  BOOST_TEST(hs::random_cursor_secret() != hs::random_cursor_secret());
}

BOOST_AUTO_TEST_SUITE_END()
