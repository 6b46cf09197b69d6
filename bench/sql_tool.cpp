// hookstream-bench-sql: prints the very SQL the server sends for a listing, in
// pgbench's dialect (:pN variables instead of $N), so the bench suite measures
// the database's ceiling with the server's own statements, not retyped ones.
//
//   hookstream-bench-sql [--filter event|connection|destination|status[:N]|dlq]...
//                        [--range] [--mode offset|deep_offset|after|before]
//                        [--no-total] [--count] [--bare]
//
// `status:3` (likewise event, connection, destination) is a filter with 3
// values: one text[] parameter ('{a,b,c}'). --range adds created_after and
// created_before.
//
// Parameters, in order: p1 org, p2 env, then one per filter in the order
// event, connection, destination, status, dlq; with --range the two bounds;
// then p(n) limit+1 and either p(n+1) offset, or p(n+1) anchor timestamptz and
// p(n+2) anchor id; then (not with --bare) the field cap.
//
// --bare prints the cheapest statement that could serve the page (its rows and
// nothing else): the bench's strictest ceiling.
#include <hookstream/storage/attempt_repository.hpp>

#include <cstdio>
#include <cstdlib>
#include <regex>
#include <string>

int main(int argc, char** argv) {
  using namespace hookstream::storage;
  attempt_filter filter;
  page_mode mode = page_mode::offset;
  bool with_total = true, count_only = false, bare = false;
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
    } else {
      std::fprintf(stderr,
                   "usage: %s [--filter F[:N]]... [--range] [--mode offset|deep_offset|after|before] [--no-total] "
                   "[--count] [--bare]\n",
                   argv[0]);
      return a == "--help" ? 0 : 2;
    }
  }
  // Without its total (--no-total): the same statement, to price the total alone.
  const std::string sql = count_only ? count_attempts_sql(filter)
                          : bare     ? bare_page_sql(filter, mode)
                                     : list_attempts_sql(filter, mode, with_total);
  std::printf("%s;\n", std::regex_replace(sql, std::regex(R"(\$([0-9]+))"), ":p$1").c_str());
  return 0;
}
