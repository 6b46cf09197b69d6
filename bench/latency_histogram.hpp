// Log-bucketed latency histogram in the HdrHistogram style, for the bench load generator.
//
// Values are nanoseconds. Every power-of-two range [2^k, 2^(k+1)) is split into 128
// equal sub-buckets, so a bucket is at most 1/128 (0.78 %) of its lower bound wide,
// and the value reported for it (its midpoint, clamped to the exact min/max) is within
// 0.4 % of every value it holds. Below 128 ns buckets are 1 ns wide. The range tracked
// with that precision is 0 .. 2^41 ns (about 36 minutes; the brief asks for 1 us .. 60 s);
// larger values land in the top bucket, while max() stays exact.
//
// Not thread-safe: each load-generator thread owns one and they are merged at the end.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace hookstream::bench {

class latency_histogram {
public:
  static constexpr unsigned sub_bits = 7;
  static constexpr std::uint64_t sub_count = std::uint64_t{1} << sub_bits;
  static constexpr unsigned top_bits = 41;
  static constexpr std::uint64_t max_tracked = (std::uint64_t{1} << top_bits) - 1;
  static constexpr std::size_t bucket_count = (top_bits - sub_bits + 1) * sub_count;

  latency_histogram() : counts_(bucket_count, 0) {}

  void record(std::uint64_t ns) noexcept {
    ++total_;
    sum_ += static_cast<long double>(ns);
    min_ = std::min(min_, ns);
    max_ = std::max(max_, ns);
    ++counts_[index_of(std::min(ns, max_tracked))];
  }

  void merge(const latency_histogram& other) noexcept {
    for (std::size_t i = 0; i < bucket_count; ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
    sum_ += other.sum_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }

  std::uint64_t count() const noexcept { return total_; }
  std::uint64_t min() const noexcept { return total_ ? min_ : 0; }
  std::uint64_t max() const noexcept { return max_; }
  double mean() const noexcept { return total_ ? static_cast<double>(sum_ / total_) : 0.0; }

  // The value at percentile p (0 < p <= 100): the representative value of the bucket
  // holding the ceil(p/100 * count)-th smallest sample. 0 when empty.
  std::uint64_t percentile(double p) const noexcept {
    if (total_ == 0) return 0;
    if (p >= 100.0) return max_;
    auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(total_)));
    rank = std::clamp<std::uint64_t>(rank, 1, total_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < bucket_count; ++i) {
      seen += counts_[i];
      if (seen >= rank) {
        const std::uint64_t mid = bucket_low(i) + (bucket_width(i) - 1) / 2;
        return std::clamp(mid, min_, max_);
      }
    }
    return max_;
  }

  static std::size_t index_of(std::uint64_t v) noexcept {
    if (v < sub_count) return static_cast<std::size_t>(v);
    const unsigned msb = 63u - static_cast<unsigned>(std::countl_zero(v));
    const unsigned shift = msb - sub_bits;
    return static_cast<std::size_t>((shift + 1) * sub_count + ((v >> shift) - sub_count));
  }
  static std::uint64_t bucket_low(std::size_t i) noexcept {
    if (i < sub_count) return i;
    const std::uint64_t shift = i / sub_count - 1;
    return (sub_count + i % sub_count) << shift;
  }
  static std::uint64_t bucket_width(std::size_t i) noexcept {
    if (i < sub_count) return 1;
    return std::uint64_t{1} << (i / sub_count - 1);
  }

private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t total_ = 0;
  long double sum_ = 0;
  std::uint64_t min_ = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t max_ = 0;
};

}  // namespace hookstream::bench
