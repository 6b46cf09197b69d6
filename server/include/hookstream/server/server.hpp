// The whole server, shared-nothing per thread: each worker thread runs its own
// io_context with its own SO_REUSEPORT acceptor, connection pool and handler, so
// the request path takes no lock and no request ever hops threads.
//
// With read replicas (server_config::replica_urls) every worker also has one
// pool per replica and a read_router over them, and the process one
// replica_monitor thread that measures their lag in the background.
//
// The live tail's hub (live_tail.hpp) runs on one more thread with an
// io_context of its own: its listening connection and its reads never share a
// loop with requests, and there is one per process, whatever the thread count.
//
// A gateway that brings its own io_context uses connection_pool + api_handler (and
// optionally http_listener) directly instead; this class is what the binary runs.
#pragma once

#include <hookstream/server/config.hpp>
#include <hookstream/storage/replica_health.hpp>
#include <hookstream/storage/replica_monitor.hpp>

#include <memory>

namespace hookstream::server {

class server {
 public:
  explicit server(server_config config);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Binds every worker's listener (throws boost::system::system_error when the
  /// address is taken) and starts the worker threads.
  void start();
  /// The port actually bound (differs from the configured one when that was 0).
  unsigned short port() const;
  /// Graceful shutdown: stop accepting, end streams, drain, close pools and the
  /// live tail's connection. Thread-safe, idempotent.
  void stop();
  /// Blocks until every worker has finished.
  void wait();

 private:
  struct worker;
  struct live_tail_thread;
  server_config config_;
  metrics_registry metrics_;
  std::shared_ptr<storage::replica_health> replicas_;
  std::unique_ptr<storage::replica_monitor> monitor_;
  // Destroyed after the workers (declared first), which detach from its hub.
  std::unique_ptr<live_tail_thread> live_tail_;
  std::vector<std::unique_ptr<worker>> workers_;
  bool stopped_ = false;
};

}  // namespace hookstream::server
