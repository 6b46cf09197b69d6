#include "cancel_sender.hpp"

#include <libpq-fe.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace hookstream::storage::detail {

class cancel_sender {
 public:
  static constexpr std::size_t max_queued = 1024;
  static constexpr unsigned max_threads = 2;

  static cancel_sender& instance() {
    // Never destroyed: its threads may still be inside PQcancel at exit.
    static cancel_sender* const sender = new cancel_sender;
    return *sender;
  }

  std::shared_ptr<const cancel_outcome> submit(PGcancel* request) {
    auto outcome = std::make_shared<cancel_outcome>();
    if (!request) {
      fail(*outcome, "libpq could not make a cancel request");
      return outcome;
    }
    {
      std::lock_guard lock(mutex_);
      if (queue_.size() >= max_queued) {
        PQfreeCancel(request);
        fail(*outcome, "too many cancel requests queued");
        return outcome;
      }
      queue_.push_back({request, outcome});
      // One more thread while fewer than max_threads exist and none is idle.
      if (threads_ < max_threads && idle_ == 0) {
        ++threads_;
        std::thread([this] { run(); }).detach();
      }
    }
    wake_.notify_one();
    return outcome;
  }

 private:
  struct job {
    PGcancel* request;
    std::shared_ptr<cancel_outcome> outcome;
  };

  static void fail(cancel_outcome& o, std::string why) {
    o.error_ = std::move(why);
    o.state_.store(cancel_outcome::state::failed, std::memory_order_release);
  }

  void run() {
    for (;;) {
      job j;
      {
        std::unique_lock lock(mutex_);
        ++idle_;
        wake_.wait(lock, [this] { return !queue_.empty(); });
        --idle_;
        j = std::move(queue_.front());
        queue_.pop_front();
      }
      char error[256] = {};
      // Blocking, but on this thread: the event loop never waits for it.
      if (PQcancel(j.request, error, sizeof error)) {
        j.outcome->state_.store(cancel_outcome::state::delivered, std::memory_order_release);
      } else {
        fail(*j.outcome, error);
      }
      PQfreeCancel(j.request);
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<job> queue_;
  unsigned threads_ = 0;
  unsigned idle_ = 0;
};

std::shared_ptr<const cancel_outcome> send_cancel(pg_cancel* request) {
  return cancel_sender::instance().submit(request);
}

}  // namespace hookstream::storage::detail
