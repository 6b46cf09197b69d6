// The data set's shape: organisations, environments with their connections and
// destinations, and the walk over each environment's events that both load
// passes (events, then attempts) share. Everything derives from the seed.
#pragma once

#include "catalogue.hpp"
#include "seeded_random.hpp"

#include <hookstream/storage/civil_time.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace hookstream::bench_load {

inline constexpr i64 us_per_s = 1'000'000;
inline constexpr i64 us_per_day = 86'400 * us_per_s;
/// The fixed "now" of the data set: 2026-11-28T12:00:00Z.
inline constexpr i64 t_ref = storage::days_from_civil(2026, 11, 28) * us_per_day + 12 * 3600 * us_per_s;
/// Every attempt lies in the `window` before t_ref.
inline constexpr i64 window = 90 * us_per_day;

struct Org {
  std::string id, user_id, member_id;
  i64 created_at;
};

struct Connection {
  std::string id, name;
  int source;
  bool traced;  // its requests carry a traceparent header
  std::vector<int> dests;  // 1-3 destination indices, routed by event type
  i64 created_at;
};

struct Destination {
  std::string id, name, url;
  const char* method;
  const char* server;
  const char* ack_prefix;
  i64 created_at;
};

struct Env {
  const EnvSpec* spec;
  int index;
  std::string id, org_id;
  u64 target;
  i64 created_at;
  std::vector<Connection> conns;
  std::vector<Destination> dests;
  std::vector<double> conn_cdf;  // Zipf-like traffic share
  std::string api_key;
  std::string key_id;
  // Filled by the events pass.
  u64 events = 0;
  std::vector<u64> conn_attempts, dest_attempts;
  std::string sample_event;  // an event with 4 attempts, from the middle of the range
};

enum class Outcome : std::uint8_t { success, failed, retrying, pending };

struct Plan {
  u64 index;
  std::string event_id;
  int conn, dest, type;
  Outcome outcome;
  int chain;  // regular attempts (1..4)
  bool dlq, replay;
  i64 t_event, dispatch;
};

/// Events of one environment, in time order. Both passes (events, then attempts)
/// walk the same sequence: every event draws from its own stream, keyed by the seed,
/// the environment and its index, and the only state carried between events is the
/// running attempt count (which places the event in time) and the burst timestamp.
class EventWalker {
 public:
  EventWalker(u64 seed, const Env& env) : seed_(seed), env_(env) {}

  /// Calls f(plan, rng) for every event; rng is positioned after the plan's draws
  /// so the attempts pass can draw their details from it.
  template <class F>
  void run(F&& f) {
    u64 done = 0;
    i64 prev_t = t_ref - window, prev_dispatch = 10'000;
    const u64 target = env_.target;
    const i64 span = window - 90 * us_per_s;  // the last event lands 90 s before t_ref at most
    Plan p;
    for (u64 i = 0; done < target; ++i) {
      Rng r(derive(seed_, 0xe7e27, static_cast<u64>(env_.index), i));
      p.index = i;
      p.event_id.assign("evt_");
      append_random_hex(p.event_id, r, 24);

      // Time: proportional to the attempts generated so far, so events are in time
      // order and the environment spans the whole window whatever its size. ~2% of
      // events arrive in a burst that shares the previous event's exact instant.
      const bool burst = i > 0 && r.chance(0.02);
      const double u = r.uniform();
      p.t_event = t_ref - window + static_cast<i64>(static_cast<double>(span) * (static_cast<double>(done) + u) /
                                                     static_cast<double>(target));
      p.dispatch = 4'000 + static_cast<i64>(296'000.0 * std::pow(r.uniform(), 2.0));  // 4-300 ms
      if (burst) {
        p.t_event = prev_t;
        p.dispatch = prev_dispatch;
      }
      prev_t = p.t_event;
      prev_dispatch = p.dispatch;

      const double uc = r.uniform();
      p.conn = static_cast<int>(std::lower_bound(env_.conn_cdf.begin(), env_.conn_cdf.end(), uc) -
                                env_.conn_cdf.begin());
      if (p.conn >= static_cast<int>(env_.conns.size())) p.conn = static_cast<int>(env_.conns.size()) - 1;
      const Connection& c = env_.conns[static_cast<std::size_t>(p.conn)];
      const auto& types = sources()[static_cast<std::size_t>(c.source)].types;
      // Event types: the first ones of a source are the most common.
      p.type = static_cast<int>(static_cast<double>(types.size()) * std::pow(r.uniform(), 1.8));
      p.dest = c.dests[static_cast<std::size_t>(p.type) % c.dests.size()];

      const double uo = r.uniform();
      p.outcome = uo < 0.917 ? Outcome::success : uo < 0.9325 ? Outcome::failed : uo < 0.9445 ? Outcome::retrying
                                                                                               : Outcome::pending;
      const double ul = r.uniform();
      switch (p.outcome) {
        case Outcome::success: p.chain = ul < 0.92 ? 1 : ul < 0.98 ? 2 : ul < 0.995 ? 3 : 4; break;
        case Outcome::failed: p.chain = ul < 0.5 ? 3 : 4; break;
        case Outcome::retrying: p.chain = ul < 0.5 ? 1 : ul < 0.8 ? 2 : 3; break;
        case Outcome::pending: p.chain = ul < 0.9 ? 1 : 2; break;
      }
      p.dlq = p.outcome == Outcome::failed && r.chance(0.45);
      // A dead-lettered event is sometimes replayed by hand, hours later.
      p.replay = p.dlq && p.chain == 3 && r.chance(0.35) && p.t_event < t_ref - 2 * us_per_day;

      const u64 total = static_cast<u64>(p.chain) + p.replay;
      if (done + total > target) {  // the last event fills the count exactly
        p.outcome = Outcome::success;
        p.chain = static_cast<int>(target - done);
        p.dlq = p.replay = false;
      }
      done += static_cast<u64>(p.chain) + p.replay;
      f(p, r);
    }
  }

 private:
  u64 seed_;
  const Env& env_;
};

struct Dataset {
  u64 seed;
  std::vector<Org> orgs;
  std::vector<Env> envs;
};

/// Organisations, environments, connections, destinations and API keys, with
/// `hot_attempts` attempts to come in the hot environment (the first).
Dataset build_dataset(u64 seed, u64 hot_attempts);

}  // namespace hookstream::bench_load
