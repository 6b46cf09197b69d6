// Event-loop lag: how late a worker's io_context runs a timer that should fire
// every `period`. Work that holds the loop (a long render, a large result read
// in one go) delays every other request on that thread by as much, and shows
// here first: a 50 ms stretch is a timer about 50 ms late.
//
// A timer is also late when the machine gives the thread no CPU (other
// processes, the database on the same cores). The stall figure separates the
// two: the part of the lag the thread itself was running (its own CPU time
// since the previous tick, at most the lag). Lag is what clients feel; stall is
// what hookstream's own code caused.
//
// The stall needs the tick to run on the thread of the previous one (a thread's
// CPU clock means nothing to another): on an io_context that several threads
// run, ticks that changed threads record the lag only.
//
// Cost: one timer wake-up per period (default 20 ms) per thread.
// Thread-safety: `start` and `stop` on the executor's thread (or before it runs).
#pragma once

#include <hookstream/server/metrics.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <thread>

namespace hookstream::server {

class loop_lag_monitor {
 public:
  /// `metrics` must outlive the monitor.
  loop_lag_monitor(boost::asio::any_io_executor executor, server_metrics& metrics,
                   std::chrono::milliseconds period = std::chrono::milliseconds(20));
  /// Starts measuring. The pending timer keeps the io_context's run() going:
  /// call stop() when shutting down.
  void start();
  void stop();

 private:
  void arm();

  boost::asio::steady_timer timer_;
  server_metrics& metrics_;
  std::chrono::nanoseconds cpu_at_last_tick_{0};
  std::thread::id thread_at_last_tick_;
  std::chrono::milliseconds period_;
  bool running_ = false;
};

}  // namespace hookstream::server
