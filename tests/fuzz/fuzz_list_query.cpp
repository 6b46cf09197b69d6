// Fuzz target: the listing's query-string parser (parse_list_query).
//
// Input: the query part of a request target, as a client sends it (still
// percent-encoded, without the '?'). Besides not crashing, every accepted query
// must satisfy the API contract's rules, and must parse to the same thing once
// re-encoded canonically; every refusal must carry a short, clean message.
#include "fuzz_support.hpp"

#include <hookstream/server/list_query.hpp>
#include <hookstream/storage/civil_time.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace {
namespace hs = hookstream::server;
using hookstream::fuzz::strict_utf8;

void append_encoded(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  for (const char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if ((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b == '-' || b == '.' ||
        b == '_' || b == '~') {
      out += c;
    } else {
      out += '%';
      out += hex[b >> 4];
      out += hex[b & 15];
    }
  }
}

// The accepted query written back in one canonical spelling.
std::string canonical(const hs::list_query& q, bool offset_given) {
  std::string out;
  auto param = [&](std::string_view key, std::string_view value) {
    if (!out.empty()) out += '&';
    out += key;
    out += '=';
    append_encoded(out, value);
  };
  const auto& r = q.request;
  param("limit", std::to_string(r.limit));
  if (offset_given) param("offset", std::to_string(r.offset));
  auto list = [&](const char* key, const std::vector<std::string>& values) {
    if (values.empty()) return;
    std::string joined;
    for (const auto& v : values) joined += (joined.empty() ? "" : ",") + v;
    param(key, joined);
  };
  list("event_id", r.filter.event_id);
  list("connection_id", r.filter.connection_id);
  list("destination_id", r.filter.destination_id);
  list("status", r.filter.status);
  if (r.filter.in_dlq) param("is_dlq", *r.filter.in_dlq ? "1" : "0");
  // Microseconds since the epoch, back to RFC 3339 (UTC, six fraction digits).
  auto instant = [&](const char* key, const std::optional<hookstream::storage::unix_micros>& t) {
    if (!t) return;
    const auto c = hookstream::storage::to_civil(*t);
    char buf[40];
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02u:%02u:%02u.%06uZ", static_cast<long long>(c.year), c.month,
                  c.day, c.hour, c.minute, c.second, c.micros);
    param(key, buf);
  };
  instant("created_after", r.filter.created_after);
  instant("created_before", r.filter.created_before);
  if (q.cursor) param("cursor", *q.cursor);
  return out;
}

void check_id_filter(const std::vector<std::string>& values) {
  FUZZ_CHECK(values.size() <= hs::max_filter_values, "an id filter holds more than 10 values");
  FUZZ_CHECK(std::is_sorted(values.begin(), values.end()) &&
                 std::adjacent_find(values.begin(), values.end()) == values.end(),
             "an id filter's values are not sorted and distinct");
  for (const auto& v : values) {
    FUZZ_CHECK(!v.empty(), "an id filter value is empty");
    FUZZ_CHECK(v.size() <= hs::max_id_filter_bytes, "an id filter value is longer than 128 bytes");
    FUZZ_CHECK(v.find('\0') == std::string::npos, "an id filter value holds a NUL byte");
    FUZZ_CHECK(v.find(',') == std::string::npos, "an id filter value holds a comma");
    FUZZ_CHECK(strict_utf8(v), "an id filter value is not valid UTF-8");
  }
}

bool same(const hs::list_query& a, const hs::list_query& b) {
  const auto &x = a.request, &y = b.request;
  return x.limit == y.limit && x.offset == y.offset && x.mode == y.mode && x.filter.event_id == y.filter.event_id &&
         x.filter.connection_id == y.filter.connection_id && x.filter.destination_id == y.filter.destination_id &&
         x.filter.status == y.filter.status && x.filter.in_dlq == y.filter.in_dlq &&
         x.filter.created_after == y.filter.created_after && x.filter.created_before == y.filter.created_before &&
         a.cursor == b.cursor;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view query(reinterpret_cast<const char*>(data), size);
  auto parsed = hs::parse_list_query(query);

  if (auto* bad = std::get_if<hs::invalid_parameter>(&parsed)) {
    // The message goes into a JSON error body: it names the rule, never echoes
    // the client's bytes at length.
    FUZZ_CHECK(!bad->message.empty(), "a refusal without a message");
    FUZZ_CHECK(bad->message.size() <= 200, "a refusal message longer than 200 bytes");
    FUZZ_CHECK(strict_utf8(bad->message), "a refusal message that is not UTF-8");
    return 0;
  }

  const auto& q = std::get<hs::list_query>(parsed);
  const auto& r = q.request;
  FUZZ_CHECK(r.limit >= 1 && r.limit <= hs::max_page_limit, "limit outside 1..100");
  FUZZ_CHECK(r.offset >= 0, "negative offset");
  FUZZ_CHECK(r.mode == hookstream::storage::page_mode::offset, "the parser chose a keyset mode");
  FUZZ_CHECK(r.anchor.id.empty() && r.anchor.created_at == 0, "the parser set an anchor");
  check_id_filter(r.filter.event_id);
  check_id_filter(r.filter.connection_id);
  check_id_filter(r.filter.destination_id);
  for (const auto& s : r.filter.status)
    FUZZ_CHECK(s == "pending" || s == "success" || s == "failed" || s == "retrying", "unknown status accepted");
  FUZZ_CHECK(r.filter.valid(), "the parser let through a filter that breaks its preconditions");
  if (q.cursor) {
    FUZZ_CHECK(!q.cursor->empty(), "empty cursor accepted");
    FUZZ_CHECK(r.offset == 0, "cursor accepted together with an offset");
  }

  // Re-encoded canonically, the query means the same. "offset=0" is written
  // only when an offset was given, which (without a cursor) is harmless either way.
  const std::string again = canonical(q, r.offset != 0);
  auto reparsed = hs::parse_list_query(again);
  FUZZ_CHECK(std::holds_alternative<hs::list_query>(reparsed), "the canonical spelling of an accepted query is refused");
  FUZZ_CHECK(same(q, std::get<hs::list_query>(reparsed)), "the canonical spelling parses differently");
  return 0;
}
