// hookstream-bench-wakeup: what this machine charges for waking a process.
//
// A listing request crosses four wake-ups (load generator -> server ->
// PostgreSQL backend -> server -> load generator) where pgbench's bare page
// crosses two, so where a wake-up is dear it weighs twice on the listing's
// ratio to the bare page, whatever the server's code does. This prints the
// price: a one-byte ping-pong over a pair of pipes between two
// processes, both on one CPU (each wake-up a context switch there) and on two
// CPUs (each wake-up an inter-processor interrupt), once with the second CPU
// idle and once with it kept busy by a spinning process at the lowest
// priority (on a virtual machine an idle CPU may have been handed back to the
// host, and waking it costs more); and, for scale, a system call that does
// nothing (getppid) and a zero-timeout poll(2) of one socket.
//
//   hookstream-bench-wakeup [--json] [ROUND_TRIPS]    (default 100000)
//
// --json prints one object instead (bench/run keeps it with each run):
// {"syscall_us", "poll_us", "one_cpu_round_trip_us",
//  "two_cpus_idle_round_trip_us", "two_cpus_busy_round_trip_us"}, the last two
// null on a machine with one CPU online.
//
// Linux only (sched_setaffinity). Run it on an otherwise idle machine: every
// figure is a mean over the whole run.
#include <sched.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

using bench_clock = std::chrono::steady_clock;

double micros_per(bench_clock::duration d, long n) {
  return std::chrono::duration<double, std::micro>(d).count() / static_cast<double>(n);
}

bool pin_to(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof set, &set) == 0;
}

// Mean round trip, in microseconds, of one byte sent to a child process on
// `child_cpu` and sent back, this process on CPU 0; negative on failure.
double ping_pong(int child_cpu, long round_trips) {
  int to_child[2] = {-1, -1}, to_parent[2] = {-1, -1};
  auto close_pipes = [&] {
    for (int fd : {to_child[0], to_child[1], to_parent[0], to_parent[1]})
      if (fd >= 0) close(fd);
  };
  const pid_t child = pipe(to_child) == 0 && pipe(to_parent) == 0 ? fork() : -1;
  if (child < 0) {
    close_pipes();
    return -1;
  }
  char byte = 0;
  if (child == 0) {
    if (!pin_to(child_cpu)) _exit(2);
    for (long i = 0; i < round_trips; ++i)
      if (read(to_child[0], &byte, 1) != 1 || write(to_parent[1], &byte, 1) != 1) _exit(1);
    _exit(0);
  }
  bool ok = pin_to(0);
  const auto start = bench_clock::now();
  for (long i = 0; ok && i < round_trips; ++i)
    ok = write(to_child[1], &byte, 1) == 1 && read(to_parent[0], &byte, 1) == 1;
  const auto elapsed = bench_clock::now() - start;
  int status = 0;
  if (!ok) kill(child, SIGKILL);
  waitpid(child, &status, 0);
  close_pipes();
  if (!ok || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
  return micros_per(elapsed, round_trips);
}

// A process spinning on `cpu` at the lowest priority, so that the CPU stays
// busy yet yields to anything else; -1 on failure.
pid_t spin_on(int cpu) {
  const pid_t child = fork();
  if (child == 0) {
    if (!pin_to(cpu) || nice(19) == -1) _exit(2);
    for (;;) asm volatile("" ::: "memory");  // a loop the compiler must keep
  }
  return child;
}

template <class Call>
double per_call(long n, Call call) {
  const auto start = bench_clock::now();
  for (long i = 0; i < n; ++i) call();
  return micros_per(bench_clock::now() - start, n);
}

}  // namespace

int main(int argc, char** argv) {
  bool json = false;
  long round_trips = 100000;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--json") {
      json = true;
    } else {
      char* end = nullptr;
      round_trips = std::strtol(argv[i], &end, 10);
      if (*end != '\0' || round_trips <= 0) {
        std::fprintf(stderr, "usage: hookstream-bench-wakeup [--json] [ROUND_TRIPS]\n");
        return 2;
      }
    }
  }
  int sockets[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sockets) != 0) return 1;
  const double getppid_us = per_call(round_trips * 10, [] { syscall(SYS_getppid); });
  const double poll_us = per_call(round_trips * 10, [&] {
    pollfd p{sockets[0], POLLIN, 0};
    poll(&p, 1, 0);
  });
  const double same = ping_pong(0, round_trips);
  double cross = -1, cross_busy = -1;
  const bool two_cpus = sysconf(_SC_NPROCESSORS_ONLN) >= 2;
  if (two_cpus) {
    cross = ping_pong(1, round_trips);
    const pid_t spinner = spin_on(1);
    if (spinner > 0) {
      cross_busy = ping_pong(1, round_trips);
      kill(spinner, SIGKILL);
      waitpid(spinner, nullptr, 0);
    }
  }
  if (same < 0 || (two_cpus && (cross < 0 || cross_busy < 0))) {
    std::fprintf(stderr, "hookstream-bench-wakeup: a ping-pong (or the spinner keeping CPU 1 busy) failed\n");
    return 1;
  }
  if (json) {
    auto value = [](double us) {
      char text[32] = "null";
      if (us >= 0) std::snprintf(text, sizeof text, "%.2f", us);
      return std::string(text);
    };
    std::printf("{\"syscall_us\": %.3f, \"poll_us\": %.3f, \"one_cpu_round_trip_us\": %.2f, "
                "\"two_cpus_idle_round_trip_us\": %s, \"two_cpus_busy_round_trip_us\": %s}\n",
                getppid_us, poll_us, same, value(cross).c_str(), value(cross_busy).c_str());
    return 0;
  }
  std::printf("system call (getppid)            %8.2f us\n", getppid_us);
  std::printf("poll(2) of one socket, no wait   %8.2f us\n", poll_us);
  std::printf("wake-up round trip, one CPU      %8.2f us  (two context switches)\n", same);
  if (!two_cpus) {
    std::printf("wake-up round trip, two CPUs         n/a  (one CPU online)\n");
    return 0;
  }
  std::printf("wake-up round trip, two CPUs     %8.2f us  (two cross-CPU wake-ups, the other CPU idle)\n", cross);
  std::printf("wake-up round trip, two CPUs     %8.2f us  (the same, the other CPU busy at low priority)\n",
              cross_busy);
  return 0;
}
