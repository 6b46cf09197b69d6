#include <hookstream/storage/error.hpp>

#include <stdexcept>

namespace hookstream::storage {
namespace {
class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "hookstream.storage"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::connection_failed: return "database connection failed";
      case errc::query_failed: return "database query failed";
      case errc::query_timeout: return "database query timed out";
      case errc::pool_exhausted: return "connection pool exhausted";
      case errc::acquire_timeout: return "timed out waiting for a database connection";
      case errc::pool_closed: return "connection pool is closed";
      case errc::protocol_error: return "unexpected database result";
      case errc::cancelled: return "the caller abandoned the database operation";
    }
    return "unknown storage error";
  }
};
}  // namespace

const boost::system::error_category& storage_category() noexcept {
  static const category instance;
  return instance;
}

errc classify_sqlstate(std::string_view s) noexcept {
  if (s == "57014") return errc::query_timeout;
  if (s.starts_with("08") || s == "57P01" || s == "57P02" || s == "57P03" || s == "53300")
    return errc::connection_failed;
  return errc::query_failed;
}

void throw_exception_from_error(const db_error& e, const boost::source_location&) {
  throw std::runtime_error(e.code.message() + (e.message.empty() ? "" : ": " + e.message));
}
}  // namespace hookstream::storage
