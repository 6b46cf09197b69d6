// GET /v1/delivery-attempts/stream: the live tail, as Server-Sent Events.
//
// api_handler calls it with an authenticated, rate-limited tenant; like the
// listing endpoint, nothing here decides who the caller is.
//
// The stream: `retry: 2000` (EventSource's reconnection delay), then for each
// new or changed attempt that passes the filters
//     event: attempt
//     id: <stream cursor>
//     data: <the attempt, byte for byte as the listing renders it>
// and every `heartbeat` period
//     event: heartbeat
//     id: <stream cursor of everything sent so far>
//     data: {}
// A heartbeat's id moves the client's Last-Event-ID forward while nothing of
// its own happens, so that a quiet subscriber's cursor does not age out of
// the log's retention.
//
// Resuming: `Last-Event-ID` (or `?cursor=`; the header wins, as EventSource
// sends it on reconnection while its URL keeps the first cursor). The events
// after it are read from the table first (from the head's answer on: the first
// page is read before the head, so an expired cursor is a 410 and a database
// fault a 503/504, as whole answers), while live events queue; then the queue.
//
// Ends: `event: overflow` when the subscriber's queue passed its bounds (the
// client fell behind), `event: error` when a catch-up read failed mid-stream
// (its data is the usual error body: 410 for a pruned cursor, 503/504 for the
// database); then the connection closes and the client resumes with its
// Last-Event-ID. A server shutdown just ends the stream.
#pragma once

#include "attempts_endpoint.hpp"
#include "live_tail_shard.hpp"

#include <hookstream/server/api_handler.hpp>
#include <hookstream/server/list_query.hpp>

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace hookstream::server {

/// A validated stream request: the listing's filters and a resume cursor.
struct stream_query {
  storage::attempt_filter filter;
  std::optional<std::string> cursor;  ///< still encoded; shape checked
};

class stream_endpoint {
 public:
  /// `pool`, `config` and the hub (config.live_tail, may be null) must
  /// outlive the endpoint. Attaches this thread's shard to the hub.
  stream_endpoint(storage::connection_pool& pool, const handler_config& config);
  ~stream_endpoint();
  stream_endpoint(const stream_endpoint&) = delete;
  stream_endpoint& operator=(const stream_endpoint&) = delete;

  /// The filters (as the listing's; `limit` and `offset` are ignored) and the
  /// cursor's shape: a 400 answer, or the query. No credential, no database.
  std::variant<stream_query, http_response> parse(std::string_view query, std::string_view last_event_id,
                                                  const std::string& request_id) const;

  /// Opens the stream for `tenant`: the cursor's signature, the subscriber
  /// limits, the first catch-up page; then the streamed response.
  boost::asio::awaitable<handler_result> open(const storage::tenant_id& tenant, stream_query query,
                                              const request_scope& scope);

 private:
  struct replay_page;
  struct open_stream;
  boost::asio::awaitable<storage::db_result<replay_page>> read_replay(const live_subscriber& sub,
                                                                      storage::event_position after,
                                                                      storage::clock::time_point acquire_deadline);
  static boost::asio::awaitable<void> run(stream_endpoint* self, body_stream& out, std::shared_ptr<open_stream> s);

  storage::connection_pool& pool_;
  const handler_config& config_;
  live_tail_hub* hub_;
  std::shared_ptr<live_tail_shard> shard_;
  storage::route_name_cache names_;
};

}  // namespace hookstream::server
