// The HTTP API of hookstream as a plain request -> response coroutine.
//
// This is the piece a gateway embeds (docs/embedding.md): give it a connection
// pool on your io_context, mount `handle` on your router (or use
// http_listener), or authenticate callers yourself and call
// `handle_for_tenant`. It serves
//   GET /v1/delivery-attempts          the filtered, paginated listing
//   GET /v1/delivery-attempts/stream   the live tail (Server-Sent Events; needs
//                                      `serve` and a live_tail_hub, see below)
//   GET /v1/delivery-attempts/{id}     one attempt (404 across tenants)
//   GET /healthz, /readyz, /metrics    liveness, database readiness, Prometheus
//   OPTIONS on the API paths           CORS preflight (never touches the database)
//
// Two entry points: `handle` answers with a whole response, always; `serve`
// may also answer with a streamed_response (http_types.hpp), which only the
// live tail does. A transport that cannot stream calls `handle`: the stream
// route then answers 501. http_listener calls `serve`. The live tail also needs
// `handler_config::live_tail` (one hub per process, see live_tail.hpp); without
// it the stream route answers 503.
//
// Order of work for the API routes, once it is their turn (at most
// active_requests_per_connection x the primary pool's size at once; later ones
// wait in arrival order, up to their acquire deadline, then 503: see
// admission_gate.hpp; http_listener makes them wait before it calls the
// handler, see `admission`), cheapest refusal first:
//   1. the request alone: route, method, query string, cursor shape (400/404/405);
//   2. the credential: from the handler's cache, else one database look-up,
//      throttled per client address when look-ups keep failing (401/403/429);
//      `handle_for_tenant` skips this step: the gateway named the tenant;
//   3. the org's rate limit (429), then the cursor's signature for this tenant;
//   4. the database, on a pooled connection that is given back before the
//      answer is rendered.
// A malformed request therefore never waits for, or holds, a connection (it
// may wait its turn like any other).
//
// Authenticated answers carry RateLimit-Limit/-Remaining/-Reset. Every answer
// carries `X-Request-Id` (a well-formed incoming one is kept); every error has
// the body {"error": "...", "status": N, "request_id": "req_..."} (see
// http_errors.hpp). Every database step runs under the request's deadline.
//
// Bounded answers: large fields are cut at `listing_field_bytes` (listing) or
// `attempt_field_bytes` (single attempt), on a UTF-8 boundary; a listing page
// stops before its body passes `max_page_bytes` (then `has_more` is true and
// `next_cursor` continues after its last row); large pages are rendered in
// slices, yielding to the event loop between them.
//
// Threads: the handler runs on its pool's executor (a strand, unless the pool
// was given an io_context(1); see storage/serial_executor.hpp). `handle` and
// `handle_for_tenant` may be awaited from a coroutine on any executor and any
// thread: off the pool's executor, the request hops onto it and the caller
// resumes on its own executor with the answer. Many requests may be in flight
// at once. One handler serializes its requests' CPU work (parsing, rendering,
// gzip) on that executor: for more cores, make one pool and handler per thread
// (or per strand) and share between them what must be shared: the rate
// limiters, the readiness probe, the cursor secret, the metrics registry.
// `rate_limiter`, `readiness_probe` and `server_metrics` are thread-safe.
//
// Lifetimes: the pool, `metrics` and `registry` must outlive the handler and
// every request it has in flight. The handler object itself may be destroyed
// while requests are in flight: each request (and http_listener's connections)
// holds the handler's state until it ends, and finishes normally.
// Shutdown: stop routing new requests, close the pool (waiting requests answer
// 503 at once; running statements finish or meet their deadline), wait until
// `in_flight()` is 0 (http_listener's `begin_shutdown` does this for its own
// connections), then destroy the handler, the pool and the io_context, in that
// order.
#pragma once

#include <hookstream/auth/authenticator.hpp>
#include <hookstream/server/admission_gate.hpp>
#include <hookstream/server/http_types.hpp>
#include <hookstream/server/live_tail.hpp>
#include <hookstream/server/metrics.hpp>
#include <hookstream/server/rate_limiter.hpp>
#include <hookstream/server/readiness_probe.hpp>
#include <hookstream/storage/attempt_repository.hpp>
#include <hookstream/storage/attempt_row_cache.hpp>
#include <hookstream/storage/connection_pool.hpp>
#include <hookstream/storage/read_router.hpp>
#include <hookstream/storage/route_name_cache.hpp>
#include <hookstream/storage/serial_executor.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace hookstream::server {

struct handler_config {
  /// Longest wait for a pooled connection before answering 503; it includes
  /// the wait for a place among the active requests (active_requests_per_connection).
  std::chrono::milliseconds acquire_timeout{1000};
  /// API requests (listings, single attempts, opening a live tail) this
  /// handler works on at once, per connection of its primary pool (max_size);
  /// later ones wait their turn, in arrival order, within acquire_timeout (see
  /// admission_gate.hpp). Health, readiness, metrics and the OpenAPI document
  /// never wait. 0: no bound. Why 2 (README, Performance, "Two active
  /// requests per pooled connection"): about one request queued behind the one
  /// running keeps a connection's backend busy between statements (1 left it
  /// idle); with 4, at 1,024 clients, the database and the server spent more
  /// per request. 2 and 3 measured within this machine's noise of each other.
  std::size_t active_requests_per_connection = 2;
  /// Budget for all database work of one request (answer 504 past it).
  std::chrono::milliseconds request_timeout{10000};
  /// Key of the cursors' MAC (>= 16 bytes). Every handler that may see another's
  /// cursors (all threads, all instances behind one load balancer) needs the same
  /// one. Empty: a random key of this handler's own, good for tests only.
  std::string cursor_secret;
  /// Credentials: session secrets (cookie auth) and the credential cache.
  auth::authenticator_config auth;
  /// Per-org limit. Share one limiter between all handlers of a process (null:
  /// this handler makes its own from `rate_limit`).
  rate_limit_config rate_limit;
  std::shared_ptr<rate_limiter> org_limiter;
  /// Credential look-ups that did not find a valid credential, per client
  /// address: past it, uncached credentials from that address get 429 without
  /// a look-up. Share one limiter per process (null: made from the config).
  rate_limit_config auth_failure_limit{.limit = 100, .window = std::chrono::seconds(60)};
  std::shared_ptr<rate_limiter> auth_failure_limiter;
  /// Browser origins allowed to call the API with credentials (CORS); exact
  /// matches such as "https://dashboard.example.com". None by default.
  std::vector<std::string> cors_origins;
  /// gzip bodies of at least this many bytes for clients that accept it
  /// (0 = never compress).
  std::size_t gzip_min_bytes = 1024;
  /// Large fields (response_body, request_headers, response_headers, error) are
  /// cut to this many bytes in listings, and in GET .../{id}. >= 4 each.
  std::int32_t listing_field_bytes = storage::default_listing_field_bytes;
  std::int32_t attempt_field_bytes = 1024 * 1024;
  /// A listing page ends before its body passes this size (at least one row;
  /// `has_more` and `next_cursor` then continue after the last row shown).
  std::size_t max_page_bytes = 4 * 1024 * 1024;
  /// Names of connections and destinations (per thread, TTL-bounded).
  storage::route_name_cache_config route_names;
  /// Listing rows kept between pages, per thread (see attempt_row_cache.hpp);
  /// they keep their JSON up to their names (attempt_json.hpp).
  storage::attempt_row_cache_config row_cache;
  /// /readyz's shared state (null: this handler makes its own).
  std::shared_ptr<readiness_probe> readiness;
  /// The live tail's hub, one per process, shared by every handler (null: the
  /// stream route answers 503). Its field cap should equal listing_field_bytes,
  /// so that an event renders exactly like the listing's row.
  std::shared_ptr<live_tail_hub> live_tail;
};

/// How a transport holds API requests back until the handler has room for
/// them (see `api_handler::admission`).
struct request_admission {
  /// The gate `request` waits at: listings, single attempts and a live tail's
  /// opening (GET on their routes). Null for requests that never wait: health,
  /// readiness, metrics, the OpenAPI document, and those answered from their
  /// request line alone (404, 405, CORS preflight). Keeps the handler's state
  /// (and so the gate) alive while it lives.
  std::function<admission_gate*(const http_request&)> gate_for;
  /// How long a request may wait at the gate (handler_config::acquire_timeout),
  /// counted from request_context::received.
  std::chrono::milliseconds timeout{};
};

class api_handler {
 public:
  /// Every database read on `pool`, which must outlive the handler and its
  /// requests. `metrics` (optional) is this handler's counters; `registry`
  /// (optional) renders /metrics for all.
  api_handler(storage::connection_pool& pool, handler_config config, server_metrics* metrics = nullptr,
              const metrics_registry* registry = nullptr);
  /// Reads (listings, single attempts, credential look-ups) where `reads` sends
  /// them: read replicas when usable (see read_router.hpp); /readyz asks its
  /// primary. `reads` and its pools must outlive the handler and its requests;
  /// the handler runs on the primary pool's executor.
  api_handler(storage::read_router& reads, handler_config config, server_metrics* metrics = nullptr,
              const metrics_registry* registry = nullptr);
  ~api_handler();
  api_handler(const api_handler&) = delete;
  api_handler& operator=(const api_handler&) = delete;

  /// Answers one request. Never throws: an unexpected exception becomes a 500
  /// (logged with the request id). Honours terminal cancellation (e.g. the
  /// client went away): the database work is abandoned. `request` and
  /// `context` must stay valid until the returned awaitable completes.
  boost::asio::awaitable<http_response> handle(const http_request& request, const request_context& context);
  /// The same, for a transport that knows nothing beyond the request.
  boost::asio::awaitable<http_response> handle(const http_request& request);
  /// Like `handle`, but the live tail's route answers with a streamed_response
  /// (its head carries the status and headers, its body writes the events).
  /// Errors before the stream starts (400, 401, 410, 429, 503...) are whole
  /// responses as usual.
  boost::asio::awaitable<handler_result> serve(const http_request& request, const request_context& context);

  /// Answers one request for a tenant the caller has already authenticated
  /// (a gateway with its own credentials): exactly what `handle` does (routes,
  /// validation, the org's rate limit and RateLimit-* headers, cursors bound to
  /// the tenant, errors and JSON, metrics), except that hookstream's credential
  /// step is skipped: credential headers (X-API-Key, Authorization, cookies,
  /// X-Env-Id) are ignored and never answered 401/403. Cursors are the same as
  /// `handle` makes for that tenant. A tenant with an empty org or environment
  /// id is a caller bug: answered 500 and logged.
  boost::asio::awaitable<http_response> handle_for_tenant(const http_request& request, storage::tenant_id tenant,
                                                          const request_context& context);
  boost::asio::awaitable<http_response> handle_for_tenant(const http_request& request, storage::tenant_id tenant);

  /// `handle` as a request_handler that keeps the handler's state alive for as
  /// long as the function object lives (what http_listener mounts).
  request_handler as_request_handler() const;
  /// `serve` as a streaming_request_handler, kept alive the same way. A
  /// streamed answer's body must run on `executor()` (http_listener mounts
  /// this only when it shares that executor); it holds the handler's state
  /// until it returns.
  streaming_request_handler as_streaming_handler() const;

  /// For a transport on `executor()` that waits for a request's place at the
  /// gate itself, before it hands the request over (http_listener does, when
  /// it shares the handler's executor): the request then waits holding only
  /// its parsed bytes, not the handler's coroutine frames, and its whole work
  /// runs afterwards with a warm cache. The transport sets the request
  /// context's `received` and `admission`, and keeps the pass until the
  /// handler's awaitable completes. Without it the handler waits at the same
  /// gate itself; either way the same requests wait, in arrival order.
  request_admission admission() const;

  /// Requests started and not yet answered. Thread-safe.
  std::size_t in_flight() const noexcept;
  /// The executor the handler's work runs on (its pool's).
  const storage::serial_executor& executor() const noexcept;

 private:
  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace hookstream::server
