// Fuzz target: the keyset cursor decoder (cursor_codec::decode), from both ends.
//
// 1. The input as a `cursor=` token, decoded for a fixed tenant against several
//    filter sets. Whatever decodes must be a cursor the encoder would write
//    byte for byte (encode(decode(x)) == x), never carry a negative position, and
//    be refused for any other tenant (forged) and any other filter set
//    (other_filters). Refusals other than other_filters cannot depend on the
//    filters.
// 2. The input as the fields of a cursor: decode(encode(c)) == c.
//
// Only seeds (made by make_fuzz_seeds with the same secret) get past the MAC;
// the fuzzer mutates them to reach every refusal.
#include "fuzz_support.hpp"

#include <hookstream/server/keyset_cursor.hpp>

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace {
namespace hs = hookstream::server;
namespace fz = hookstream::fuzz;
using hookstream::storage::attempt_filter;

// The longest id a cursor carries; encode() keeps only this much of a longer one.
constexpr std::size_t max_cursor_id = 128;

const hs::cursor_codec& codec() {
  static const hs::cursor_codec c(fz::cursor_secret);
  return c;
}
const std::vector<attempt_filter>& filters() {
  static const auto f = fz::filter_sets();
  return f;
}

bool same(const hs::keyset_cursor& a, const hs::keyset_cursor& b) {
  return a.direction == b.direction && a.position == b.position && a.anchor.created_at == b.anchor.created_at &&
         a.anchor.id == b.anchor.id;
}

void check_token(std::string_view token) {
  const auto& sets = filters();
  std::vector<std::variant<hs::keyset_cursor, hs::cursor_error>> results;
  for (const auto& f : sets) results.push_back(codec().decode(token, fz::tenant, f));

  std::size_t accepted = 0;
  bool genuine = false;  // the MAC matched (accepted, or refused for its filters only)
  for (std::size_t i = 0; i < sets.size(); ++i) {
    if (const auto* c = std::get_if<hs::keyset_cursor>(&results[i])) {
      ++accepted;
      genuine = true;
      FUZZ_CHECK(c->position >= 0, "a decoded cursor carries a negative position");
      FUZZ_CHECK(c->direction == hs::cursor_direction::next || c->direction == hs::cursor_direction::prev,
                 "a decoded cursor has an unknown direction");
      FUZZ_CHECK(c->anchor.id.size() <= max_cursor_id, "a decoded cursor carries an id the encoder cannot write");
      FUZZ_CHECK(codec().encode(*c, fz::tenant, sets[i]) == token, "encode(decode(token)) != token");
      auto elsewhere = codec().decode(token, fz::other_tenant, sets[i]);
      FUZZ_CHECK(std::holds_alternative<hs::cursor_error>(elsewhere) &&
                     std::get<hs::cursor_error>(elsewhere) == hs::cursor_error::forged,
                 "a cursor decodes for another tenant");
    } else if (std::get<hs::cursor_error>(results[i]) == hs::cursor_error::other_filters) {
      genuine = true;
    }
  }
  FUZZ_CHECK(accepted <= 1, "a cursor decodes for two different filter sets");
  for (const auto& r : results) {
    if (genuine) {
      FUZZ_CHECK(std::holds_alternative<hs::keyset_cursor>(r) ||
                     std::get<hs::cursor_error>(r) == hs::cursor_error::other_filters,
                 "a genuine cursor is refused as malformed or forged for some filters only");
    } else {
      // Not genuine: every result is a refusal (an acceptance would be genuine).
      FUZZ_CHECK(std::get<hs::cursor_error>(r) == std::get<hs::cursor_error>(results[0]),
                 "the refusal of a non-genuine cursor depends on the filters");
    }
  }
}

void check_fields(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  hs::keyset_cursor c;
  c.direction = in.ConsumeBool() ? hs::cursor_direction::next : hs::cursor_direction::prev;
  c.anchor.created_at = in.ConsumeIntegral<std::int64_t>();
  c.position = in.ConsumeIntegral<std::int64_t>();
  const auto& f = filters()[in.ConsumeIntegralInRange<std::size_t>(0, filters().size() - 1)];
  c.anchor.id = in.ConsumeRandomLengthString(max_cursor_id);

  const std::string token = codec().encode(c, fz::tenant, f);
  FUZZ_CHECK(token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
                 std::string::npos,
             "an encoded cursor is not base64url");
  const auto back = codec().decode(token, fz::tenant, f);
  if (c.position < 0) {
    FUZZ_CHECK(std::holds_alternative<hs::cursor_error>(back) &&
                   std::get<hs::cursor_error>(back) == hs::cursor_error::malformed,
               "a cursor with a negative position decodes");
    return;
  }
  FUZZ_CHECK(std::holds_alternative<hs::keyset_cursor>(back), "an encoded cursor does not decode");
  FUZZ_CHECK(same(c, std::get<hs::keyset_cursor>(back)), "decode(encode(cursor)) != cursor");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  check_token(std::string_view(reinterpret_cast<const char*>(data), size));
  check_fields(data, size);
  return 0;
}
