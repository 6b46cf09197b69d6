// Progress of a long pass on stderr: a line redrawn in place on a terminal,
// a line every five seconds in a log.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace hookstream::bench_load {

using steady = std::chrono::steady_clock;

inline double seconds_since(steady::time_point t0) {
  return std::chrono::duration<double>(steady::now() - t0).count();
}

class Progress {
 public:
  Progress(std::string label, std::uint64_t total, const char* unit)
      : label_(std::move(label)), unit_(unit), total_(total), tty_(isatty(STDERR_FILENO) == 1), t0_(steady::now()),
        last_(t0_) {}

  void update(std::uint64_t done) {
    const auto now = steady::now();
    if (now - last_ < (tty_ ? std::chrono::milliseconds(250) : std::chrono::milliseconds(5000))) return;
    last_ = now;
    print(done, false);
  }

  void done(std::uint64_t done, const char* note = "") {
    print(done, true);
    if (*note) std::fprintf(stderr, "%s", note);
    std::fprintf(stderr, "\n");
  }

 private:
  void print(std::uint64_t done, bool final) {
    const double s = seconds_since(t0_);
    const double rate = s > 0 ? static_cast<double>(done) / s : 0;
    const double pct = total_ ? 100.0 * static_cast<double>(done) / static_cast<double>(total_) : 100.0;
    if (final) {
      std::fprintf(stderr, "%s%-28s %11llu %s  100.0%%  %8.0f %s/s  %6.1f s", tty_ ? "\r" : "", label_.c_str(),
                   static_cast<unsigned long long>(done), unit_, rate, unit_, s);
      return;
    }
    const double eta = rate > 0 ? static_cast<double>(total_ - std::min(done, total_)) / rate : 0;
    std::fprintf(stderr, "%s%-28s %11llu %s  %5.1f%%  %8.0f %s/s  eta %4.0f s%s", tty_ ? "\r" : "", label_.c_str(),
                 static_cast<unsigned long long>(done), unit_, pct, rate, unit_, eta, tty_ ? "   " : "\n");
  }

  std::string label_;
  const char* unit_;
  std::uint64_t total_;
  bool tty_;
  steady::time_point t0_, last_;
};

}  // namespace hookstream::bench_load
