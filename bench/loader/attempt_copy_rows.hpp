// The rows of the events and delivery_attempts tables, in COPY text format: one
// event's row, and all attempts of one event (its retries, its dead-lettering,
// a manual replay), with request and response headers and bodies.
#pragma once

#include "dataset.hpp"
#include "pg_session.hpp"

#include <string>

namespace hookstream::bench_load {

/// Counts of what was generated, for the summary on stderr.
struct Stats {
  u64 attempts = 0, success = 0, failed = 0, retrying = 0, pending = 0, dlq = 0, body_bytes = 0;
  u64 empty_bodies = 0, big_bodies = 0;
};

/// Appends the events row of `p`.
void put_event_row(std::string& b, const Env& env, const Plan& p);

/// Buffers reused from one event to the next.
struct AttemptScratch {
  std::string body, trace;
};

/// Writes all attempts of one event into `out`, drawing their details from `r`
/// (positioned by EventWalker after the plan's own draws).
void put_attempt_rows(CopyStream& out, const Env& env, const Plan& p, Rng& r, Stats& st, AttemptScratch& s);

}  // namespace hookstream::bench_load
