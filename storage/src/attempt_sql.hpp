// SQL pieces the listing (attempt_repository.cpp) and the event log
// (attempt_event_log.cpp) share, so that an event is read, cut and filtered
// exactly like a listing row: same columns in the same order (attempt_rows
// decodes both), same cuts of the large fields, same filter conditions.
#pragma once

#include <hookstream/storage/attempt_repository.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace hookstream::storage::detail {

/// Columns of the attempt layout (attempt_rows), over a row source aliased `a`
/// that has delivery_attempts' columns. `cap` is the SQL of the large-field cap;
/// with a `guard` (a boolean column), rows where it is false get null large fields.
std::string attempt_columns(const std::string& cap, const std::string& guard = {});
/// How many columns attempt_columns yields.
inline constexpr int column_count = 22;

/// "$n".
std::string arg(int n);

/// A date or timestamp parameter in PostgreSQL's text form, UTC: "YYYY-MM-DD",
/// with `time` " HH:MM:SS[.ffffff]" (the fraction only when not zero), with
/// `zone` "+00" (a timestamptz). The extreme int64 values are -infinity and
/// infinity.
std::string datetime_text(unix_micros t, bool time, bool zone);

/// The tenant and filter conditions over alias `x` (a table with
/// delivery_attempts' columns), exactly the listing's: $1 org, $2 env, then the
/// filters' parameters; `next` is the first parameter number after them.
struct filter_sql {
  std::string where;
  int next = 3;
};
filter_sql filter_conditions(const attempt_filter& f, const std::string& x);
/// Which SQL filter_conditions renders for `f`: equal codes, equal SQL.
std::uint32_t filter_shape(const attempt_filter& f) noexcept;
/// The values of $1.. up to the filters, in parameter order, as text.
std::vector<std::string> filter_params(const tenant_id& tenant, const attempt_filter& f);

}  // namespace hookstream::storage::detail
