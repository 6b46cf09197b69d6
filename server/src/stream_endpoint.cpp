#include "stream_endpoint.hpp"

#include <hookstream/encoding/ascii.hpp>
#include <hookstream/server/attempt_json.hpp>
#include <hookstream/server/http_errors.hpp>

#include <boost/asio/this_coro.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>

namespace hookstream::server {
namespace asio = boost::asio;
namespace http = boost::beast::http;
using storage::clock;
using storage::event_position;

namespace {

// A write takes at most this many queued frames (and about this many bytes):
// one syscall for a burst, without building huge gathers.
constexpr std::size_t frames_per_write = 256;
constexpr std::size_t bytes_per_write = 256 * 1024;

const std::string retry_hint = "retry: 2000\n\n";

std::string heartbeat_frame(std::string_view cursor) {
  std::string f = "event: heartbeat\nid: ";
  f += cursor;
  f += "\ndata: {}\n\n";
  return f;
}

std::string end_frame(std::string_view event, std::string_view data) {
  std::string f = "event: ";
  f += event;
  f += "\ndata: ";
  f += data;
  f += "\n\n";
  return f;
}

asio::awaitable<bool> write_text(body_stream& out, const std::string& text) {
  const asio::const_buffer piece(text.data(), text.size());
  co_return !(co_await out.write(std::span<const asio::const_buffer>(&piece, 1)));
}

}  // namespace

struct stream_endpoint::replay_page {
  std::vector<std::string> frames;
  std::vector<event_position> positions;
  bool expired = false;
  bool complete = false;
};

// Everything a running stream owns: its place among the subscribers (the
// ticket), its registration on this thread's shard, the first catch-up page.
struct stream_endpoint::open_stream {
  open_stream(std::shared_ptr<live_tail_shard> s, asio::any_io_executor ex, const storage::tenant_id& tenant,
              storage::attempt_filter filter, std::optional<event_position> after,
              live_subscriber::limits limits, live_tail_hub& hub, subscription_ticket t, std::string id)
      : shard(std::move(s)),
        subscriber(std::move(ex), tenant, std::move(filter), after, limits, hub),
        ticket(std::move(t)),
        request_id(std::move(id)) {
    shard->add(subscriber);
  }
  ~open_stream() { shard->remove(subscriber); }

  std::shared_ptr<live_tail_shard> shard;
  live_subscriber subscriber;
  subscription_ticket ticket;
  std::optional<replay_page> first;
  std::string request_id;
};

stream_endpoint::stream_endpoint(storage::connection_pool& pool, const handler_config& config)
    : pool_(pool), config_(config), hub_(config.live_tail.get()), names_(config.route_names) {
  if (hub_) shard_ = hub_->attach(pool_.executor().get());
}

stream_endpoint::~stream_endpoint() {
  if (hub_) hub_->detach(shard_);
}

std::variant<stream_query, http_response> stream_endpoint::parse(std::string_view query,
                                                                 std::string_view last_event_id,
                                                                 const std::string& request_id) const {
  auto parsed = parse_list_query(query);
  if (auto* bad = std::get_if<invalid_parameter>(&parsed))
    return error_response(http::status::bad_request, bad->message, request_id);
  auto& list = std::get<list_query>(parsed);
  stream_query q{std::move(list.request.filter), std::move(list.cursor)};
  // EventSource sends the last id it saw when it reconnects, while its URL
  // still holds the cursor it started with: the header is the newer one.
  if (const auto id = encoding::trim_blanks(last_event_id); !id.empty()) q.cursor = std::string(id);
  if (q.cursor && !cursor_codec::stream_well_formed(*q.cursor))
    return error_response(http::status::bad_request,
                          "cursor is not valid: resume with the id of an event of this stream (Last-Event-ID)",
                          request_id);
  return q;
}

asio::awaitable<storage::db_result<stream_endpoint::replay_page>> stream_endpoint::read_replay(
    const live_subscriber& sub, event_position after, clock::time_point acquire_deadline) {
  const auto& cfg = hub_->config();
  const storage::event_read_limits limits{cfg.read_events, cfg.field_bytes, cfg.read_bytes};
  const auto deadline = clock::now() + config_.request_timeout;
  auto read = co_await pool_.with_connection(
      [&](storage::pg_connection& conn) -> asio::awaitable<storage::db_result<storage::tenant_event_page>> {
        auto page = co_await storage::read_tenant_events(conn, sub.tenant(), sub.filter(), after, sub.live_from(),
                                                         limits, deadline);
        if (!page) co_return page.error();
        if (auto named = co_await names_.resolve(conn, sub.tenant(), page->rows, deadline); !named)
          co_return named.error();
        co_return page;
      },
      acquire_deadline);
  if (!read) co_return read.error();
  replay_page out;
  out.expired = read->expired;
  out.complete = read->complete;
  out.positions = std::move(read->positions);
  out.frames.reserve(out.positions.size());
  std::string json;
  for (int i = 0; i < read->rows.size(); ++i) {
    json.clear();
    append_attempt(json, read->rows[i]);
    out.frames.push_back(attempt_frame(
        hub_->cursors().encode_stream(out.positions[static_cast<std::size_t>(i)], sub.tenant(), sub.fingerprint()),
        json));
  }
  co_return out;
}

asio::awaitable<handler_result> stream_endpoint::open(const storage::tenant_id& tenant, stream_query query,
                                                      const request_scope& scope) {
  if (!hub_)
    co_return error_response(http::status::service_unavailable, "the live tail is not enabled on this server",
                             scope.request_id);
  const auto& cfg = hub_->config();
  std::optional<event_position> after;
  if (query.cursor) {
    auto decoded = hub_->cursors().decode_stream(*query.cursor, tenant, fingerprint_of(query.filter));
    if (auto* err = std::get_if<cursor_error>(&decoded))
      co_return error_response(
          http::status::bad_request,
          *err == cursor_error::other_filters
              ? "cursor was made for other filters: send the same filters with it, or start over without it"
              : "cursor is not valid: resume with the id of an event of this stream (Last-Event-ID)",
          scope.request_id);
    after = std::get<event_position>(decoded);
  }

  auto admitted = hub_->admit(tenant);
  if (auto* refused = std::get_if<admission_refusal>(&admitted)) {
    if (*refused == admission_refusal::tenant_limit)
      co_return too_many_requests("too many live tail streams are open for your environment (at most " +
                                      std::to_string(cfg.max_subscribers_per_tenant) +
                                      "); close one or retry later",
                                  5, scope.request_id);
    auto res = error_response(http::status::service_unavailable,
                              "this server has as many live tail streams as it takes; retry shortly",
                              scope.request_id);
    res.set(http::field::retry_after, "5");
    co_return res;
  }
  if (!shard_->horizon()) {
    // The hub has not reached the database since the process started.
    auto res = error_response(http::status::service_unavailable,
                              "the live tail is connecting to the database; retry shortly", scope.request_id);
    res.set(http::field::retry_after, "1");
    co_return res;
  }

  auto stream = std::make_shared<open_stream>(
      shard_, pool_.executor().get(), tenant, std::move(query.filter), after,
      live_subscriber::limits{cfg.subscriber_buffer_events, cfg.subscriber_buffer_bytes}, *hub_,
      std::move(std::get<subscription_ticket>(admitted)), scope.request_id);

  // The first catch-up page before the head: an expired cursor or a database
  // fault is still a whole answer with its status.
  if (after && *after < stream->subscriber.live_from()) {
    auto page = co_await read_replay(stream->subscriber, *after, scope.acquire_deadline);
    if (!page) co_return database_error_response(page.error(), scope.request_id);
    if (page->expired)
      co_return error_response(http::status::gone,
                               "the cursor is older than the live tail keeps (" +
                                   std::to_string(cfg.retention.count()) +
                                   " s): read the listing again, then open the stream without a cursor",
                               scope.request_id);
    stream->first = std::move(*page);
  }

  streamed_response res;
  res.head = make_response(http::status::ok, {}, scope.request_id, "text/event-stream");
  // Proxies that buffer responses (nginx) would hold events back.
  res.head.set("X-Accel-Buffering", "no");
  res.body = [this, stream](body_stream& out) { return run(this, out, stream); };
  co_return res;
}

asio::awaitable<void> stream_endpoint::run(stream_endpoint* self, body_stream& out, std::shared_ptr<open_stream> s) {
  // Stop requests arrive as cancellation: waits end, nothing throws.
  co_await asio::this_coro::throw_if_cancelled(false);
  live_subscriber& sub = s->subscriber;
  const auto& cfg = self->hub_->config();
  const auto& cursors = self->hub_->cursors();
  auto next_heartbeat = clock::now() + cfg.heartbeat;
  auto stopped = [&] { return out.stop_requested() != body_stream::stop_reason::none; };
  auto heartbeat = [&] {
    next_heartbeat = clock::now() + cfg.heartbeat;
    return heartbeat_frame(cursors.encode_stream(sub.resume_position(), sub.tenant(), sub.fingerprint()));
  };
  std::vector<asio::const_buffer> pieces;

  if (!co_await write_text(out, retry_hint)) co_return;

  // Catch-up: the table up to where the live batches start.
  std::optional<replay_page> page = std::move(s->first);
  event_position at = sub.resume_position();
  while (at < sub.live_from()) {
    if (!page) {
      if (stopped()) co_return;
      if (clock::now() >= next_heartbeat) {
        const bool written = co_await write_text(out, heartbeat());
        if (!written) co_return;
      }
      auto read = co_await self->read_replay(sub, at, clock::now() + self->config_.acquire_timeout);
      if (stopped()) co_return;
      if (!read || read->expired) {
        const http_response why =
            !read ? database_error_response(read.error(), s->request_id)
                  : error_response(http::status::gone,
                                   "the stream's position is older than the live tail keeps: read the listing "
                                   "again, then open the stream without a cursor",
                                   s->request_id);
        co_await write_text(out, end_frame("error", why.body()));
        co_return;
      }
      page = std::move(*read);
    }
    if (!page->frames.empty()) {
      pieces.clear();
      for (const auto& f : page->frames) pieces.emplace_back(f.data(), f.size());
      if (co_await out.write(pieces)) co_return;
      at = page->positions.back();
      sub.wrote(at);
    }
    if (page->complete) {
      at = sub.live_from();
      sub.wrote(at);
    }
    page.reset();
  }

  // Live: the queue the shard fills.
  std::vector<live_subscriber::frame> taken;
  for (;;) {
    if (stopped()) co_return;
    if (sub.overflowed()) {
      const std::string why = error_response(http::status::service_unavailable,
                                             "the stream fell behind (more than " +
                                                 std::to_string(cfg.subscriber_buffer_events) + " events or " +
                                                 std::to_string(cfg.subscriber_buffer_bytes) +
                                                 " bytes waiting): reconnect with Last-Event-ID to resume",
                                             s->request_id)
                                  .body();
      co_await write_text(out, end_frame("overflow", why));
      co_return;
    }
    if (sub.has_frames()) {
      taken.clear();
      sub.take(taken, frames_per_write, bytes_per_write);
      pieces.clear();
      for (const auto& f : taken) pieces.emplace_back(f.bytes->data(), f.bytes->size());
      if (co_await out.write(pieces)) co_return;
      sub.wrote(taken.back().position);
      continue;
    }
    if (clock::now() >= next_heartbeat) {
      if (!co_await write_text(out, heartbeat())) co_return;
      continue;
    }
    co_await sub.wait(next_heartbeat);
  }
}

}  // namespace hookstream::server
