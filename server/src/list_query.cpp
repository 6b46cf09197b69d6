#include <hookstream/encoding/percent.hpp>
#include <hookstream/encoding/utf8.hpp>
#include <hookstream/server/attempt_json.hpp>
#include <hookstream/server/list_query.hpp>

#include <array>
#include <charconv>
#include <cstdint>

namespace hookstream::server {
namespace {

constexpr std::array<std::string_view, 4> known_statuses{"pending", "success", "failed", "retrying"};

// Strict decimal: digits only, no sign, no spaces, no leading '+', no overflow.
bool parse_decimal(std::string_view s, std::int64_t& out) {
  if (s.empty() || s.size() > 18) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

// Filter values travel to PostgreSQL as text: they must be valid UTF-8 without
// NUL (libpq would cut the value at a NUL; the server refuses invalid UTF-8).
bool is_clean_utf8(std::string_view s) {
  return s.find('\0') == std::string_view::npos && encoding::is_valid_utf8(s);
}

}  // namespace

std::variant<list_query, invalid_parameter> parse_list_query(std::string_view encoded_query) {
  list_query parsed;
  storage::page_request& req = parsed.request;
  req.limit = default_page_limit;
  bool seen_limit = false, seen_offset = false, seen_dlq = false;
  std::string key, value;
  while (!encoded_query.empty()) {
    const auto amp = encoded_query.find('&');
    const std::string_view pair = encoded_query.substr(0, amp);
    encoded_query = amp == std::string_view::npos ? std::string_view{} : encoded_query.substr(amp + 1);
    if (pair.empty()) continue;  // "a=1&&b=2"
    const auto eq = pair.find('=');
    // Keys are matched after decoding ("%6Cimit" is "limit").
    auto decoded_key = encoding::percent_decode(pair.substr(0, eq), /*plus_as_space=*/true);
    auto decoded_value = encoding::percent_decode(
        eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), /*plus_as_space=*/true);
    if (!decoded_key || !decoded_value) return invalid_parameter{"the query string has a malformed percent-escape"};
    key = std::move(*decoded_key);
    value = std::move(*decoded_value);

    auto once = [&](bool& seen) -> bool {
      if (seen) return false;
      seen = true;
      return true;
    };
    auto id_filter = [&](std::optional<std::string>& slot) -> std::optional<invalid_parameter> {
      if (slot) return invalid_parameter{key + " was given more than once"};
      if (value.empty()) return invalid_parameter{key + " must not be empty"};
      if (!is_clean_utf8(value)) return invalid_parameter{key + " must be valid UTF-8 without NUL characters"};
      if (value.size() > max_id_filter_bytes)
        return invalid_parameter{key + " must be at most " + std::to_string(max_id_filter_bytes) + " bytes"};
      slot = std::move(value);
      return std::nullopt;
    };

    if (key == "limit") {
      std::int64_t n = 0;
      if (!once(seen_limit)) return invalid_parameter{"limit was given more than once"};
      if (!parse_decimal(value, n) || n < 1 || n > max_page_limit)
        return invalid_parameter{"limit must be an integer between 1 and " + std::to_string(max_page_limit)};
      req.limit = static_cast<int>(n);
    } else if (key == "offset") {
      std::int64_t n = 0;
      if (!once(seen_offset)) return invalid_parameter{"offset was given more than once"};
      if (!parse_decimal(value, n)) return invalid_parameter{"offset must be an integer of 0 or more"};
      req.offset = n;
    } else if (key == "event_id") {
      if (auto e = id_filter(req.filter.event_id)) return *e;
    } else if (key == "connection_id") {
      if (auto e = id_filter(req.filter.connection_id)) return *e;
    } else if (key == "destination_id") {
      if (auto e = id_filter(req.filter.destination_id)) return *e;
    } else if (key == "status") {
      if (req.filter.status) return invalid_parameter{"status was given more than once"};
      bool known = false;
      for (auto s : known_statuses) known = known || value == s;
      if (!known) return invalid_parameter{"status must be one of: pending, success, failed, retrying"};
      req.filter.status = std::move(value);
    } else if (key == "is_dlq") {
      if (!once(seen_dlq)) return invalid_parameter{"is_dlq was given more than once"};
      if (value != "0" && value != "1")
        return invalid_parameter{"is_dlq must be 1 (DLQ only) or 0 (not in the DLQ)"};
      req.filter.in_dlq = value == "1";
    } else if (key == "cursor") {
      if (parsed.cursor) return invalid_parameter{"cursor was given more than once"};
      if (value.empty()) return invalid_parameter{"cursor must not be empty"};
      parsed.cursor = std::move(value);
    }
  }
  if (parsed.cursor && seen_offset)
    return invalid_parameter{"offset cannot be combined with cursor: a cursor already says where the page starts"};
  return parsed;
}

}  // namespace hookstream::server
