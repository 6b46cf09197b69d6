// When an open-loop load generator sends: one thread's request slots.
//
// hookstream-bench --rate R runs T threads; thread j owns a sequence of slots
// and a free connection of that thread takes the next one. Two schedules:
//   - uniform (the default): the run's slots are evenly spaced at 1/R and dealt
//     round-robin to the threads, slot k of thread j at (k*T + j)/R;
//   - Poisson: each thread draws its own Poisson process at R/T (exponential
//     gaps; the superposition of the T threads' is one process at R). This is
//     how pgbench --rate schedules its transactions, so the server's tail can
//     be put next to the bare page's under the same kind of arrivals. Bursts
//     come with it: a uniform schedule at the same rate shows a lower tail.
// A slot's time never changes once asked for (the gaps are drawn once, in
// order, from a seed fixed per thread), so the slots of a window can be
// counted afterwards by searching for its ends. A Poisson schedule keeps every
// slot it drew: 8 bytes a slot (4.8 MB for a minute at 10,000 req/s).
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace hookstream::bench {

class arrival_schedule {
public:
  enum class kind { uniform, poisson };

  /// `rate`: requests per second for the whole run (all threads); `threads`
  /// the run's threads, `index` this one's (0-based).
  arrival_schedule(kind k, double rate, unsigned threads, unsigned index)
      : kind_(k), rate_(rate), threads_(threads), index_(index), rng_(0x9e3779b97f4a7c15ull + index) {}

  /// Slot k's offset from the run's start, in nanoseconds; non-decreasing in k.
  double offset_ns(std::uint64_t k) {
    if (kind_ == kind::uniform) return (static_cast<double>(k) * threads_ + index_) * 1e9 / rate_;
    std::exponential_distribution<double> gap_ns(rate_ / threads_ / 1e9);
    while (poisson_ns_.size() <= k)
      poisson_ns_.push_back((poisson_ns_.empty() ? 0.0 : poisson_ns_.back()) + gap_ns(rng_));
    return poisson_ns_[k];
  }

  /// The first slot whose offset is at or after `ns`.
  std::uint64_t first_at_or_after(double ns) {
    std::uint64_t lo = 0, hi = 1;
    while (offset_ns(hi) < ns) hi *= 2;
    while (lo < hi) {  // first k in [lo, hi] with offset_ns(k) >= ns
      const std::uint64_t mid = lo + (hi - lo) / 2;
      if (offset_ns(mid) < ns) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

private:
  kind kind_;
  double rate_;
  unsigned threads_;
  unsigned index_;
  std::mt19937_64 rng_;
  std::vector<double> poisson_ns_;  // Poisson: slot k's offset, drawn so far
};

}  // namespace hookstream::bench
