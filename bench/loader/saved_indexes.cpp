#include "saved_indexes.hpp"

namespace hookstream::bench_load {

std::vector<SavedIndex> save_indexes(Db& db, const std::string& table) {
  std::vector<SavedIndex> out;
  const auto rows = db.query(
      "SELECT quote_ident(n.nspname) || '.' || quote_ident(ic.relname), quote_ident(ic.relname), "
      "pg_get_indexdef(i.indexrelid), coalesce(c.contype::text, ''), coalesce(quote_ident(c.conname), ''), "
      "coalesce(pg_get_constraintdef(c.oid), '') "
      "FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_namespace n ON n.oid = ic.relnamespace "
      "LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid "
      "  AND c.contype IN ('p', 'u', 'x') "
      "WHERE i.indrelid = '" + table + "'::regclass ORDER BY ic.relname");
  for (const auto& r : rows) out.push_back({table, r[0], r[1], r[2], r[3], r[4], r[5]});
  return out;
}

void drop_index(Db& db, const SavedIndex& ix) {
  if (!ix.contype.empty()) db.exec("ALTER TABLE " + ix.table + " DROP CONSTRAINT " + ix.conname);
  else db.exec("DROP INDEX " + ix.qualified_name);
}

void create_index(Db& db, const SavedIndex& ix) {
  // A partitioned table's index definition reads "ON ONLY t" (the parent alone);
  // re-created, it must build on every partition. Its primary key cannot be
  // added "USING INDEX" either: add it by its definition.
  const bool partitioned = ix.indexdef.find(" ON ONLY ") != std::string::npos;
  if (partitioned && (ix.contype == "p" || ix.contype == "u")) {
    db.exec("ALTER TABLE " + ix.table + " ADD CONSTRAINT " + ix.conname + " " + ix.condef);
    return;
  }
  if (partitioned) {
    std::string def = ix.indexdef;
    def.replace(def.find(" ON ONLY "), 9, " ON ");
    db.exec(def);
    return;
  }
  if (ix.contype == "p" || ix.contype == "u") {
    db.exec(ix.indexdef);
    db.exec("ALTER TABLE " + ix.table + " ADD CONSTRAINT " + ix.conname +
            (ix.contype == "p" ? " PRIMARY KEY" : " UNIQUE") + " USING INDEX " + ix.name);
  } else if (ix.contype == "x") {
    db.exec("ALTER TABLE " + ix.table + " ADD CONSTRAINT " + ix.conname + " " + ix.condef);
  } else {
    db.exec(ix.indexdef);
  }
}

}  // namespace hookstream::bench_load
