// hookstream-server: configuration, migrations, signals. Everything else lives
// in the hookstream::server, ::auth and ::storage libraries.
#include <hookstream/server/server.hpp>
#include <hookstream/storage/migrations.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <malloc.h>
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <exception>
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
    auto applied = storage::migrate_database(cfg.database_url, std::chrono::seconds(60));
    if (!applied) {
      std::fprintf(stderr, "migrations failed: %s: %s\n", applied.error().code.message().c_str(),
                   applied.error().message.c_str());
      return 1;
    }
    std::fprintf(stderr, "migrations: %d applied\n", *applied);
    if (cfg.migrate_only) return 0;
  }

  try {
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
    std::fprintf(stderr, "hookstream-server stopped\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hookstream-server: %s\n", e.what());
    return 1;
  }
  return 0;
}
