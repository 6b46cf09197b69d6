// Sends PostgreSQL cancel requests without blocking the event loop.
//
// libpq 15 has no non-blocking cancel: PQcancel opens its own connection to the
// server, sends a CancelRequest and waits for the server to close it. So the event
// loop only takes the request (PQgetCancel, which copies the address and the
// backend's key and does no I/O) and hands it to a small process-wide set of
// threads that make the blocking call.
//
// The outcome is an atomic the event loop polls: no completion is posted back,
// so a thread stuck in connect() (an unreachable server) can never touch an
// io_context that has been destroyed meanwhile.
//
// Bounds: at most `max_queued` requests wait; beyond that `send_cancel` fails the
// request at once (the caller then treats the cancel as not delivered). In-flight
// cancels are bounded anyway by the number of open connections.
#pragma once

#include <atomic>
#include <memory>
#include <string>

struct pg_cancel;  // libpq's PGcancel

namespace hookstream::storage::detail {

class cancel_outcome {
 public:
  enum class state { pending, delivered, failed };
  state get() const noexcept { return state_.load(std::memory_order_acquire); }
  /// libpq's error text; meaningful only once get() == failed.
  const std::string& error() const noexcept { return error_; }

 private:
  friend class cancel_sender;
  std::atomic<state> state_{state::pending};
  std::string error_;
};

/// Takes ownership of `request` (from PQgetCancel; may be null, which fails at
/// once). Never blocks. Thread-safe.
std::shared_ptr<const cancel_outcome> send_cancel(pg_cancel* request);

}  // namespace hookstream::storage::detail
