#include <hookstream/encoding/percent.hpp>
#include <hookstream/encoding/utf8.hpp>
#include <hookstream/server/list_query.hpp>
#include <hookstream/storage/civil_time.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <stdexcept>

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

std::string n(std::size_t v) { return std::to_string(v); }

const std::string id_rule = "be 1 to " + n(max_filter_values) + " distinct values separated by commas, each 1 to " +
                            n(max_id_filter_bytes) + " bytes of UTF-8";
const std::string id_schema = R"({"type":"array","minItems":1,"maxItems":)" + n(max_filter_values) +
                              R"(,"items":{"type":"string","minLength":1,"maxLength":)" + n(max_id_filter_bytes) +
                              R"(,"pattern":"^[^,]+$"}})";
const std::string time_rule =
    "be an RFC 3339 timestamp with Z or an offset, e.g. 2026-11-28T08:39:52Z or 2026-11-28T09:39:52.5+01:00";

const listing_parameter& parameter(std::string_view name) {
  for (const auto& p : listing_parameters())
    if (p.name == name) return p;
  throw std::logic_error("unknown listing parameter");
}
invalid_parameter refuse(std::string_view name) {
  return invalid_parameter{std::string(name) + " must " + parameter(name).rule};
}

}  // namespace

const std::vector<listing_parameter>& listing_parameters() {
  static const std::vector<listing_parameter> all{
      {"limit", "be an integer between 1 and " + n(max_page_limit), "Attempts per page.",
       R"({"type":"integer","minimum":1,"maximum":)" + n(max_page_limit) + R"(,"default":)" + n(default_page_limit) + "}"},
      {"offset", "be an integer of 0 or more",
       "Attempts to skip (costs time proportional to it: use it to jump, cursors to walk). Not with cursor.",
       R"({"type":"integer","minimum":0,"maximum":999999999999999999,"default":0})"},
      {"event_id", id_rule, "Only attempts of these events (any of them).", id_schema, true},
      {"connection_id", id_rule, "Only attempts through these connections (any of them).", id_schema, true},
      {"destination_id", id_rule, "Only attempts to these destinations (any of them).", id_schema, true},
      {"status",
       "be one or more of: pending, success, failed, retrying (separated by commas, at most " +
           n(max_filter_values) + " values)",
       "Only attempts with these statuses (any of them).",
       R"({"type":"array","minItems":1,"maxItems":)" + n(max_filter_values) +
           R"(,"items":{"type":"string","enum":["pending","success","failed","retrying"]}})",
       true},
      {"is_dlq", "be 1 (DLQ only) or 0 (not in the DLQ)", "1: only attempts in the dead-letter queue; 0: only others.",
       R"({"type":"string","enum":["0","1"]})"},
      {"created_after", time_rule, "Only attempts created strictly after this instant.",
       R"({"type":"string","format":"date-time"})"},
      {"created_before", time_rule,
       "Only attempts created strictly before this instant (later than created_after when both are given).",
       R"({"type":"string","format":"date-time"})"},
      {"cursor", "be a next_cursor or prev_cursor returned by an earlier page, with the same filters",
       "Continue from an earlier page (its next_cursor or prev_cursor); the other filters must be the ones it was "
       "made with. Not with offset.",
       R"({"type":"string","minLength":1})"},
  };
  return all;
}

std::optional<storage::unix_micros> parse_rfc3339(std::string_view s, bool round_up) {
  // YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+HH:MM|-HH:MM)
  auto digits = [&](std::size_t at, std::size_t count, unsigned& out) {
    if (at + count > s.size()) return false;
    out = 0;
    for (std::size_t i = at; i < at + count; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      out = out * 10 + static_cast<unsigned>(s[i] - '0');
    }
    return true;
  };
  unsigned year, month, day, hour, minute, second;
  if (!digits(0, 4, year) || s.size() < 20 || s[4] != '-' || !digits(5, 2, month) || s[7] != '-' ||
      !digits(8, 2, day) || (s[10] != 'T' && s[10] != 't') || !digits(11, 2, hour) || s[13] != ':' ||
      !digits(14, 2, minute) || s[16] != ':' || !digits(17, 2, second))
    return std::nullopt;
  std::size_t at = 19;
  std::int64_t nanos = 0;
  if (s[at] == '.') {
    const std::size_t first = ++at;
    while (at < s.size() && s[at] >= '0' && s[at] <= '9') ++at;
    const std::size_t count = at - first;
    if (count < 1 || count > 9) return std::nullopt;
    for (std::size_t i = 0; i < 9; ++i) nanos = nanos * 10 + (i < count ? s[first + i] - '0' : 0);
  }
  std::int64_t offset_minutes = 0;
  if (at < s.size() && (s[at] == 'Z' || s[at] == 'z')) {
    ++at;
  } else if (at < s.size() && (s[at] == '+' || s[at] == '-' || s[at] == ' ')) {
    unsigned oh, om;
    if (!digits(at + 1, 2, oh) || at + 3 >= s.size() || s[at + 3] != ':' || !digits(at + 4, 2, om) || oh > 23 ||
        om > 59)
      return std::nullopt;
    offset_minutes = (s[at] == '-' ? -1 : 1) * static_cast<std::int64_t>(oh * 60 + om);
    at += 6;
  } else {
    return std::nullopt;
  }
  if (at != s.size()) return std::nullopt;
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  constexpr unsigned month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 || day > month_days[month - 1] + (month == 2 && leap ? 1 : 0) ||
      hour > 23 || minute > 59 || second > 59)
    return std::nullopt;
  storage::unix_micros t = storage::from_civil({year, month, day, hour, minute, second, 0});
  t += nanos / 1000 + (round_up && nanos % 1000 != 0 ? 1 : 0);
  return t - offset_minutes * 60'000'000;
}

std::variant<list_query, invalid_parameter> parse_list_query(std::string_view encoded_query) {
  list_query parsed;
  storage::page_request& req = parsed.request;
  storage::attempt_filter& filter = req.filter;
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
    // A comma-separated list, split after decoding (so "%2C" separates too, as
    // clients that encode every comma expect), deduplicated and sorted.
    auto list = [&](std::vector<std::string>& slot, auto&& value_ok) -> std::optional<invalid_parameter> {
      if (!slot.empty()) return invalid_parameter{key + " was given more than once"};
      if (value.empty()) return key == "status" ? refuse(key) : invalid_parameter{key + " must not be empty"};
      std::vector<std::string> values;
      for (std::size_t start = 0;;) {
        const auto comma = value.find(',', start);
        std::string item = value.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (item.empty())
          return invalid_parameter{key + " must not hold an empty value (values are separated by commas)"};
        if (auto bad = value_ok(item)) return bad;
        values.push_back(std::move(item));
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      std::sort(values.begin(), values.end());
      values.erase(std::unique(values.begin(), values.end()), values.end());
      if (values.size() > max_filter_values)
        return invalid_parameter{key + " takes at most " + n(max_filter_values) + " distinct values"};
      slot = std::move(values);
      return std::nullopt;
    };
    auto id_value = [&](const std::string& item) -> std::optional<invalid_parameter> {
      if (!is_clean_utf8(item)) return invalid_parameter{key + " must be valid UTF-8 without NUL characters"};
      if (item.size() > max_id_filter_bytes)
        return invalid_parameter{key + " values must be at most " + n(max_id_filter_bytes) + " bytes each"};
      return std::nullopt;
    };
    auto status_value = [&](const std::string& item) -> std::optional<invalid_parameter> {
      if (std::find(known_statuses.begin(), known_statuses.end(), item) == known_statuses.end())
        return refuse("status");
      return std::nullopt;
    };
    auto instant = [&](std::optional<storage::unix_micros>& slot, bool round_up) -> std::optional<invalid_parameter> {
      if (slot) return invalid_parameter{key + " was given more than once"};
      slot = parse_rfc3339(value, round_up);
      if (!slot) return refuse(key);
      return std::nullopt;
    };

    std::optional<invalid_parameter> bad;
    if (key == "limit") {
      std::int64_t v = 0;
      if (!once(seen_limit)) return invalid_parameter{"limit was given more than once"};
      if (!parse_decimal(value, v) || v < 1 || v > max_page_limit) return refuse("limit");
      req.limit = static_cast<int>(v);
    } else if (key == "offset") {
      std::int64_t v = 0;
      if (!once(seen_offset)) return invalid_parameter{"offset was given more than once"};
      if (!parse_decimal(value, v)) return refuse("offset");
      req.offset = v;
    } else if (key == "event_id") {
      bad = list(filter.event_id, id_value);
    } else if (key == "connection_id") {
      bad = list(filter.connection_id, id_value);
    } else if (key == "destination_id") {
      bad = list(filter.destination_id, id_value);
    } else if (key == "status") {
      bad = list(filter.status, status_value);
    } else if (key == "is_dlq") {
      if (!once(seen_dlq)) return invalid_parameter{"is_dlq was given more than once"};
      if (value != "0" && value != "1") return refuse("is_dlq");
      filter.in_dlq = value == "1";
    } else if (key == "created_after") {
      // Exclusive bounds at microsecond precision: a finer "after" rounds down
      // and a finer "before" up, which selects exactly the same rows.
      bad = instant(filter.created_after, false);
    } else if (key == "created_before") {
      bad = instant(filter.created_before, true);
    } else if (key == "cursor") {
      if (parsed.cursor) return invalid_parameter{"cursor was given more than once"};
      if (value.empty()) return invalid_parameter{"cursor must not be empty"};
      parsed.cursor = std::move(value);
    }
    if (bad) return *bad;
  }
  if (filter.created_after && filter.created_before && *filter.created_after >= *filter.created_before)
    return invalid_parameter{"created_after must be earlier than created_before (both bounds are exclusive)"};
  if (parsed.cursor && seen_offset)
    return invalid_parameter{"offset cannot be combined with cursor: a cursor already says where the page starts"};
  return parsed;
}

}  // namespace hookstream::server
