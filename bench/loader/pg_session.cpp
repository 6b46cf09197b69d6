#include "pg_session.hpp"

#include <cstdlib>

namespace hookstream::bench_load {

std::string pg_message(PGconn* c) {
  std::string m = c ? PQerrorMessage(c) : "no connection";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

Db::Db(const std::string& url) : c_(PQconnectdb(url.c_str())) {
  if (PQstatus(c_) != CONNECTION_OK) {
    std::string m = pg_message(c_);
    PQfinish(c_);
    throw PgError("cannot connect: " + m);
  }
}

Db::~Db() { PQfinish(c_); }

void Db::exec(const std::string& sql) {
  PGresult* r = PQexec(c_, sql.c_str());
  const auto st = PQresultStatus(r);
  std::string err = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? "" : PQresultErrorMessage(r);
  PQclear(r);
  if (!err.empty()) throw PgError(sql + ": " + err);
}

std::vector<std::vector<std::string>> Db::query(const std::string& sql) {
  PGresult* r = PQexec(c_, sql.c_str());
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    std::string err = PQresultErrorMessage(r);
    PQclear(r);
    throw PgError(sql + ": " + err);
  }
  std::vector<std::vector<std::string>> rows;
  for (int i = 0; i < PQntuples(r); ++i) {
    std::vector<std::string> row;
    for (int j = 0; j < PQnfields(r); ++j) row.emplace_back(PQgetvalue(r, i, j));
    rows.push_back(std::move(row));
  }
  PQclear(r);
  return rows;
}

CopyStream::CopyStream(PGconn* conn, const std::string& copy_sql) : conn_(conn) {
  buf.reserve(flush_bytes + (64u << 10));
  if (!conn_) return;
  PGresult* r = PQexec(conn_, copy_sql.c_str());
  const bool ok = PQresultStatus(r) == PGRES_COPY_IN;
  std::string err = ok ? "" : PQresultErrorMessage(r);
  PQclear(r);
  if (!ok) throw PgError(copy_sql + ": " + err);
}

void CopyStream::flush() {
  bytes += buf.size();
  if (conn_ && !buf.empty() && PQputCopyData(conn_, buf.data(), static_cast<int>(buf.size())) != 1)
    throw PgError("COPY data: " + pg_message(conn_));
  buf.clear();
}

std::uint64_t CopyStream::finish() {
  flush();
  if (!conn_) return rows;
  if (PQputCopyEnd(conn_, nullptr) != 1) throw PgError("COPY end: " + pg_message(conn_));
  std::uint64_t n = 0;
  std::string err;
  while (PGresult* r = PQgetResult(conn_)) {
    if (PQresultStatus(r) != PGRES_COMMAND_OK) err = PQresultErrorMessage(r);
    else n = std::strtoull(PQcmdTuples(r), nullptr, 10);
    PQclear(r);
  }
  if (!err.empty()) throw PgError("COPY: " + err);
  return n;
}

}  // namespace hookstream::bench_load
