// hookstream-bench-sql: prints the very SQL the server sends for a listing, in
// pgbench's dialect (:pN variables instead of $N), so the bench suite measures
// the database's ceiling with the server's own statements, not retyped ones.
//
//   hookstream-bench-sql [--filter event|connection|destination|status[:N]|dlq]...
//                        [--range] [--mode offset|deep_offset|after|before]
//                        [--no-total] [--count] [--bare | --identities]
//   hookstream-bench-sql [--filter ...]... --range-params AFTER BEFORE
//
// `status:3` (likewise event, connection, destination) is a filter with 3
// values: one text[] parameter ('{a,b,c}'). --range adds created_after and
// created_before. --no-total puts 0 in place of the total: with an event
// filter, the statement the server tries first for an offset page (the page's
// rows tell the total when it is not full).
//
// Parameters, in order: p1 org, p2 env, then one per filter in the order
// event, connection, destination, status, dlq; with --range the two bounds
// and, unless an event or route filter is set, the range total's edges (the
// counter ranges the server computes from the bounds); then p(n) limit+1 and
// either p(n+1) offset, or p(n+1) anchor timestamptz and p(n+2) anchor id;
// then (not with --bare) the field cap.
//
// --range-params AFTER BEFORE (RFC 3339, UTC: 2026-11-20T09:17:31Z) prints
// the range's parameters as pgbench options instead, "-D pN=value ...": the
// two bounds and the edges the server would send for them.
//
// --bare prints the cheapest statement that could serve the page (its rows and
// nothing else): the bench's strictest ceiling.
//
// --identities prints the statement the server sends when the row cache holds
// the page's rows (ids, versions and the total: list_attempt_identities_sql);
// its parameters are the listing's without the field cap.
#include <hookstream/storage/attempt_repository.hpp>

#include <hookstream/storage/civil_time.hpp>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <regex>
#include <string>

namespace {
// "YYYY-MM-DDTHH:MM:SSZ", the bench's form of an instant.
std::optional<hookstream::storage::unix_micros> parse_utc(const std::string& text) {
  long long year = 0;
  unsigned month = 0, day = 0, hour = 0, minute = 0, second = 0;
  char zone = 0;
  if (std::sscanf(text.c_str(), "%4lld-%2u-%2uT%2u:%2u:%2u%c", &year, &month, &day, &hour, &minute, &second,
                  &zone) != 7 || zone != 'Z' || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 ||
      minute > 59 || second > 59)
    return std::nullopt;
  return hookstream::storage::from_civil({year, month, day, hour, minute, second, 0});
}
}  // namespace

int main(int argc, char** argv) {
  using namespace hookstream::storage;
  attempt_filter filter;
  bool range_params = false;
  page_mode mode = page_mode::offset;
  bool with_total = true, count_only = false, bare = false, identities = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const std::string v = i + 1 < argc ? argv[i + 1] : "";
    if (a == "--filter") {
      ++i;
      // Only the number of values shapes the SQL: placeholders stand for them.
      const auto colon = v.find(':');
      const std::string name = v.substr(0, colon);
      const int n = colon == std::string::npos ? 1 : std::atoi(v.c_str() + colon + 1);
      if (n < 1 || n > static_cast<int>(max_filter_values))
        return std::fprintf(stderr, "%s: 1..%zu values\n", v.c_str(), max_filter_values), 2;
      std::vector<std::string> values;
      for (int k = 0; k < n; ++k) values.push_back(std::string(1, 'v').append(std::to_string(k)));  // not "v" + ...: GCC 12 -Wrestrict false positive
      if (name == "event") filter.event_id = values;
      else if (name == "connection") filter.connection_id = values;
      else if (name == "destination") filter.destination_id = values;
      else if (name == "status") filter.status = values;
      else if (name == "dlq" && n == 1) filter.in_dlq.emplace();
      else return std::fprintf(stderr, "unknown filter %s\n", v.c_str()), 2;
    } else if (a == "--range") {
      filter.created_after = 0;
      filter.created_before = 1;
    } else if (a == "--range-params" && i + 2 < argc) {
      filter.created_after = parse_utc(argv[i + 1]);
      filter.created_before = parse_utc(argv[i + 2]);
      if (!filter.created_after || !filter.created_before || *filter.created_after >= *filter.created_before)
        return std::fprintf(stderr, "--range-params AFTER BEFORE: two instants like 2026-11-20T09:17:31Z, in order\n"), 2;
      range_params = true;
      i += 2;
    } else if (a == "--mode") {
      ++i;
      if (v == "offset") mode = page_mode::offset;
      else if (v == "after") mode = page_mode::after;
      else if (v == "before") mode = page_mode::before;
      else if (v == "deep_offset") mode = page_mode::deep_offset;
      else return std::fprintf(stderr, "unknown mode %s\n", v.c_str()), 2;
    } else if (a == "--no-total") {
      with_total = false;
    } else if (a == "--count") {
      count_only = true;
    } else if (a == "--bare") {
      bare = true;
    } else if (a == "--identities") {
      identities = true;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--filter F[:N]]... [--range] [--mode offset|deep_offset|after|before] [--no-total] "
                   "[--count] [--bare | --identities]\n       %s [--filter F[:N]]... --range-params AFTER BEFORE\n",
                   argv[0], argv[0]);
      return a == "--help" ? 0 : 2;
    }
  }
  if (range_params) {
    // The range's parameters: those the same filter without a range lacks,
    // between the filters' own values (the bench passes its own) and the
    // paging parameters (limit, offset, cap).
    page_request request;
    request.filter = filter;
    const std::vector<std::string> all = list_attempts_params(tenant_id{"org", "env"}, request);
    request.filter.created_after.reset();
    request.filter.created_before.reset();
    const std::size_t first = list_attempts_params(tenant_id{"org", "env"}, request).size() - 3;
    for (std::size_t i = first; i + 3 < all.size(); ++i) {
      std::string value = all[i];
      if (const auto space = value.find(' '); space != std::string::npos) value[space] = 'T';  // one shell word
      std::printf("%s-D p%zu=%s", i == first ? "" : " ", i + 1, value.c_str());
    }
    std::printf("\n");
    return 0;
  }
  // Without its total (--no-total): the same statement, to price the total alone.
  const std::string sql = count_only ? count_attempts_sql(filter)
                          : bare       ? bare_page_sql(filter, mode)
                          : identities ? list_attempt_identities_sql(filter, mode, with_total)
                                       : list_attempts_sql(filter, mode, with_total);
  std::printf("%s;\n", std::regex_replace(sql, std::regex(R"(\$([0-9]+))"), ":p$1").c_str());
  return 0;
}
