#include <hookstream/server/loop_lag_monitor.hpp>

#include <algorithm>
#include <ctime>

namespace hookstream::server {
namespace {
std::chrono::nanoseconds thread_cpu_time() noexcept {
  timespec t{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return std::chrono::seconds(t.tv_sec) + std::chrono::nanoseconds(t.tv_nsec);
}
}  // namespace

loop_lag_monitor::loop_lag_monitor(boost::asio::any_io_executor executor, server_metrics& metrics,
                                   std::chrono::milliseconds period)
    : timer_(std::move(executor)), metrics_(metrics), period_(period) {}

void loop_lag_monitor::start() {
  if (running_) return;
  running_ = true;
  cpu_at_last_tick_ = thread_cpu_time();
  thread_at_last_tick_ = std::this_thread::get_id();
  timer_.expires_after(period_);
  arm();
}

void loop_lag_monitor::stop() {
  running_ = false;
  timer_.cancel();
}

void loop_lag_monitor::arm() {
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || !running_) return;
    const auto now = std::chrono::steady_clock::now();
    const auto due = timer_.expiry();
    const auto lag = now > due ? now - due : std::chrono::steady_clock::duration::zero();
    const auto cpu = thread_cpu_time();
    const auto busy = cpu - cpu_at_last_tick_;
    const bool same_thread = thread_at_last_tick_ == std::this_thread::get_id();
    cpu_at_last_tick_ = cpu;
    thread_at_last_tick_ = std::this_thread::get_id();
    std::optional<std::chrono::steady_clock::duration> stall;
    if (same_thread) stall = std::min<std::chrono::steady_clock::duration>(lag, busy);
    metrics_.observe_loop_lag(lag, stall);
    timer_.expires_at(now + period_);
    arm();
  });
}

}  // namespace hookstream::server
