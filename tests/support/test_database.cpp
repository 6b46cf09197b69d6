#include <hookstream/encoding/hex.hpp>
#include "support/test_database.hpp"

#include <hookstream/auth/api_key.hpp>
#include <hookstream/storage/migrations.hpp>

#include <libpq-fe.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <random>
#include <stdexcept>

namespace hookstream::test {

const std::string& database_url() {
  static const std::string url = [] {
    std::string u;
    if (const char* v = std::getenv("HOOKSTREAM_TEST_DATABASE_URL"); v && *v) u = v;
    else if (const char* dir = std::getenv("HOOKSTREAM_TEST_STATE_DIR"); dir && *dir) {
      std::ifstream in(std::string(dir) + "/database_url");
      std::getline(in, u);
    }
    if (u.empty())
      throw std::runtime_error(
          "no test database: run through ctest (its fixture starts PostgreSQL) or set "
          "HOOKSTREAM_TEST_DATABASE_URL");
    auto migrated = storage::migrate_database(u, std::chrono::seconds(60));
    if (!migrated) throw std::runtime_error("migrations failed: " + migrated.error().message);
    return u;
  }();
  return url;
}

std::string random_hex(std::size_t n) {
  static std::mutex m;
  static std::mt19937_64 rng{std::random_device{}()};
  std::lock_guard lock(m);
  std::string raw((n + 1) / 2, '\0');
  for (auto& b : raw) b = static_cast<char>(rng());
  return encoding::to_hex(raw).substr(0, n);
}

sql_session::sql_session(const std::string& url) : conn_(PQconnectdb(url.c_str())) {
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(conn_);
    PQfinish(conn_);
    throw std::runtime_error("test connection failed: " + msg);
  }
}

sql_session::~sql_session() { PQfinish(conn_); }

namespace {
PGresult* run(PGconn* conn, const std::string& sql) {
  PGresult* r = PQexec(conn, sql.c_str());
  const auto st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    std::string msg = PQresultErrorMessage(r);
    PQclear(r);
    throw std::runtime_error("SQL failed: " + msg + "\n" + sql.substr(0, 500));
  }
  return r;
}
}  // namespace

void sql_session::exec(const std::string& sql) { PQclear(run(conn_, sql)); }

std::optional<std::string> sql_session::scalar(const std::string& sql) {
  PGresult* r = run(conn_, sql);
  std::optional<std::string> v;
  if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0)) v = PQgetvalue(r, 0, 0);
  PQclear(r);
  return v;
}

std::vector<std::string> sql_session::column(const std::string& sql) {
  PGresult* r = run(conn_, sql);
  std::vector<std::string> out;
  for (int i = 0; i < PQntuples(r); ++i) out.emplace_back(PQgetvalue(r, i, 0));
  PQclear(r);
  return out;
}

int sql_session::take_notifications() {
  if (PQconsumeInput(conn_) == 0) throw std::runtime_error(std::string("reading notifications: ") + PQerrorMessage(conn_));
  int n = 0;
  while (PGnotify* note = PQnotifies(conn_)) {
    ++n;
    PQfreemem(note);
  }
  return n;
}

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') q += '\'';
    q += c;
  }
  return q + "'";
}

test_tenant make_tenant(sql_session& db, const std::string& org_id) {
  test_tenant t;
  t.org_id = org_id.empty() ? "org_" + random_hex(16) : org_id;
  t.env_id = "env_" + random_hex(16);
  t.api_key = auth::generate_api_key(true);
  const std::string hash = encoding::to_hex(auth::sha256(t.api_key));
  std::string sql;
  if (org_id.empty()) {
    sql += "INSERT INTO \"organization\" (id, name, slug, \"createdAt\") VALUES (" + quote(t.org_id) +
           ", 'Test org', " + quote(t.org_id) + ", now());";
  }
  sql += "INSERT INTO environments (id, org_id, name, is_default) VALUES (" + quote(t.env_id) + ", " +
         quote(t.org_id) + ", 'test', " + (org_id.empty() ? "true" : "false") + ");";
  const char* letters[] = {"A", "B"};
  for (int i = 0; i < 2; ++i) {
    t.connection_ids[i] = "conn_" + random_hex(16);
    t.destination_ids[i] = "dst_" + random_hex(16);
    sql += "INSERT INTO connections (id, org_id, env_id, name) VALUES (" + quote(t.connection_ids[i]) + ", " +
           quote(t.org_id) + ", " + quote(t.env_id) + ", 'Connection " + letters[i] + "');";
    sql += "INSERT INTO destinations (id, org_id, env_id, name, url) VALUES (" + quote(t.destination_ids[i]) +
           ", " + quote(t.org_id) + ", " + quote(t.env_id) + ", 'Destination " + letters[i] +
           "', 'https://example.com/hook');";
  }
  sql += "INSERT INTO api_keys (id, org_id, env_id, name, key_hash, key_prefix) VALUES ('key_" + random_hex(16) +
         "', " + quote(t.org_id) + ", " + quote(t.env_id) + ", 'test', '\\x" + hash + "', " +
         quote(t.api_key.substr(0, 12)) + ");";
  db.exec(sql);
  return t;
}

std::vector<std::string> insert_attempts(sql_session& db, const test_tenant& t,
                                         const std::vector<attempt_spec>& rows) {
  std::vector<std::string> ids;
  if (rows.empty()) return ids;
  std::string sql =
      "INSERT INTO delivery_attempts (id, org_id, env_id, event_id, connection_id, destination_id, request_url, "
      "request_method, request_headers, request_body_size, response_status, response_headers, response_body, "
      "duration_ms, status, error, created_at, attempt_number, next_retry_at, is_dlq, dlq_at, trigger_type) VALUES ";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    ids.push_back(r.id.empty() ? "da_" + random_hex(32) : r.id);
    if (i) sql += ',';
    sql += "(" + quote(ids.back()) + "," + quote(t.org_id) + "," + quote(t.env_id) + "," + quote(r.event_id) + "," +
           quote(r.connection_id.empty() ? t.connection_ids[0] : r.connection_id) + "," +
           quote(r.destination_id.empty() ? t.destination_ids[0] : r.destination_id) +
           ",'https://example.com/hook','POST','{\"content-type\":\"application/json\"}',128,200,"
           "'{\"server\":\"test\"}',convert_to('{\"ok\":true}','UTF8'),42," +
           quote(r.status) + ",NULL," + quote(r.created_at) + ",1,NULL," +
           (r.is_dlq ? std::to_string(*r.is_dlq) : "NULL") + ",NULL,'event')";
  }
  db.exec(sql);
  return ids;
}

std::string generated_attempts(const test_tenant& t, int route, const std::string& id, const std::string& status,
                               const std::string& created_at, int from, int to) {
  return "INSERT INTO delivery_attempts (id, org_id, env_id, event_id, connection_id, destination_id, request_url, "
         "request_method, status, created_at) SELECT " + id + ", " + quote(t.org_id) + ", " + quote(t.env_id) +
         ", 'evt', " + quote(t.connection_ids[route]) + ", " + quote(t.destination_ids[route]) +
         ", 'https://generated', 'POST', " + quote(status) + ", " + created_at + " FROM generate_series(" +
         std::to_string(from) + ", " + std::to_string(to) + ") g";
}

scratch_database::scratch_database(const std::string& prefix) : name_(prefix + "_" + random_hex(8)) {
  sql_session admin;
  admin.exec("CREATE DATABASE " + name_);
  url_ = database_url().substr(0, database_url().rfind('/') + 1) + name_;
}

scratch_database::~scratch_database() {
  try {
    sql_session admin;
    admin.exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "could not drop the scratch database %s: %s\n", name_.c_str(), e.what());
  }
}

}  // namespace hookstream::test
