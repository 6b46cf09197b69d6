// The load's passes, each a set of COPY streams on the load's one connection:
// the catalogue (organisations, owners, a session, environments, connections,
// destinations, API keys), then every environment's events, then its attempts.
// With a null connection (--dry-run) the rows are generated and thrown away.
#pragma once

#include "attempt_copy_rows.hpp"
#include "dataset.hpp"

#include <libpq-fe.h>

#include <string>
#include <vector>

namespace hookstream::bench_load {

/// The hot org owner's better-auth session token (deterministic, from the org id).
std::string session_token(const Dataset& d);

/// Organisations, owners, environments, connections, destinations, API keys.
void load_catalog(PGconn* conn, const Dataset& d);
/// Pass 1: events (and per-connection / per-destination attempt counts).
void load_events(PGconn* conn, Dataset& d);
/// Pass 2: delivery attempts; the rows stored, per environment, go to `attempts_per_env`.
Stats load_attempts(PGconn* conn, Dataset& d, std::vector<u64>& attempts_per_env);

}  // namespace hookstream::bench_load
