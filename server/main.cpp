// hookstream-server: configuration, migrations, signals. Everything else lives
// in the hookstream::server, ::auth and ::storage libraries.
#include <hookstream/server/server.hpp>
#include <hookstream/storage/attempt_maintenance.hpp>
#include <hookstream/storage/migrations.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <malloc.h>
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <exception>
#include <memory>
#include <thread>

int main(int argc, char** argv) {
  using namespace hookstream;
  const auto outcome = server::parse_server_config(std::vector<std::string>(argv + 1, argv + argc));
  if (!outcome.config) {
    std::fprintf(outcome.exit_code ? stderr : stdout, "%s\n", outcome.message.c_str());
    return outcome.exit_code;
  }
  const server::server_config& cfg = *outcome.config;
  std::signal(SIGPIPE, SIG_IGN);
  // Every client connection is a descriptor: allow as many as the hard limit
  // (the soft default of 1,024 would cap a busy server long before
  // --max-connections does).
  if (rlimit files{}; ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  // Every listing builds a response of tens of KB and frees it after the write.
  // glibc's defaults hand such memory back to the kernel (mmap/munmap, madvise)
  // and fault it in again on the next request, with TLB shoot-downs across
  // threads; measured, that was the largest cost of a page. Keep it in the heap.
  mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);

  if (cfg.migrate || cfg.migrate_only) {
    auto applied = storage::migrate_database(server::maintenance_url(cfg), std::chrono::seconds(60));
    if (!applied) {
      std::fprintf(stderr, "migrations failed: %s: %s\n", applied.error().code.message().c_str(),
                   applied.error().message.c_str());
      return 1;
    }
    std::fprintf(stderr, "migrations: %d applied\n", *applied);
    if (cfg.migrate_only) return 0;
  }

  if (cfg.check_counters || cfg.recount) {
    auto rows = cfg.check_counters ? storage::check_database_counters(server::maintenance_url(cfg), cfg.command_env)
                                   : storage::recount_database_counters(server::maintenance_url(cfg), cfg.command_env);
    if (!rows) {
      std::fprintf(stderr, "%s failed: %s\n", cfg.check_counters ? "--check-counters" : "--recount",
                   rows.error().message.c_str());
      return 1;
    }
    int drifted = 0;
    for (const auto& r : *rows) {
      // --recount reports in wrong_cells the cells it corrected.
      std::printf("%s %s %s rows=%lld total=%lld %s=%lld\n", r.org_id.c_str(), r.env_id.c_str(),
                  cfg.check_counters ? (r.drifted() ? "DRIFTED" : "ok") : (r.rows == r.total ? "recounted" : "DRIFTED"),
                  static_cast<long long>(r.rows), static_cast<long long>(r.total),
                  cfg.check_counters ? "wrong_cells" : "corrected_cells", static_cast<long long>(r.wrong_cells));
      drifted += cfg.check_counters ? r.drifted() : r.rows != r.total;
    }
    std::fprintf(stderr, "%zu environments, %d drifted\n", rows->size(), drifted);
    return drifted ? 3 : 0;
  }
  if (cfg.maintain_only) {
    auto report = storage::maintain_database(server::maintenance_url(cfg), cfg.maintenance_settings);
    if (!report) {
      std::fprintf(stderr, "--maintain failed: %s\n", report.error().message.c_str());
      return 1;
    }
    std::printf("folded_deltas=%lld partitions_created=%d partitions_dropped=%d rows_deleted=%lld%s\n",
                static_cast<long long>(report->folded_deltas), report->partitions_created,
                report->partitions_dropped, static_cast<long long>(report->rows_deleted),
                report->skipped_partitions ? " (partitions skipped: another instance holds the lock)" : "");
    for (const auto& note : report->notes) std::fprintf(stderr, "%s\n", note.c_str());
    return 0;
  }

  try {
    std::unique_ptr<storage::maintenance_runner> maintenance;
    if (cfg.maintenance)
      maintenance = std::make_unique<storage::maintenance_runner>(
          server::maintenance_url(cfg), cfg.maintenance_settings, cfg.compaction_interval, cfg.maintenance_interval,
          [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); });
    boost::asio::io_context signals_io;
    boost::asio::signal_set signals(signals_io, SIGINT, SIGTERM);
    server::server srv(cfg);
    srv.start();
    std::fprintf(stderr, "hookstream-server listening on http://%s:%u (%u threads)\n", cfg.listen_address.c_str(),
                 srv.port(), cfg.threads ? cfg.threads : std::thread::hardware_concurrency());
    signals.async_wait([&](boost::system::error_code, int sig) {
      std::fprintf(stderr, "signal %d: draining and shutting down\n", sig);
      srv.stop();
    });
    signals_io.run();
    srv.wait();
    maintenance.reset();
    std::fprintf(stderr, "hookstream-server stopped\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hookstream-server: %s\n", e.what());
    return 1;
  }
  return 0;
}
