#include "attempts_endpoint.hpp"
#include "cors.hpp"
#include "endpoint_table.hpp"
#include "response_compression.hpp"
#include "stream_endpoint.hpp"

#include <hookstream/server/api_handler.hpp>
#include <hookstream/server/http_errors.hpp>
#include <hookstream/server/openapi.hpp>

#include <boost/asio/this_coro.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>

namespace hookstream::server {
namespace asio = boost::asio;
namespace http = boost::beast::http;
using storage::clock;

namespace {

auth::request_credentials credentials_of(const http_request& req) {
  auth::request_credentials c;
  if (auto it = req.find("X-API-Key"); it != req.end()) c.x_api_key = it->value();
  if (auto it = req.find(http::field::authorization); it != req.end()) c.authorization = it->value();
  if (auto it = req.find(http::field::cookie); it != req.end()) c.cookie = it->value();
  if (auto it = req.find("X-Env-Id"); it != req.end()) c.env_id = it->value();
  return c;
}

void set_rate_limit_headers(http_response& res, const rate_decision& d) {
  res.set("RateLimit-Limit", std::to_string(d.limit));
  res.set("RateLimit-Remaining", std::to_string(d.remaining));
  res.set("RateLimit-Reset", std::to_string(d.reset_s));
}

// The requests that work only with a place at the gate: GET on the data
// routes (route() answers 404, 405 and preflights before its gate).
bool waits_for_a_place(endpoint target) {
  return target == endpoint::list_attempts || target == endpoint::stream_attempts || target == endpoint::get_attempt;
}

// Failures that are the credential's fault (not the database's): they spend
// the client address's look-up budget.
bool is_credential_failure(const auth::auth_result& r) {
  const auto* err = std::get_if<auth::auth_error>(&r);
  return err && std::holds_alternative<auth::auth_failure>(*err);
}

}  // namespace

struct api_handler::state {
  state(std::unique_ptr<storage::read_router> own, storage::read_router& reads, handler_config c,
        server_metrics* m, const metrics_registry* r)
      : own_router(std::move(own)),
        router(reads),
        config(std::move(c)),
        authenticator(router, config.auth),
        org_limiter(config.org_limiter ? config.org_limiter : std::make_shared<rate_limiter>(config.rate_limit)),
        auth_failure_limiter(config.auth_failure_limiter
                                 ? config.auth_failure_limiter
                                 : std::make_shared<rate_limiter>(config.auth_failure_limit)),
        readiness(config.readiness ? config.readiness : std::make_shared<readiness_probe>()),
        cors(config.cors_origins),
        attempts(router, config),
        // The catch-up reads the log on the primary: a standby may not have
        // replayed up to the position the live tail (on the primary) reached.
        stream(router.primary(), config),
        metrics(m),
        registry(r),
        gate(config.active_requests_per_connection * router.primary().config().max_size) {}

  // Not a coroutine: takes the state now, while the handler object surely
  // exists; the request then owns it until its answer. Only with `can_stream`
  // may the answer be a stream.
  static asio::awaitable<handler_result> serve(const std::shared_ptr<state>& self, const http_request& req,
                                               const request_context& ctx, std::optional<storage::tenant_id> tenant,
                                               bool can_stream) {
    return self->router.primary().executor().run(answer(self, req, ctx, std::move(tenant), can_stream));
  }
  // `serve` for a whole response.
  static asio::awaitable<http_response> whole(const std::shared_ptr<state>& self, const http_request& req,
                                              const request_context& ctx, std::optional<storage::tenant_id> tenant) {
    return whole_answer(serve(self, req, ctx, std::move(tenant), false));
  }
  static asio::awaitable<http_response> whole_answer(asio::awaitable<handler_result> pending) {
    handler_result r = co_await std::move(pending);
    co_return std::move(std::get<http_response>(r));
  }
  // On the primary pool's executor from here on (replica pools hop onto their own).
  static asio::awaitable<handler_result> answer(std::shared_ptr<state> self, const http_request& req,
                                                const request_context& ctx, std::optional<storage::tenant_id> tenant,
                                                bool can_stream);
  asio::awaitable<handler_result> route(const http_request& req, const request_context& ctx,
                                        const storage::tenant_id* tenant, const std::string& request_id,
                                        bool can_stream);
  asio::awaitable<http_response> readyz(const std::string& request_id);
  asio::awaitable<handler_result> serve_api(const http_request& req, const request_context& ctx,
                                            const storage::tenant_id* tenant, const endpoint_match& match,
                                            std::string_view query, const std::string& request_id, bool can_stream,
                                            clock::time_point arrived);
  // The tenant of the request's credential, or the answer that refuses it.
  asio::awaitable<std::variant<storage::tenant_id, http_response>> authenticate(const auth::request_credentials& creds,
                                                                                 const request_context& ctx,
                                                                                 const request_scope& scope);

  std::unique_ptr<storage::read_router> own_router;  // when made from a pool alone
  storage::read_router& router;
  handler_config config;
  auth::authenticator authenticator;
  std::shared_ptr<rate_limiter> org_limiter;
  std::shared_ptr<rate_limiter> auth_failure_limiter;
  std::shared_ptr<readiness_probe> readiness;
  cors_policy cors;
  attempts_endpoint attempts;
  stream_endpoint stream;
  server_metrics* metrics;
  const metrics_registry* registry;
  std::atomic<std::size_t> in_flight{0};
  admission_gate gate;
};

api_handler::api_handler(storage::connection_pool& pool, handler_config config, server_metrics* metrics,
                         const metrics_registry* registry) {
  auto own = std::make_unique<storage::read_router>(pool);
  auto& router = *own;
  state_ = std::make_shared<state>(std::move(own), router, std::move(config), metrics, registry);
}

api_handler::api_handler(storage::read_router& reads, handler_config config, server_metrics* metrics,
                         const metrics_registry* registry)
    : state_(std::make_shared<state>(nullptr, reads, std::move(config), metrics, registry)) {}

api_handler::~api_handler() = default;

namespace {
// Not a default argument: a temporary context inside a caller's co_await
// expression is a lifetime GCC 12 gets wrong. One shared empty context.
const request_context unknown_transport;
}  // namespace

asio::awaitable<http_response> api_handler::handle(const http_request& request) {
  return state::whole(state_, request, unknown_transport, std::nullopt);
}

asio::awaitable<http_response> api_handler::handle(const http_request& request, const request_context& context) {
  return state::whole(state_, request, context, std::nullopt);
}

asio::awaitable<handler_result> api_handler::serve(const http_request& request, const request_context& context) {
  return state::serve(state_, request, context, std::nullopt, true);
}

asio::awaitable<http_response> api_handler::handle_for_tenant(const http_request& request, storage::tenant_id tenant,
                                                              const request_context& context) {
  return state::whole(state_, request, context, std::move(tenant));
}

asio::awaitable<http_response> api_handler::handle_for_tenant(const http_request& request, storage::tenant_id tenant) {
  return state::whole(state_, request, unknown_transport, std::move(tenant));
}

request_handler api_handler::as_request_handler() const {
  return [self = state_](const http_request& request, const request_context& context) {
    return state::whole(self, request, context, std::nullopt);
  };
}

streaming_request_handler api_handler::as_streaming_handler() const {
  return [self = state_](const http_request& request, const request_context& context) {
    return state::serve(self, request, context, std::nullopt, true);
  };
}

request_admission api_handler::admission() const {
  request_admission a;
  a.timeout = state_->config.acquire_timeout;
  a.gate_for = [self = state_](const http_request& request) -> admission_gate* {
    const std::string_view target = request.target();
    const auto match = match_endpoint(target.substr(0, target.find('?')));
    return match && request.method() == http::verb::get && waits_for_a_place(match->target) ? &self->gate : nullptr;
  };
  return a;
}

std::size_t api_handler::in_flight() const noexcept { return state_->in_flight.load(std::memory_order_relaxed); }

const storage::serial_executor& api_handler::executor() const noexcept { return state_->router.primary().executor(); }

asio::awaitable<handler_result> api_handler::state::answer(std::shared_ptr<state> self, const http_request& request,
                                                           const request_context& context,
                                                           std::optional<storage::tenant_id> tenant, bool can_stream) {
  // Cancellation (a client that hung up) makes the database steps return
  // errc::cancelled; no step should throw for it.
  co_await asio::this_coro::throw_if_cancelled(false);
  state& s = *self;
  const auto started = context.received.value_or(clock::now());
  std::string request_id;
  if (auto it = request.find("X-Request-Id"); it != request.end()) request_id = choose_request_id(it->value());
  else request_id = choose_request_id({});

  s.in_flight.fetch_add(1, std::memory_order_relaxed);
  if (s.metrics) s.metrics->in_flight_delta(1);
  handler_result answer;
  try {
    answer = co_await s.route(request, context, tenant ? &*tenant : nullptr, request_id, can_stream);
  } catch (const std::exception& e) {
    // Nothing a client sends should get here; if it does, answer and keep serving.
    std::fprintf(stderr, "request %s: unexpected exception: %s\n", request_id.c_str(), e.what());
    answer = error_response(http::status::internal_server_error, "internal error", request_id);
  } catch (...) {
    std::fprintf(stderr, "request %s: unexpected exception of unknown type\n", request_id.c_str());
    answer = error_response(http::status::internal_server_error, "internal error", request_id);
  }
  // A stream's head is all there is to decorate: its body is never compressed
  // (events must reach the client as they are written).
  http_response& head = std::holds_alternative<http_response>(answer) ? std::get<http_response>(answer)
                                                                       : std::get<streamed_response>(answer).head;
  s.cors.add_headers(request, head);
  if (std::holds_alternative<http_response>(answer)) compress_if_accepted(request, head, s.config.gzip_min_bytes);
  if (s.metrics) {
    s.metrics->in_flight_delta(-1);
    s.metrics->observe_request(head.result_int(), clock::now() - started);
    s.metrics->publish_pool(s.router.primary().stats());
    s.metrics->publish_admission(s.gate);
    s.metrics->publish_reads(s.router);
    s.metrics->publish_auth(s.authenticator.lookups());
    s.metrics->publish_row_cache(s.attempts.row_cache());
    s.metrics->publish_readiness_checks(s.readiness->checks());
  }
  s.in_flight.fetch_sub(1, std::memory_order_relaxed);
  if (auto* streamed = std::get_if<streamed_response>(&answer)) {
    // The body runs on stream_endpoint's state: the stream holds the handler's
    // state until it ends, like a request does.
    streamed->body = [self, body = std::move(streamed->body)](body_stream& out) { return body(out); };
  }
  co_return answer;
}

asio::awaitable<handler_result> api_handler::state::route(const http_request& req, const request_context& ctx,
                                                          const storage::tenant_id* tenant,
                                                          const std::string& request_id, bool can_stream) {
  const std::string_view target = req.target();
  const auto qmark = target.find('?');
  const std::string_view path = target.substr(0, qmark);
  const std::string_view query = qmark == std::string_view::npos ? std::string_view{} : target.substr(qmark + 1);

  const auto match = match_endpoint(path);
  if (!match) co_return error_response(http::status::not_found, "no such endpoint", request_id);
  if (req.method() == http::verb::options && match->api) co_return cors_policy::preflight_response(request_id);
  if (req.method() != http::verb::get) {
    auto res = error_response(http::status::method_not_allowed, "only GET is allowed here", request_id);
    res.set(http::field::allow, match->api ? "GET, OPTIONS" : "GET");
    co_return res;
  }
  switch (match->target) {
    case endpoint::healthz: co_return make_response(http::status::ok, "{\"status\":\"ok\"}", request_id);
    case endpoint::metrics:
      co_return make_response(http::status::ok, registry ? registry->render_prometheus() : std::string(), request_id,
                              "text/plain; version=0.0.4");
    case endpoint::readyz: co_return co_await readyz(request_id);
    case endpoint::openapi: co_return make_response(http::status::ok, openapi_document(), request_id);
    case endpoint::list_attempts:
    case endpoint::stream_attempts:
    case endpoint::get_attempt: {
      // Its turn first, before the chain of frames below is made (or before
      // the handler was called: request_admission); the wait counts against
      // the request's deadlines.
      const auto arrived = ctx.received.value_or(clock::now());
      std::optional<admission_gate::pass> pass;
      switch (ctx.admission) {
        case request_context::admission_outcome::admitted: break;  // the transport holds the place
        case request_context::admission_outcome::timed_out: co_return server_busy_response(request_id);
        case request_context::admission_outcome::not_asked:
          if (auto now = gate.try_enter()) {
            pass.emplace(std::move(*now));
          } else {
            auto waited = co_await gate.enter(arrived + config.acquire_timeout);
            if (!waited) co_return server_busy_response(request_id);  // (or its client left: read by nobody)
            pass.emplace(std::move(*waited));
          }
          break;
      }
      co_return co_await serve_api(req, ctx, tenant, *match, query, request_id, can_stream, arrived);
    }
  }
  co_return error_response(http::status::not_found, "no such endpoint", request_id);
}

asio::awaitable<http_response> api_handler::state::readyz(const std::string& request_id) {
  // Unauthenticated: the database is asked at most once per second per process,
  // whatever the call rate; other calls answer from the last result.
  if (readiness->claim_refresh(clock::now())) {
    const auto deadline = clock::now() + std::min(config.request_timeout, std::chrono::milliseconds(2000));
    auto ping = co_await router.primary().with_connection(
        [&](storage::pg_connection& conn) { return conn.execute("SELECT 1", {}, storage::result_format::binary, deadline); },
        std::min(deadline, clock::now() + config.acquire_timeout));
    readiness->publish(static_cast<bool>(ping), clock::now());
  }
  if (readiness->ready()) co_return make_response(http::status::ok, "{\"status\":\"ready\"}", request_id);
  auto res = error_response(http::status::service_unavailable, "the database is unavailable", request_id);
  res.set(http::field::retry_after, "1");
  co_return res;
}

asio::awaitable<handler_result> api_handler::state::serve_api(const http_request& req, const request_context& ctx,
                                                              const storage::tenant_id* resolved,
                                                              const endpoint_match& match, std::string_view query,
                                                              const std::string& request_id, bool can_stream,
                                                              clock::time_point arrived) {
  // 1. What the request alone decides: no credential, no database yet.
  std::optional<list_query> listing;
  std::optional<stream_query> streaming;
  if (match.target == endpoint::list_attempts) {
    auto parsed = attempts.parse_listing(query, request_id);
    if (auto* refused = std::get_if<http_response>(&parsed)) co_return std::move(*refused);
    listing = std::move(std::get<list_query>(parsed));
  } else if (match.target == endpoint::stream_attempts) {
    if (!can_stream)
      co_return error_response(http::status::not_implemented,
                               "the live tail needs a transport that streams: serve it with api_handler::serve "
                               "(http_listener does)",
                               request_id);
    std::string_view last_event_id;
    if (auto it = req.find("Last-Event-ID"); it != req.end()) last_event_id = it->value();
    auto parsed = stream.parse(query, last_event_id, request_id);
    if (auto* refused = std::get_if<http_response>(&parsed)) co_return std::move(*refused);
    streaming = std::move(std::get<stream_query>(parsed));
  } else if (!attempts_endpoint::plausible_attempt_id(match.id)) {
    co_return error_response(http::status::not_found, "no such delivery attempt", request_id);
  }
  const auto creds = credentials_of(req);
  if (!resolved && !auth::has_credentials(creds, authenticator.cookies_enabled()))
    co_return auth_failure_response(auth::auth_failure::missing_credential, request_id);

  const auto deadline = arrived + config.request_timeout;
  const request_scope scope{request_id, deadline, std::min(deadline, arrived + config.acquire_timeout)};

  // 2. Who is asking: the tenant the gateway resolved, or the credential's.
  storage::tenant_id tenant;
  if (resolved) {
    if (resolved->org_id.empty() || resolved->env_id.empty()) {
      std::fprintf(stderr, "request %s: handle_for_tenant was given an empty org or environment id\n",
                   request_id.c_str());
      co_return error_response(http::status::internal_server_error, "internal error", request_id);
    }
    tenant = *resolved;
  } else {
    auto who = co_await authenticate(creds, ctx, scope);
    if (auto* refused = std::get_if<http_response>(&who)) co_return std::move(*refused);
    tenant = std::move(std::get<storage::tenant_id>(who));
  }

  // 3. How often the org may ask.
  const rate_decision limit = org_limiter->take(tenant.org_id);
  if (!limit.allowed) {
    auto res = too_many_requests("rate limit exceeded for your organization; retry after " +
                                     std::to_string(limit.retry_after_s) + " s",
                                 limit.retry_after_s, request_id);
    set_rate_limit_headers(res, limit);
    co_return res;
  }

  // 4. The work.
  // (Separate statements, not ?: with a co_await on each side, which GCC 12 miscompiles.)
  if (streaming) {
    handler_result opened = co_await stream.open(tenant, std::move(*streaming), scope);
    if (org_limiter->enabled()) {
      if (auto* head = std::get_if<streamed_response>(&opened)) set_rate_limit_headers(head->head, limit);
      else set_rate_limit_headers(std::get<http_response>(opened), limit);
    }
    co_return opened;
  }
  http_response res;
  if (listing) res = co_await attempts.list(tenant, std::move(*listing), scope);
  else res = co_await attempts.get(tenant, match.id, scope);
  if (org_limiter->enabled()) set_rate_limit_headers(res, limit);
  co_return res;
}

asio::awaitable<std::variant<storage::tenant_id, http_response>> api_handler::state::authenticate(
    const auth::request_credentials& creds, const request_context& ctx, const request_scope& scope) {
  auto outcome = authenticator.outcome_without_lookup(creds);
  if (!outcome) {
    // A look-up is needed. Each address has a budget of look-ups that find no
    // valid credential: spent only by those failures (valid keys, however many
    // miss the cache at once, never spend it), checked before every look-up.
    // Past it the address gets 429 without a look-up, so random keys cannot
    // turn into database load.
    const rate_decision budget = auth_failure_limiter->peek(ctx.client_address);
    if (!budget.allowed)
      co_return too_many_requests("too many failed authentication attempts from your address; retry after " +
                                      std::to_string(budget.retry_after_s) + " s",
                                  budget.retry_after_s, scope.request_id);
    outcome = co_await authenticator.authenticate(creds, scope.acquire_deadline, scope.deadline);
    if (is_credential_failure(*outcome)) auth_failure_limiter->spend(ctx.client_address);
  }
  if (auto* tenant = std::get_if<storage::tenant_id>(&*outcome)) co_return std::move(*tenant);
  const auto& err = std::get<auth::auth_error>(*outcome);
  if (auto* db = std::get_if<storage::db_error>(&err)) co_return database_error_response(*db, scope.request_id);
  co_return auth_failure_response(std::get<auth::auth_failure>(err), scope.request_id);
}

}  // namespace hookstream::server
