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

// Percent-decoding with '+' as space (form encoding). False on a malformed
// escape. Hand-written: Boost.URL 1.81 (Debian 12) reads one byte past the end
// of a query that is not NUL-terminated, which a request target never is.
bool form_decode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += c;
    }
  }
  return true;
}

// Filter values travel to PostgreSQL as text: they must be valid UTF-8 without
// NUL (libpq would cut the value at a NUL; the server refuses invalid UTF-8).
bool is_clean_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == 0) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c == 0xE0) len = 3, lo = 0xA0;
    else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) len = 3;
    else if (c == 0xED) len = 3, hi = 0x9F;
    else if (c == 0xF0) len = 4, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3) len = 4;
    else if (c == 0xF4) len = 4, hi = 0x8F;
    else return false;
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return false;
    }
    i += len;
  }
  return true;
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
    if (!form_decode(pair.substr(0, eq), key) ||
        !form_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), value))
      return invalid_parameter{"the query string has a malformed percent-escape"};

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
