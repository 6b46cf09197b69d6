#include <hookstream/storage/serial_executor.hpp>

#include <boost/asio/detail/concurrency_hint.hpp>
#include <boost/asio/detail/scheduler.hpp>

namespace hookstream::storage {
namespace asio = boost::asio;

namespace {
using io_executor = asio::io_context::executor_type;

// Whether Asio treats this io_context as run by one thread: the very test its
// scheduler applies to itself (scheduler.ipp, `one_thread_`). The hint has no
// public accessor; the scheduler service is Asio's io_context implementation on
// every reactor platform (and hookstream runs on Linux only).
bool asio_assumes_one_thread(asio::io_context& io) {
  const int hint = asio::use_service<asio::detail::scheduler>(io).concurrency_hint();
  return hint == 1 || !BOOST_ASIO_CONCURRENCY_HINT_IS_LOCKING(SCHEDULER, hint) ||
         !BOOST_ASIO_CONCURRENCY_HINT_IS_LOCKING(REACTOR_IO, hint);
}

using typed_executor = std::variant<io_executor, asio::strand<io_executor>, asio::strand<asio::any_io_executor>>;

typed_executor serialize(const asio::any_io_executor& ex) {
  if (const auto* io = ex.target<io_executor>()) {
    if (asio_assumes_one_thread(io->context())) return *io;
    return asio::make_strand(*io);
  }
  if (const auto* strand = ex.target<asio::strand<io_executor>>()) return *strand;
  if (const auto* strand = ex.target<asio::strand<asio::any_io_executor>>()) return *strand;
  return asio::make_strand(ex);
}
}  // namespace

serial_executor::serial_executor(asio::any_io_executor executor)
    : typed_(serialize(executor)),
      executor_(std::visit([](const auto& e) { return asio::any_io_executor(e); }, typed_)) {}

bool serial_executor::running_in_this_thread() const noexcept {
  return std::visit([](const auto& e) { return e.running_in_this_thread(); }, typed_);
}

}  // namespace hookstream::storage
