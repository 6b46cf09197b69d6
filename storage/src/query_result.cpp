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
// A smallint, integer or bigint in binary, by its width on the wire.
std::int64_t integer_of(const char* p, int len) noexcept {
  const std::uint64_t raw = load_be(p, len);
  switch (len) {
    case 2: return static_cast<std::int16_t>(raw);
    case 4: return static_cast<std::int32_t>(raw);
    default: return static_cast<std::int64_t>(raw);
  }
}
// PostgreSQL counts timestamps from 2000-01-01; we count from the Unix epoch.
constexpr std::int64_t pg_epoch_unix_micros = 946'684'800'000'000;
unix_micros timestamp_of(const char* p) noexcept {
  const auto raw = static_cast<std::int64_t>(load_be(p, 8));
  // 'infinity' / '-infinity' are INT64_MAX / INT64_MIN on the wire: saturate.
  if (raw > INT64_MAX - pg_epoch_unix_micros) return INT64_MAX;
  if (raw == INT64_MIN) return INT64_MIN;
  return raw + pg_epoch_unix_micros;
}
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
  return integer_of(PQgetvalue(res_, row, col), PQgetlength(res_, row, col));
}

std::optional<std::string_view> query_result::nullable_bytes(int row, int col) const noexcept {
  // libpq reports a null's length as 0.
  const int len = PQgetlength(res_, row, col);
  if (len == 0 && PQgetisnull(res_, row, col)) return std::nullopt;
  return std::string_view{PQgetvalue(res_, row, col), static_cast<std::size_t>(len)};
}

// A binary number or timestamp is never empty: length 0 is a null.
std::optional<std::int64_t> query_result::nullable_integer(int row, int col) const noexcept {
  const int len = PQgetlength(res_, row, col);
  if (len == 0) return std::nullopt;
  return integer_of(PQgetvalue(res_, row, col), len);
}

std::optional<unix_micros> query_result::nullable_timestamp(int row, int col) const noexcept {
  if (PQgetlength(res_, row, col) == 0) return std::nullopt;
  return timestamp_of(PQgetvalue(res_, row, col));
}

bool query_result::boolean(int row, int col) const noexcept { return PQgetvalue(res_, row, col)[0] != 0; }

unix_micros query_result::timestamp(int row, int col) const noexcept {
  return timestamp_of(PQgetvalue(res_, row, col));
}

}  // namespace hookstream::storage
