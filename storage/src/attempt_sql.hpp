// SQL pieces the listing (attempt_repository.cpp) and the event log
// (attempt_event_log.cpp) share, so that an event is read, cut and filtered
// exactly like a listing row: same columns in the same order (attempt_rows
// decodes both), same cuts of the large fields, same filter conditions.
#pragma once

#include <hookstream/storage/attempt_repository.hpp>

#include <string>
#include <vector>

namespace hookstream::storage::detail {

/// Columns of the attempt layout (attempt_rows), over a row source aliased `a`
/// that has delivery_attempts' columns. `cap` is the SQL of the large-field cap;
/// with a `guard` (a boolean column), rows where it is false get null large fields.
std::string attempt_columns(const std::string& cap, const std::string& guard = {});
/// How many columns attempt_columns yields.
inline constexpr int column_count = 22;

/// Parameter numbers of a filter shape: $1 org, $2 env, then the present filters
/// in declaration order (0 = absent), then the paging parameters from `next`.
struct param_slots {
  int event = 0, connection = 0, destination = 0, status = 0, dlq = 0;
  int next = 3;  // first paging parameter
};
param_slots slots_of(const attempt_filter& f);
/// "$n".
std::string arg(int n);
/// The tenant and filter conditions over alias `x` (a table with delivery_attempts' columns).
std::string where_clause(const param_slots& p, const std::string& x);
/// The values of $1.. up to the filters, in slot order, as text.
std::vector<std::string> filter_params(const tenant_id& tenant, const attempt_filter& f);

}  // namespace hookstream::storage::detail
