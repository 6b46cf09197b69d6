#include <hookstream/storage/query_result.hpp>

#include <libpq-fe.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace hookstream::storage {
namespace {
// Binary wire values are big-endian.
std::uint64_t load_be(const char* p, int len) noexcept {
  std::uint64_t v = 0;
  for (int i = 0; i < len; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
// PostgreSQL counts timestamps from 2000-01-01; we count from the Unix epoch.
constexpr std::int64_t pg_epoch_unix_micros = 946'684'800'000'000;
}  // namespace

query_result& query_result::operator=(query_result&& other) noexcept {
  if (this != &other) {
    if (res_) PQclear(res_);
    res_ = other.res_;
    other.res_ = nullptr;
  }
  return *this;
}

query_result::~query_result() {
  if (res_) PQclear(res_);
}

int query_result::rows() const noexcept { return res_ ? PQntuples(res_) : 0; }
int query_result::columns() const noexcept { return res_ ? PQnfields(res_) : 0; }

std::int64_t query_result::affected_rows() const noexcept {
  const char* s = res_ ? PQcmdTuples(res_) : "";
  return *s ? std::strtoll(s, nullptr, 10) : 0;
}

bool query_result::is_null(int row, int col) const noexcept { return PQgetisnull(res_, row, col) != 0; }

std::string_view query_result::bytes(int row, int col) const noexcept {
  return {PQgetvalue(res_, row, col), static_cast<std::size_t>(PQgetlength(res_, row, col))};
}

std::int64_t query_result::integer(int row, int col) const noexcept {
  const int len = PQgetlength(res_, row, col);
  const std::uint64_t raw = load_be(PQgetvalue(res_, row, col), len);
  switch (len) {
    case 2: return static_cast<std::int16_t>(raw);
    case 4: return static_cast<std::int32_t>(raw);
    default: return static_cast<std::int64_t>(raw);
  }
}

bool query_result::boolean(int row, int col) const noexcept { return PQgetvalue(res_, row, col)[0] != 0; }

unix_micros query_result::timestamp(int row, int col) const noexcept {
  const auto raw = static_cast<std::int64_t>(load_be(PQgetvalue(res_, row, col), 8));
  // 'infinity' / '-infinity' are INT64_MAX / INT64_MIN on the wire: saturate.
  if (raw > INT64_MAX - pg_epoch_unix_micros) return INT64_MAX;
  if (raw == INT64_MIN) return INT64_MIN;
  return raw + pg_epoch_unix_micros;
}

}  // namespace hookstream::storage
