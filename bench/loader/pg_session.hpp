// The loader's libpq session: one blocking connection, statements, and COPY
// streams. Blocking is right here: the load is one transaction on one
// connection, and nothing else runs in the process.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace hookstream::bench_load {

struct PgError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The connection's last error, without its trailing newline.
std::string pg_message(PGconn* c);

class Db {
 public:
  /// Connects; throws PgError when it cannot.
  explicit Db(const std::string& url);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  PGconn* get() const { return c_; }
  /// Runs `sql` (one or more statements); throws PgError on failure.
  void exec(const std::string& sql);
  /// Runs a query; its rows as text.
  std::vector<std::vector<std::string>> query(const std::string& sql);

 private:
  PGconn* c_;
};

/// Streams rows into one COPY ... FROM STDIN, in large chunks. With a null
/// connection (--dry-run) the data is generated and thrown away.
class CopyStream {
 public:
  static constexpr std::size_t flush_bytes = 4u << 20;

  CopyStream(PGconn* conn, const std::string& copy_sql);

  /// Call after each row written into `buf`.
  void row_done() {
    ++rows;
    if (buf.size() >= flush_bytes) flush();
  }
  void flush();
  /// Ends the COPY; returns the row count the server reports (or the rows sent).
  std::uint64_t finish();

  std::string buf;  ///< rows in COPY text format, not sent yet
  std::uint64_t rows = 0;
  std::uint64_t bytes = 0;

 private:
  PGconn* conn_;
};

}  // namespace hookstream::bench_load
