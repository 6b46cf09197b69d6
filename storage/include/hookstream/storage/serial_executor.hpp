// The executor a hookstream object runs its work on, chosen so that the object
// is correct whatever thread layout the application has.
//
// hookstream's pool, connections, authenticator and handler keep plain state and
// take no locks: they are correct only when no two of their handlers run at
// once. A `serial_executor` guarantees that, from the executor it is given:
//  - the executor of an io_context constructed with concurrency hint 1 (or one
//    of Asio's non-locking hints) is used as it is. Asio itself assumes such an
//    io_context is run by one thread ("The implementation assumes that the
//    io_context will be run from a single thread", Asio's concurrency hints);
//    hookstream-server runs one io_context(1) per thread. No strand, no cost.
//  - a strand (`asio::strand<io_context::executor_type>` or
//    `asio::strand<asio::any_io_executor>`) is used as it is.
//  - anything else (an io_context with the default hint, which any number of
//    threads may run; a thread_pool; an unknown executor type) is wrapped in a
//    new strand.
// What this cannot see: an io_context constructed with hint 1 and then run by
// several threads anyway, against Asio's own assumption for that hint. Use the
// default hint for an io_context that a pool of threads runs.
//
// Calling in: the coroutines hookstream objects offer (connection_pool::acquire,
// with_connection, pg_connection's operations, api_handler::handle...) may be
// awaited from a coroutine on any executor. When the caller's coroutine does not
// have the object's serial executor as its own, `run` spawns the work onto it
// and the caller resumes on its own executor once it is done (one co_spawn per
// call); a coroutine of the executor itself runs the work inline at no cost.
// (A coroutine of another executor resumed inside one of the strand's handlers
// still hops: the work's own waits would otherwise complete on its executor.) Per-operation cancellation of the caller is
// forwarded across the hop (see detail/executor_hop.hpp).
//
// Thread-safety: a serial_executor is an immutable value; copies may be used
// from any thread.
#pragma once

#include <hookstream/storage/detail/executor_hop.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>

#include <utility>
#include <variant>

namespace hookstream::storage {

class serial_executor {
 public:
  /// See the file comment for what is kept and what is wrapped in a strand.
  explicit serial_executor(boost::asio::any_io_executor executor);

  /// The executor to run on (the given one, or the strand made around it).
  const boost::asio::any_io_executor& get() const noexcept { return executor_; }
  /// True when the calling thread is running a handler of this executor, i.e.
  /// the object's state may be touched now without a hop.
  bool running_in_this_thread() const noexcept;
  /// True when the underlying io_context is run by one thread only (hint 1):
  /// no other thread ever runs its reactor. False for every strand.
  bool single_threaded() const noexcept { return std::holds_alternative<io_executor>(typed_); }

  /// Awaits `op` on this executor: inline when the calling coroutine's own
  /// executor is this one, else spawned onto it (the caller resumes on its own
  /// executor).
  template <class T>
  boost::asio::awaitable<T> run(boost::asio::awaitable<T> op) const {
    // Running in this thread is not enough: a coroutine of another executor may
    // be resumed inline within one of the strand's handlers (a dispatch from
    // there), and `op` run inline would then resume after its waits on that
    // executor, off the strand. (A statement of its own: GCC 12 miscompiles a
    // co_await in the right operand of &&.)
    const boost::asio::any_io_executor caller = co_await boost::asio::this_coro::executor;
    if (caller == executor_ && running_in_this_thread()) co_return co_await std::move(op);
    co_return co_await detail::await_on(executor_, std::move(op));
  }

 private:
  using io_executor = boost::asio::io_context::executor_type;
  std::variant<io_executor, boost::asio::strand<io_executor>, boost::asio::strand<boost::asio::any_io_executor>>
      typed_;
  boost::asio::any_io_executor executor_;
};

}  // namespace hookstream::storage
