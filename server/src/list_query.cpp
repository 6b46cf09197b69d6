#include <hookstream/server/list_query.hpp>

#include <boost/url/params_encoded_view.hpp>
#include <boost/url/parse_query.hpp>

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

}  // namespace

std::variant<storage::page_request, invalid_parameter> parse_list_query(std::string_view encoded_query) {
  storage::page_request req;
  req.limit = default_page_limit;
  auto parsed = boost::urls::parse_query(encoded_query);
  if (!parsed) return invalid_parameter{"the query string is not valid"};

  // Form-style query strings write spaces as '+'.
  boost::urls::encoding_opts plus_is_space;
  plus_is_space.space_as_plus = true;
  bool seen_limit = false, seen_offset = false, seen_dlq = false;
  for (auto param : *parsed) {
    // Keys are matched after percent-decoding ("%6Cimit" is "limit").
    const std::string key = param.key.decode(plus_is_space);
    std::string value = param.has_value ? param.value.decode(plus_is_space) : std::string();

    auto once = [&](bool& seen) -> bool {
      if (seen) return false;
      seen = true;
      return true;
    };
    auto id_filter = [&](std::optional<std::string>& slot) -> std::optional<invalid_parameter> {
      if (slot) return invalid_parameter{key + " was given more than once"};
      if (value.empty()) return invalid_parameter{key + " must not be empty"};
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
      // No page carries a cursor yet (next_cursor/prev_cursor are null), so no
      // value can be one of ours.
      return invalid_parameter{"cursor is not a valid cursor"};
    }
  }
  return req;
}

}  // namespace hookstream::server
