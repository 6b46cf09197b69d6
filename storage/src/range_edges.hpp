// The counter ranges that make a time range's exact total (the listing's
// tenant_range_total): computed here, once per request, and sent as the
// statement's parameters, so the database only runs eight index scans.
#pragma once

#include <hookstream/storage/query_result.hpp>

#include <optional>
#include <string>
#include <vector>

namespace hookstream::storage::detail {

/// How a range (after, before), both exclusive, is counted. Timestamps are UTC
/// microseconds; a missing bound is -infinity / infinity, and every bound
/// derived from it stays infinite (the edge pieces on that side are empty).
///
///  - the partial minute after `after`: rows in (after, min(before, x));
///  - the partial minute before `before`: rows in [max(y, x), before);
///  - [x, y), the range's whole minutes, from the counters: minutes s1 [lo1,
///    hi1) and s2 [lo2, hi2), hours s3 [lo3, hi3) and s4 [lo4, hi4), days [dlo,
///    dhi), each counter multiplied by its sign, plus the log rows of [x, y)
///    not yet folded.
///
/// An edge piece longer than half its bucket (more than 30 minutes of an hour,
/// 12 hours of a day) is read as the whole bucket minus the rest of it (sign
/// -1): at most 30 minutely or 12 hourly counters per edge instead of 59 or 23.
/// Exact, since compaction folds every layer in one transaction (a bucket's
/// counter is the sum of its finer ones; --check-counters verifies it). Each
/// layer is read in at most one signed range per edge: a whole bucket taken
/// instead of an edge piece joins the next coarser layer's range next to it.
struct range_edges {
  unix_micros x, y;  ///< the whole minutes [x, y)
  int s1, s2, s3, s4;
  unix_micros lo1, hi1, lo2, hi2;  ///< minutes
  unix_micros lo3, hi3, lo4, hi4;  ///< hours
  unix_micros dlo, dhi;            ///< days, as their midnights
};

range_edges edges_of(std::optional<unix_micros> after, std::optional<unix_micros> before) noexcept;

/// How many parameters range_edge_params yields.
inline constexpr int range_edge_param_count = 18;

/// The parameters of a range total, in this order: min(before, x) and
/// max(y, x) as timestamptz (the partial minutes' inner bounds), x and y as
/// timestamp, then s1, lo1, hi1, s2, lo2, hi2, s3, lo3, hi3, s4, lo4, hi4 (int8
/// and timestamp), and dlo and dhi as date. Timestamps without time zone are UTC.
std::vector<std::string> range_edge_params(std::optional<unix_micros> after, std::optional<unix_micros> before);

}  // namespace hookstream::storage::detail
