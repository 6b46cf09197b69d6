// An owned libpq result with typed accessors for binary-format columns.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

struct pg_result;  // libpq's PGresult; kept out of this header on purpose

namespace hookstream::storage {

/// Microseconds since 1970-01-01T00:00:00Z (PostgreSQL's own resolution).
using unix_micros = std::int64_t;

/// Owns one `PGresult`. Rows and columns are zero-based. Accessors for numbers and
/// timestamps assume the query asked for binary results (`result_format::binary`),
/// which is how the repositories query: no text parsing on the hot path.
///
/// Preconditions: `row < rows()`, `col < columns()`, and the value is not null
/// (check `is_null`) for the typed getters; violating them is undefined.
class query_result {
 public:
  query_result() noexcept = default;
  explicit query_result(::pg_result* res) noexcept : res_(res) {}
  query_result(query_result&& other) noexcept : res_(other.res_) { other.res_ = nullptr; }
  query_result& operator=(query_result&& other) noexcept;
  query_result(const query_result&) = delete;
  query_result& operator=(const query_result&) = delete;
  ~query_result();

  int rows() const noexcept;
  int columns() const noexcept;
  /// Rows changed by INSERT/UPDATE/DELETE (0 when not applicable).
  std::int64_t affected_rows() const noexcept;

  bool is_null(int row, int col) const noexcept;
  /// Raw bytes of a value: text for text columns, the bytes of a bytea.
  std::string_view bytes(int row, int col) const noexcept;
  /// A smallint, integer or bigint, whatever its width on the wire.
  std::int64_t integer(int row, int col) const noexcept;
  bool boolean(int row, int col) const noexcept;
  /// A timestamptz value.
  unix_micros timestamp(int row, int col) const noexcept;

  /// The value's bytes, or nullopt for a null. Cheaper than `is_null` and
  /// `bytes`: only an empty value needs the null flag looked up.
  std::optional<std::string_view> nullable_bytes(int row, int col) const noexcept;
  /// A number or timestamp, or nullopt for a null: neither is ever empty on
  /// the wire, so a length of 0 is the null and no flag is looked up.
  std::optional<std::int64_t> nullable_integer(int row, int col) const noexcept;
  std::optional<unix_micros> nullable_timestamp(int row, int col) const noexcept;

 private:
  ::pg_result* res_ = nullptr;
};

}  // namespace hookstream::storage
