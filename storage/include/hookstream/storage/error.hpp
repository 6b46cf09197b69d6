// Errors of the storage layer.
//
// Every failing storage operation yields a `db_error`: an `error_code` in the
// `storage_category()` that callers switch on, plus the message PostgreSQL (or
// libpq) gave, kept beside it for logs. The message can contain SQL details and is
// never meant for API clients; the HTTP layer maps codes to its own wording.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <string>
#include <string_view>

namespace hookstream::storage {

enum class errc {
  connection_failed = 1,  ///< could not connect, or the connection broke mid-query
  query_failed,           ///< the server answered the query with an error
  query_timeout,          ///< the query ran past its deadline (server or client side)
  pool_exhausted,         ///< every connection busy and the waiter queue full
  acquire_timeout,        ///< no connection became free before the deadline
  pool_closed,            ///< the pool is shutting down
  protocol_error,         ///< the result did not have the expected shape
  cancelled,              ///< the caller abandoned the operation (Asio per-operation cancellation)
};

const boost::system::error_category& storage_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), storage_category()};
}

/// An error code plus the server's own words (empty when there are none).
struct db_error {
  boost::system::error_code code;
  std::string message;
  /// SQLSTATE when the server reported one (e.g. "57014" for a cancelled query).
  std::string sqlstate;
};

/// What a server-reported SQLSTATE means for the caller: `query_timeout` for a
/// cancelled statement (57014, e.g. `statement_timeout`), `connection_failed` for
/// the classes that end or refuse the session (08xxx connection exceptions, 57P01
/// admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now, 53300 too many
/// connections), `query_failed` for everything else.
errc classify_sqlstate(std::string_view sqlstate) noexcept;

/// Throws `std::runtime_error` with the code and the message; used by `result::value()`.
[[noreturn]] void throw_exception_from_error(const db_error& e, const boost::source_location& loc);

template <class T>
using db_result = boost::system::result<T, db_error>;

}  // namespace hookstream::storage

template <>
struct boost::system::is_error_code_enum<hookstream::storage::errc> : std::true_type {};
