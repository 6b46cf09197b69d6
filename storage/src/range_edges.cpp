#include "range_edges.hpp"

#include "attempt_sql.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <tuple>

namespace hookstream::storage::detail {
namespace {

constexpr unix_micros minus_infinity = std::numeric_limits<unix_micros>::min();
constexpr unix_micros plus_infinity = std::numeric_limits<unix_micros>::max();
constexpr unix_micros minute = 60'000'000, hour = 60 * minute, day = 24 * hour;

constexpr bool finite(unix_micros t) noexcept { return t != minus_infinity && t != plus_infinity; }
// As PostgreSQL's timestamp arithmetic: infinity plus anything is infinity.
constexpr unix_micros plus(unix_micros t, unix_micros d) noexcept { return finite(t) ? t + d : t; }
// date_trunc on a UTC timestamp: the start of t's bucket.
constexpr unix_micros floor_to(unix_micros t, unix_micros unit) noexcept {
  if (!finite(t)) return t;
  unix_micros r = t % unit;
  if (r < 0) r += unit;  // floor, not truncate, before 1970
  return t - r;
}

std::string timestamptz_text(unix_micros t) { return datetime_text(t, true, true); }
std::string timestamp_text(unix_micros t) { return datetime_text(t, true, false); }
std::string date_text(unix_micros t) { return datetime_text(t, false, false); }

}  // namespace

range_edges edges_of(std::optional<unix_micros> after, std::optional<unix_micros> before) noexcept {
  const unix_micros a = after.value_or(minus_infinity), b = before.value_or(plus_infinity);
  range_edges e{};
  e.x = plus(floor_to(a, minute), minute);
  e.y = floor_to(b, minute);
  // ha, hb: the range's whole hours [ha, hb); da, db: its whole days.
  const unix_micros ha = plus(floor_to(plus(e.x, -1), hour), hour), hb = floor_to(e.y, hour);
  const unix_micros da = plus(floor_to(plus(ha, -1), day), day), db = floor_to(hb, day);
  // m1/m2: the leading/trailing minutes are read as their hour minus the rest;
  // h1/h2: the leading/trailing hours as their day minus the rest.
  const bool m1 = e.y >= ha && e.x < plus(ha, -30 * minute);
  const bool m2 = hb >= ha && e.y > plus(hb, 30 * minute);
  const bool h1 = hb >= da && ha < plus(da, -12 * hour);
  const bool h2 = db >= da && hb > plus(db, 12 * hour);
  e.s1 = m1 ? -1 : 1;
  e.lo1 = m1 ? plus(ha, -hour) : e.x;
  e.hi1 = m1 ? e.x : std::min(ha, e.y);
  e.s2 = m2 ? -1 : 1;
  e.lo2 = m2 ? e.y : std::max(hb, ha);
  e.hi2 = m2 ? plus(hb, hour) : e.y;
  // The leading hours start where the leading minutes' whole hour (m1) does.
  const unix_micros first_hour = m1 ? plus(ha, -hour) : ha;
  e.s3 = h1 ? -1 : 1;
  e.lo3 = h1 ? plus(da, -day) : first_hour;
  e.hi3 = h1 ? first_hour : std::min(da, hb);
  // Without h2, the trailing hour taken whole (m2) joins the hours before it,
  // unless there are none (the range's whole hours end in its first day):
  // then it is read alone.
  e.s4 = h2 ? -1 : 1;
  e.lo4 = h2 ? (m2 ? plus(hb, hour) : hb) : (m2 && std::max(db, da) > hb ? hb : std::max(db, da));
  e.hi4 = h2 ? plus(db, day) : (m2 ? plus(hb, hour) : hb);
  e.dlo = h1 ? plus(da, -day) : da;
  e.dhi = h2 ? plus(db, day) : db;
  return e;
}

std::vector<std::string> range_edge_params(std::optional<unix_micros> after, std::optional<unix_micros> before) {
  const range_edges e = edges_of(after, before);
  const unix_micros b = before.value_or(plus_infinity);
  std::vector<std::string> p;
  p.reserve(range_edge_param_count);
  p.push_back(timestamptz_text(std::min(b, e.x)));
  p.push_back(timestamptz_text(std::max(e.y, e.x)));
  p.push_back(timestamp_text(e.x));
  p.push_back(timestamp_text(e.y));
  for (const auto& [s, lo, hi] : {std::tuple{e.s1, e.lo1, e.hi1}, std::tuple{e.s2, e.lo2, e.hi2},
                                  std::tuple{e.s3, e.lo3, e.hi3}, std::tuple{e.s4, e.lo4, e.hi4}}) {
    p.push_back(std::to_string(s));
    p.push_back(timestamp_text(lo));
    p.push_back(timestamp_text(hi));
  }
  p.push_back(date_text(e.dlo));
  p.push_back(date_text(e.dhi));
  return p;
}

}  // namespace hookstream::storage::detail
