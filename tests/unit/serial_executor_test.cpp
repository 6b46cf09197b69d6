// storage::serial_executor: which executors are used as they are and which get
// a strand, and the hop onto it (results, exceptions, cancellation across
// threads). No database.
#include <hookstream/storage/serial_executor.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <future>
#include <stdexcept>
#include <thread>
#include <vector>

using hookstream::storage::serial_executor;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {
// Runs `f` as a coroutine on `ex` and waits for its value.
template <class F>
auto run_on(const asio::any_io_executor& ex, F f) {
  return asio::co_spawn(ex, std::move(f), asio::use_future).get();
}

// An io_context run by `n` threads until the object is destroyed.
struct pool_of_threads {
  explicit pool_of_threads(unsigned n) : guard(io.get_executor()) {
    for (unsigned i = 0; i < n; ++i) threads.emplace_back([this] { io.run(); });
  }
  ~pool_of_threads() {
    guard.reset();
    for (auto& t : threads) t.join();
  }
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> guard;
  std::vector<std::thread> threads;
};
}  // namespace

BOOST_AUTO_TEST_SUITE(serial_executors)

BOOST_AUTO_TEST_CASE(an_io_context_with_hint_one_is_used_as_it_is) {
  asio::io_context io(1);
  serial_executor ex(io.get_executor());
  BOOST_TEST(ex.single_threaded());
  BOOST_TEST((ex.get() == asio::any_io_executor(io.get_executor())));
  BOOST_TEST(!ex.running_in_this_thread());
  bool inside = false;
  asio::post(io, [&] { inside = ex.running_in_this_thread(); });
  io.run();
  BOOST_TEST(inside);
}

BOOST_AUTO_TEST_CASE(any_other_io_context_gets_a_strand) {
  for (int hint : {BOOST_ASIO_CONCURRENCY_HINT_DEFAULT, 2, 4}) {
    BOOST_TEST_CONTEXT("hint " << hint) {
      asio::io_context io(hint);
      serial_executor ex(io.get_executor());
      BOOST_TEST(!ex.single_threaded());
      BOOST_TEST(ex.get().target<asio::strand<asio::io_context::executor_type>>() != nullptr);
      // Running a plain handler of the io_context is not running in the strand.
      bool in_plain = true, in_strand = false;
      asio::post(io, [&] { in_plain = ex.running_in_this_thread(); });
      asio::post(ex.get(), [&] { in_strand = ex.running_in_this_thread(); });
      io.run();
      BOOST_TEST(!in_plain);
      BOOST_TEST(in_strand);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_strand_is_used_as_it_is) {
  asio::io_context io;
  auto strand = asio::make_strand(io);
  serial_executor ex(strand);
  BOOST_TEST((ex.get() == asio::any_io_executor(strand)));
  bool inside = false;
  asio::post(strand, [&] { inside = ex.running_in_this_thread(); });
  io.run();
  BOOST_TEST(inside);

  asio::strand<asio::any_io_executor> generic(io.get_executor());
  BOOST_TEST((serial_executor(generic).get() == asio::any_io_executor(generic)));
}

BOOST_AUTO_TEST_CASE(a_thread_pool_gets_a_strand) {
  asio::thread_pool threads(2);
  serial_executor ex(threads.get_executor());
  BOOST_TEST(!ex.single_threaded());
  BOOST_TEST(ex.get().target<asio::strand<asio::any_io_executor>>() != nullptr);
  // Handlers on it never overlap, whatever thread runs them.
  std::atomic<int> inside{0}, overlaps{0};
  std::promise<void> done;
  std::atomic<int> left{200};
  for (int i = 0; i < 200; ++i)
    asio::post(ex.get(), [&] {
      if (inside.fetch_add(1) != 0) ++overlaps;
      std::this_thread::yield();
      inside.fetch_sub(1);
      if (left.fetch_sub(1) == 1) done.set_value();
    });
  done.get_future().wait();
  BOOST_TEST(overlaps.load() == 0);
  threads.join();
}

BOOST_AUTO_TEST_CASE(run_hops_onto_the_strand_and_back) {
  pool_of_threads threads(4);
  serial_executor target(threads.io.get_executor());
  auto caller = asio::make_strand(threads.io);
  auto [on_target, back_on_caller, value] = run_on(caller, [&]() -> asio::awaitable<std::tuple<bool, bool, int>> {
    bool seen_on_target = false;
    const int v = co_await target.run([&]() -> asio::awaitable<int> {
      seen_on_target = target.running_in_this_thread();
      co_return 42;
    }());
    co_return std::tuple{seen_on_target, caller.running_in_this_thread(), v};
  });
  BOOST_TEST(on_target);
  BOOST_TEST(back_on_caller);
  BOOST_TEST(value == 42);

  // Exceptions come back to the caller.
  BOOST_CHECK_THROW(run_on(caller,
                           [&]() -> asio::awaitable<void> {
                             co_await target.run([]() -> asio::awaitable<void> {
                               throw std::runtime_error("inside");
                               co_return;
                             }());
                           }),
                    std::runtime_error);
}

// Being inside one of the strand's handlers is not being on it: a coroutine of
// another executor may be resumed inline there (the plain io_context executor
// runs a dispatch at once on any thread that runs the io_context). Run inline
// from such a coroutine, the work's own waits would complete on the caller's
// executor, off the strand, racing with the strand's other handlers. run()
// must hop. One thread, so the order below is deterministic.
BOOST_AUTO_TEST_CASE(run_hops_from_a_foreign_coroutine_resumed_inside_the_strand) {
  asio::io_context io;  // the default hint: `target` gets a strand
  serial_executor target(io.get_executor());
  BOOST_REQUIRE(!target.single_threaded());
  bool caller_inside_strand = false, before_wait = false, after_wait = false;
  asio::post(target.get(), [&] {
    // co_spawn dispatches: the coroutine starts right here, within this handler.
    asio::co_spawn(
        io.get_executor(),
        [&]() -> asio::awaitable<void> {
          caller_inside_strand = target.running_in_this_thread();
          co_await target.run([&]() -> asio::awaitable<void> {
            before_wait = target.running_in_this_thread();
            asio::steady_timer t(target.get(), 1ms);
            co_await t.async_wait(asio::use_awaitable);
            after_wait = target.running_in_this_thread();
          }());
        },
        asio::detached);
  });
  io.run();
  BOOST_TEST(caller_inside_strand);  // the situation this test is about
  BOOST_TEST(before_wait);
  BOOST_TEST(after_wait);
}

// The caller's terminal cancellation reaches the work on the target's thread,
// whether it arrives during the call or before it. Many at once, from caller
// strands other than the target's, racing with completions: the case Boost
// 1.81's own forwarding gets wrong (a sanitizer build catches a dangling emit).
BOOST_AUTO_TEST_CASE(cancellation_crosses_the_hop) {
  pool_of_threads threads(4);
  serial_executor target(threads.io.get_executor());
  constexpr int calls = 400;
  std::atomic<int> cancelled{0}, completed{0};
  std::vector<std::unique_ptr<asio::cancellation_signal>> signals;
  std::vector<asio::strand<asio::io_context::executor_type>> callers;
  for (int i = 0; i < calls; ++i) {
    signals.push_back(std::make_unique<asio::cancellation_signal>());
    callers.push_back(asio::make_strand(threads.io));
  }
  // The work: like a storage operation, it looks at its cancellation state
  // first, then waits 0-2 ms on a timer that cancellation interrupts.
  auto work = [&](std::chrono::microseconds wait) -> asio::awaitable<boost::system::error_code> {
    auto state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none) co_return asio::error::operation_aborted;
    asio::steady_timer t(target.get(), wait);
    auto [e] = co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    co_return e;
  };
  std::vector<std::future<void>> done;
  for (int i = 0; i < calls; ++i) {
    // Every fourth call is cancelled before it hops; the others are cancelled
    // from their caller's strand while the work runs, or after it ended.
    const bool early = i % 4 == 0;
    const auto wait = std::chrono::microseconds((i * 37) % 2000);
    done.push_back(asio::co_spawn(
        callers[i],
        [&, early, wait, i]() -> asio::awaitable<void> {
          if (early) signals[i]->emit(asio::cancellation_type::terminal);
          co_await asio::this_coro::throw_if_cancelled(false);
          auto ec = co_await target.run(work(wait));
          if (ec == asio::error::operation_aborted) ++cancelled;
          else ++completed;
        },
        asio::bind_cancellation_slot(signals[i]->slot(), asio::use_future)));
    if (!early) asio::post(callers[i], [&, i] { signals[i]->emit(asio::cancellation_type::terminal); });
  }
  for (auto& f : done) f.get();
  BOOST_TEST(cancelled.load() + completed.load() == calls);
  BOOST_TEST(cancelled.load() >= calls / 4);  // at least every early one
  BOOST_TEST_MESSAGE(cancelled.load() << " cancelled, " << completed.load() << " completed first");
}

BOOST_AUTO_TEST_SUITE_END()
