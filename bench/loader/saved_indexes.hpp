// The indexes of a table as the catalog defines them, so a bulk load can drop
// them, COPY into the bare table, and re-create them exactly (constraints,
// partitioned parents included).
#pragma once

#include "pg_session.hpp"

#include <string>
#include <vector>

namespace hookstream::bench_load {

/// An index of a table as the catalog defines it, so it can be dropped before a
/// bulk load and re-created exactly.
struct SavedIndex {
  std::string table, qualified_name, name, indexdef;
  std::string contype, conname;  // set when the index backs a constraint
  std::string condef;
};

std::vector<SavedIndex> save_indexes(Db& db, const std::string& table);
void drop_index(Db& db, const SavedIndex& ix);
/// Re-creates `ix` as save_indexes read it.
void create_index(Db& db, const SavedIndex& ix);

}  // namespace hookstream::bench_load
