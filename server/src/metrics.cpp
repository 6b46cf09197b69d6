#include <hookstream/server/live_tail.hpp>
#include <hookstream/server/metrics.hpp>

#include <algorithm>
#include <cstdio>

namespace hookstream::server {

void server_metrics::observe_request(unsigned status, std::chrono::steady_clock::duration elapsed) noexcept {
  const unsigned cls = status / 100;
  add(by_status_class_[cls >= 1 && cls <= 5 ? cls : 0], std::uint64_t{1});
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count();
  const double seconds = static_cast<double>(us) / 1e6;
  std::size_t bucket = 0;
  while (bucket < latency_bounds.size() && seconds > latency_bounds[bucket]) ++bucket;
  add(latency_[bucket], std::uint64_t{1});
  add(latency_sum_us_, static_cast<std::uint64_t>(us));
}

void server_metrics::observe_loop_lag(std::chrono::steady_clock::duration lag,
                                      std::optional<std::chrono::steady_clock::duration> stall) noexcept {
  auto observe = [](histogram& h, std::chrono::steady_clock::duration d) {
    const auto us = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
    const double seconds = static_cast<double>(us) / 1e6;
    std::size_t bucket = 0;
    while (bucket < lag_bounds.size() && seconds > lag_bounds[bucket]) ++bucket;
    add(h.buckets[bucket], std::uint64_t{1});
    add(h.sum_us, us);
    auto seen = h.max_us.load(std::memory_order_relaxed);
    while (us > seen && !h.max_us.compare_exchange_weak(seen, us, std::memory_order_relaxed)) {
    }
  };
  observe(lag_, lag);
  if (stall) observe(stall_, *stall);
}

void server_metrics::publish_pool(const storage::pool_stats& s) noexcept {
  constexpr auto r = std::memory_order_relaxed;
  pool_idle_.store(s.idle, r);
  pool_in_use_.store(s.in_use, r);
  pool_waiting_.store(s.waiting, r);
  pool_connecting_.store(s.connecting, r);
  pool_exhausted_.store(s.exhausted, r);
  pool_timed_out_.store(s.timed_out, r);
  pool_connect_failures_.store(s.connect_failures, r);
  pool_recovering_.store(s.recovering, r);
  pool_database_down_.store(s.database_down ? 1 : 0, r);
  pool_refused_down_.store(s.refused_down, r);
  pool_stale_.store(s.stale, r);
  pool_recoveries_.store(s.recoveries, r);
  pool_recovered_.store(s.recovered, r);
  pool_retries_.store(s.retries, r);
  pool_acquired_.store(s.acquired, r);
  pool_joined_.store(s.joined, r);
  pool_waited_.store(s.waited, r);
  pool_wait_ns_.store(s.wait_ns, r);
  pool_unnamed_.store(s.unnamed_statements ? 1 : 0, r);
}

void server_metrics::publish_admission(const admission_gate& gate) noexcept {
  constexpr auto r = std::memory_order_relaxed;
  const admission_gate::totals& t = gate.counts();
  admission_active_.store(gate.active(), r);
  admission_waiting_.store(gate.waiting(), r);
  admission_admitted_.store(t.admitted, r);
  admission_waited_.store(t.waited, r);
  admission_wait_ns_.store(
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(t.wait_time).count()), r);
  admission_timed_out_.store(t.timed_out, r);
  admission_gave_up_.store(t.gave_up, r);
}

void server_metrics::publish_row_cache(const storage::attempt_row_cache& cache) noexcept {
  constexpr auto r = std::memory_order_relaxed;
  row_cache_bytes_.store(cache.bytes(), r);
  row_cache_rows_.store(cache.size(), r);
  const auto& p = cache.pages();
  row_cache_pages_[0].store(p.all_cached, r);
  row_cache_pages_[1].store(p.completed_by_key, r);
  row_cache_pages_[2].store(p.read_whole, r);
  row_cache_pages_[3].store(p.read_again, r);
  row_cache_pages_[4].store(p.missed, r);
}

void server_metrics::publish_reads(const storage::read_router& router) noexcept {
  constexpr auto r = std::memory_order_relaxed;
  const std::size_t servers = std::min(reads_.size(), 1 + router.replica_count());
  for (std::size_t i = 0; i < servers; ++i) reads_[i].store(router.reads(i), r);
  read_fallbacks_.store(router.fallbacks(), r);
  replicas_.store(servers - 1, r);
}

server_metrics& metrics_registry::add_worker() {
  workers_.push_back(std::make_unique<server_metrics>());
  return *workers_.back();
}

std::string metrics_registry::render_prometheus() const {
  constexpr auto r = std::memory_order_relaxed;
  std::string out;
  auto line = [&](const std::string& s) { out += s + "\n"; };
  auto sum = [&](auto member) {
    std::uint64_t t = 0;
    for (const auto& w : workers_) t += ((*w).*member).load(r);
    return t;
  };
  // A seconds value as every sum, maximum and total here prints it.
  auto seconds_text = [](double seconds) {
    char text[64];
    std::snprintf(text, sizeof text, "%.6f", seconds);
    return std::string(text);
  };
  // One unlabelled sample with its HELP and TYPE lines.
  auto sample = [&](const std::string& name, const std::string& help, const char* type, const std::string& value) {
    line("# HELP " + name + " " + help);
    line("# TYPE " + name + " " + type);
    line(name + " " + value);
  };

  line("# HELP hookstream_http_requests_total HTTP requests answered, by status class.");
  line("# TYPE hookstream_http_requests_total counter");
  static const char* classes[] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
  for (std::size_t c = 0; c < 6; ++c) {
    std::uint64_t t = 0;
    for (const auto& w : workers_) t += w->by_status_class_[c].load(r);
    line(std::string("hookstream_http_requests_total{class=\"") + classes[c] + "\"} " + std::to_string(t));
  }

  line("# HELP hookstream_http_request_duration_seconds Time from parsed request to response ready.");
  line("# TYPE hookstream_http_request_duration_seconds histogram");
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b <= server_metrics::latency_bounds.size(); ++b) {
    for (const auto& w : workers_) cumulative += w->latency_[b].load(r);
    char le[32];
    if (b < server_metrics::latency_bounds.size())
      std::snprintf(le, sizeof le, "%g", server_metrics::latency_bounds[b]);
    else
      std::snprintf(le, sizeof le, "+Inf");
    line(std::string("hookstream_http_request_duration_seconds_bucket{le=\"") + le + "\"} " +
         std::to_string(cumulative));
  }
  line("hookstream_http_request_duration_seconds_sum " +
       seconds_text(static_cast<double>(sum(&server_metrics::latency_sum_us_)) / 1e6));
  line("hookstream_http_request_duration_seconds_count " + std::to_string(cumulative));

  auto loop_histogram = [&](const char* name, const char* help, server_metrics::histogram server_metrics::*member) {
    line(std::string("# HELP ") + name + "_seconds " + help);
    line(std::string("# TYPE ") + name + "_seconds histogram");
    std::uint64_t cumulative_count = 0, sum_us = 0, max_us = 0;
    for (std::size_t b = 0; b <= server_metrics::lag_bounds.size(); ++b) {
      for (const auto& w : workers_) cumulative_count += ((*w).*member).buckets[b].load(r);
      char le[32];
      if (b < server_metrics::lag_bounds.size()) std::snprintf(le, sizeof le, "%g", server_metrics::lag_bounds[b]);
      else std::snprintf(le, sizeof le, "+Inf");
      line(std::string(name) + "_seconds_bucket{le=\"" + le + "\"} " + std::to_string(cumulative_count));
    }
    for (const auto& w : workers_) {
      sum_us += ((*w).*member).sum_us.load(r);
      max_us = std::max(max_us, ((*w).*member).max_us.load(r));
    }
    line(std::string(name) + "_seconds_sum " + seconds_text(static_cast<double>(sum_us) / 1e6));
    line(std::string(name) + "_seconds_count " + std::to_string(cumulative_count));
    sample(std::string(name) + "_max_seconds", "The largest since start.", "gauge",
           seconds_text(static_cast<double>(max_us) / 1e6));
  };
  loop_histogram("hookstream_event_loop_lag", "How late worker loops ran a periodic timer (what requests feel).",
                 &server_metrics::lag_);
  loop_histogram("hookstream_event_loop_stall",
                 "The part of that lag a worker loop was itself busy (hookstream's own code, not CPU starvation).",
                 &server_metrics::stall_);

  std::int64_t in_flight = 0;
  for (const auto& w : workers_) in_flight += w->in_flight_.load(r);
  sample("hookstream_http_requests_in_flight",
         "Requests being handled now (not those waiting for a place, which http_listener holds back: "
         "hookstream_api_requests_waiting).",
         "gauge", std::to_string(in_flight));

  auto gauge = [&](const char* name, const char* help, auto member, const char* type = "gauge") {
    sample(name, help, type, std::to_string(sum(member)));
  };
  gauge("hookstream_api_requests_active", "API requests holding a place to work (admission gate).",
        &server_metrics::admission_active_);
  gauge("hookstream_api_requests_waiting", "API requests waiting for a place to work (admission gate).",
        &server_metrics::admission_waiting_);
  gauge("hookstream_api_admissions_total", "API requests given a place to work (admission gate).",
        &server_metrics::admission_admitted_, "counter");
  gauge("hookstream_api_admission_waits_total", "Of those, the ones that first waited in the gate's queue.",
        &server_metrics::admission_waited_, "counter");
  sample("hookstream_api_admission_wait_seconds_total", "Their time waiting, summed.", "counter",
         seconds_text(static_cast<double>(sum(&server_metrics::admission_wait_ns_)) / 1e9));
  gauge("hookstream_api_admission_timeouts_total",
        "API requests that waited for a place past handler_config::acquire_timeout (answered 503).",
        &server_metrics::admission_timed_out_, "counter");
  gauge("hookstream_api_admission_abandoned_total", "API requests whose client hung up while they waited for a place.",
        &server_metrics::admission_gave_up_, "counter");
  gauge("hookstream_db_pool_idle", "Idle database connections.", &server_metrics::pool_idle_);
  gauge("hookstream_db_pool_in_use", "Database connections on loan.", &server_metrics::pool_in_use_);
  gauge("hookstream_db_pool_waiting", "Requests waiting for a connection.", &server_metrics::pool_waiting_);
  gauge("hookstream_db_pool_connecting", "Connections being opened.", &server_metrics::pool_connecting_);
  gauge("hookstream_db_pool_acquires_total", "Connections lent (each request's read takes one, a retried one two).",
        &server_metrics::pool_acquired_, "counter");
  gauge("hookstream_db_pool_shared_acquires_total",
        "Of those, reads that shared a connection already lent, their statements pipelined (--pipeline-depth).",
        &server_metrics::pool_joined_, "counter");
  gauge("hookstream_db_pool_waits_total", "Of those, the ones that waited for a connection to be freed or opened.",
        &server_metrics::pool_waited_, "counter");
  sample("hookstream_db_pool_wait_seconds_total", "Their time waiting, summed.", "counter",
         seconds_text(static_cast<double>(sum(&server_metrics::pool_wait_ns_)) / 1e9));
  gauge("hookstream_db_pool_exhausted_total", "Acquires refused: waiter queue full.",
        &server_metrics::pool_exhausted_, "counter");
  gauge("hookstream_db_pool_acquire_timeouts_total", "Acquires past their deadline.",
        &server_metrics::pool_timed_out_, "counter");
  gauge("hookstream_db_pool_connect_failures_total", "Failed connection attempts.",
        &server_metrics::pool_connect_failures_, "counter");
  gauge("hookstream_db_pool_recovering", "Connections whose interrupted statement is being cancelled.",
        &server_metrics::pool_recovering_);
  gauge("hookstream_db_pool_database_down", "Workers whose pool knows the database is down (0 or the worker count).",
        &server_metrics::pool_database_down_);
  gauge("hookstream_db_pool_refused_down_total", "Acquires failed at once while the database was known down.",
        &server_metrics::pool_refused_down_, "counter");
  gauge("hookstream_db_pool_stale_total", "Idle connections found closed by the server before being lent.",
        &server_metrics::pool_stale_, "counter");
  gauge("hookstream_db_pool_cancels_total", "Interrupted statements cancelled on the server.",
        &server_metrics::pool_recoveries_, "counter");
  gauge("hookstream_db_pool_cancels_recovered_total", "Connections reused after their statement was cancelled.",
        &server_metrics::pool_recovered_, "counter");
  gauge("hookstream_db_retries_total", "Read-only work run again on a fresh connection after losing one.",
        &server_metrics::pool_retries_, "counter");
  gauge("hookstream_db_unnamed_statements",
        "Workers whose pool uses unnamed statements and transaction-local settings (behind a transaction pooler).",
        &server_metrics::pool_unnamed_);

  std::size_t replicas = 0;
  for (const auto& w : workers_) replicas = std::max(replicas, w->replicas_.load(r));
  if (replica_health_) replicas = std::max(replicas, std::min(replica_health_->size(), server_metrics::max_replicas));
  line("# HELP hookstream_db_reads_total Reads (listings, attempts, credential look-ups) answered, by server.");
  line("# TYPE hookstream_db_reads_total counter");
  for (std::size_t i = 0; i <= replicas; ++i) {
    std::uint64_t t = 0;
    for (const auto& w : workers_) t += w->reads_[i].load(r);
    line(std::string("hookstream_db_reads_total{server=\"") + (i == 0 ? "primary" : "replica" + std::to_string(i)) +
         "\"} " + std::to_string(t));
  }
  gauge("hookstream_db_read_fallbacks_total", "Reads that failed on a replica and were answered by the primary.",
        &server_metrics::read_fallbacks_, "counter");
  if (replica_health_) {
    const auto now = std::chrono::steady_clock::now();
    std::vector<storage::replica_health::view> views;
    for (std::size_t i = 0; i < replica_health_->size(); ++i) views.push_back(replica_health_->state(i, now));
    auto per_replica = [&](const char* name, const char* help, const char* type, auto value) {
      line(std::string("# HELP ") + name + " " + help);
      line(std::string("# TYPE ") + name + " " + type);
      for (std::size_t i = 0; i < views.size(); ++i)
        line(std::string(name) + "{replica=\"" + std::to_string(i + 1) + "\"} " + value(views[i]));
    };
    auto flag = [](bool b) { return std::string(b ? "1" : "0"); };
    per_replica("hookstream_replica_usable", "1 when the replica may serve reads now.", "gauge",
                [&](const auto& v) { return flag(v.usable); });
    per_replica("hookstream_replica_reachable", "1 when the replica answered its last check.", "gauge",
                [&](const auto& v) { return flag(v.reachable); });
    per_replica("hookstream_replica_in_recovery", "pg_is_in_recovery() of the replica at its last check.", "gauge",
                [&](const auto& v) { return flag(v.in_recovery); });
    per_replica("hookstream_replica_lag_seconds",
                "Upper bound of the replica's replay lag behind the primary (NaN: unknown).", "gauge",
                [&](const auto& v) {
                  if (!v.measured) return std::string("NaN");
                  char text[32];
                  std::snprintf(text, sizeof text, "%.3f", std::chrono::duration<double>(v.lag).count());
                  return std::string(text);
                });
    per_replica("hookstream_replica_checks_total", "Checks of the replica made by the lag monitor.", "counter",
                [&](const auto& v) { return std::to_string(v.checks); });
  }
  gauge("hookstream_auth_lookups_total", "Credential look-ups sent to the database (cache misses).",
        &server_metrics::auth_lookups_, "counter");
  gauge("hookstream_row_cache_bytes", "Bytes of listing rows kept by the row caches (all workers).",
        &server_metrics::row_cache_bytes_);
  gauge("hookstream_row_cache_rows", "Listing rows kept by the row caches (all workers).",
        &server_metrics::row_cache_rows_);
  line("# HELP hookstream_row_cache_pages_total Listing pages by how they were read: every row from the row cache "
       "(cached), the missing rows by key (by_key), whole (whole; also counts the next two), whole after a row "
       "changed between the two statements (again), whole after too many rows were missing (missed).");
  line("# TYPE hookstream_row_cache_pages_total counter");
  const char* const page_kinds[] = {"cached", "by_key", "whole", "again", "missed"};
  for (std::size_t k = 0; k < 5; ++k) {
    std::uint64_t t = 0;
    for (const auto& w : workers_) t += w->row_cache_pages_[k].load(r);
    line(std::string("hookstream_row_cache_pages_total{read=\"") + page_kinds[k] + "\"} " + std::to_string(t));
  }
  std::uint64_t readiness_checks = 0;  // one probe per process: every worker publishes the same figure
  for (const auto& w : workers_) readiness_checks = std::max(readiness_checks, w->readiness_checks_.load(r));
  sample("hookstream_readiness_checks_total", "Database checks made for /readyz.", "counter",
         std::to_string(readiness_checks));

  if (live_tail_) {
    const live_tail_stats t = live_tail_->stats();
    auto figure = [&](const char* name, const char* help, std::uint64_t value, const char* type) {
      sample(name, help, type, std::to_string(value));
    };
    figure("hookstream_stream_subscribers", "Live tail streams open now.", t.subscribers, "gauge");
    figure("hookstream_stream_listener_connected", "1 while the live tail's listening connection is up.",
           t.connected ? 1 : 0, "gauge");
    figure("hookstream_stream_listener_connects_total", "Times the listening connection was (re)opened.",
           t.listener_connects, "counter");
    figure("hookstream_stream_listener_failures_total", "Failed connects and lost listening connections.",
           t.listener_failures, "counter");
    figure("hookstream_stream_log_reads_total", "Reads of the event log.", t.reads, "counter");
    figure("hookstream_stream_events_total", "Events read from the log (before fan-out).", t.events_read,
           "counter");
    figure("hookstream_stream_overflows_total", "Streams closed because their client fell behind.", t.overflows,
           "counter");
    figure("hookstream_stream_refused_tenant_limit_total", "Streams refused: the tenant's limit (429).",
           t.refused_tenant_limit, "counter");
    figure("hookstream_stream_refused_process_limit_total", "Streams refused: the process's limit (503).",
           t.refused_process_limit, "counter");
    figure("hookstream_stream_pruned_events_total", "Events this process pruned from the log.", t.pruned_events,
           "counter");
  }
  return out;
}

}  // namespace hookstream::server
