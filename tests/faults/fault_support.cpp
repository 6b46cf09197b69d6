#include "fault_support.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace hookstream::faults {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

double ms(fault_clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

namespace {

std::string cluster_script() { return std::string(HOOKSTREAM_FAULTS_DIR) + "/pg_cluster.sh"; }
std::string pgbouncer_script() { return std::string(HOOKSTREAM_FAULTS_DIR) + "/../pgbouncer.sh"; }

// Runs `bash -c command` and returns its standard output. The child gets only
// stdin/stdout/stderr: without closefrom, a PostgreSQL started from here would
// inherit the load generator's client sockets (Asio does not mark them
// close-on-exec) and keep them open, and the server would never see them close.
std::string run(const std::string& command) {
  int out[2];
  if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  std::string cmd = command;
  std::vector<char*> argv{const_cast<char*>("/bin/bash"), const_cast<char*>("-c"), cmd.data(), nullptr};
  pid_t pid;
  const int rc = posix_spawn(&pid, "/bin/bash", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    throw std::runtime_error("could not run: " + command);
  }
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("command failed (" + std::to_string(status) + "): " + command);
  return text;
}

}  // namespace

// --- pg_cluster ---------------------------------------------------------------

pg_cluster::pg_cluster(int max_connections) : max_connections_(max_connections) {
  std::istringstream out(run(cluster_script() + " create " + std::to_string(max_connections)));
  out >> data_ >> port_;
  if (data_.empty() || port_ == 0) throw std::runtime_error("pg_cluster.sh create printed nothing usable");
}

pg_cluster::~pg_cluster() {
  try {
    run(cluster_script() + " destroy " + data_);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
  }
}

std::string pg_cluster::url(const std::string& user, const std::string& host) const {
  return "postgresql://" + user + "@" + host + ":" + std::to_string(port_) + "/hookstream";
}

void pg_cluster::restart(const std::string& mode) { run(cluster_script() + " restart " + data_ + " " + mode); }

void pg_cluster::kill9() { run(cluster_script() + " kill9 " + data_); }

std::unique_ptr<pg_cluster> pg_cluster::standby_of(const pg_cluster& primary) {
  std::istringstream out(run(cluster_script() + " standby " + std::to_string(primary.port_) + " " +
                             std::to_string(primary.max_connections_)));
  std::string data;
  int port = 0;
  out >> data >> port;
  if (data.empty() || port == 0) throw std::runtime_error("pg_cluster.sh standby printed nothing usable");
  return std::unique_ptr<pg_cluster>(new pg_cluster(data, port, primary.max_connections_));
}

void pg_cluster::stop(const std::string& mode) { run(cluster_script() + " stop " + data_ + " " + mode); }

void pg_cluster::start() {
  run(cluster_script() + " start " + data_ + " " + std::to_string(port_) + " " + std::to_string(max_connections_));
}

// --- pgbouncer_process ------------------------------------------------------------

pgbouncer_process::pgbouncer_process(const std::string& database_url, int pool_size) {
  char dir[] = "/tmp/hookstream-pgbouncer-state.XXXXXX";
  if (!::mkdtemp(dir)) throw std::runtime_error("mkdtemp failed");
  state_ = dir;
  run(pgbouncer_script() + " start " + state_ + " '" + database_url + "' " + std::to_string(pool_size));
  std::ifstream in(state_ + "/database_url");
  std::getline(in, url_);
  if (url_.empty()) throw std::runtime_error("pgbouncer.sh start wrote no URL");
}

pgbouncer_process::~pgbouncer_process() {
  try {
    run(pgbouncer_script() + " stop " + state_);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
  }
  std::error_code ec;
  std::filesystem::remove_all(state_, ec);
}

fault_clock::time_point pg_cluster::start_and_time_first_accept() {
  std::atomic<bool> started_ok{false}, done{false};
  std::thread starter([&] {
    try {
      run(cluster_script() + " start " + data_ + " " + std::to_string(port_) + " " +
          std::to_string(max_connections_));
      started_ok = true;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s\n", e.what());
    }
    done = true;
  });
  const std::string conninfo = url("postgres") + "?connect_timeout=2";
  std::optional<fault_clock::time_point> up;
  const auto give_up = fault_clock::now() + 60s;
  while (!up && fault_clock::now() < give_up) {
    if (PQping(conninfo.c_str()) == PQPING_OK) up = fault_clock::now();
    else std::this_thread::sleep_for(5ms);
    if (done && !started_ok) break;
  }
  starter.join();
  if (!started_ok || !up) throw std::runtime_error("PostgreSQL did not come back");
  return *up;
}

// --- server_process -------------------------------------------------------------

server_process::server_process(const std::string& database_url, const std::vector<std::string>& extra_args) {
  log_path_ = std::filesystem::temp_directory_path() /
              ("hookstream-fault-server-" + std::to_string(::getpid()) + "-" +
               std::to_string(fault_clock::now().time_since_epoch().count()) + ".log");
  std::vector<std::string> args{HOOKSTREAM_SERVER_BINARY, "--listen", "127.0.0.1:0", "--database-url", database_url,
                                "--cursor-secret", "fault-tests-cursor-secret-0123456789", "--rate-limit", "0"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);  // see run()
  pid_t pid;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("could not start " HOOKSTREAM_SERVER_BINARY);
  pid_ = pid;
  // "hookstream-server listening on http://127.0.0.1:PORT (N threads)"
  const auto until = fault_clock::now() + 30s;
  while (fault_clock::now() < until) {
    const std::string text = log();
    const auto at = text.find("listening on http://127.0.0.1:");
    if (at != std::string::npos) {
      port_ = static_cast<unsigned short>(std::stoi(text.substr(at + 30)));
      return;
    }
    if (!alive()) break;
    std::this_thread::sleep_for(20ms);
  }
  throw std::runtime_error("hookstream-server did not start:\n" + log());
}

server_process::~server_process() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  // HOOKSTREAM_FAULTS_KEEP_LOGS=1 keeps the server's log for a look afterwards.
  if (const char* keep = std::getenv("HOOKSTREAM_FAULTS_KEEP_LOGS"); keep && *keep == '1')
    std::fprintf(stderr, "server log kept: %s\n", log_path_.c_str());
  else
    std::filesystem::remove(log_path_);
}

bool server_process::alive() {
  if (pid_ <= 0) return false;
  int status;
  return ::waitpid(pid_, &status, WNOHANG) == 0;
}

int server_process::stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  const auto until = fault_clock::now() + 20s;
  int status = 0;
  while (fault_clock::now() < until) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(20ms);
  }
  return -1;
}

std::string server_process::log() const {
  std::ifstream in(log_path_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// --- descriptors -----------------------------------------------------------------

fd_census count_fds(int pid, int db_port) {
  fd_census c;
  std::set<std::string> db_inodes;
  // Sockets whose remote port is the database's, from the process's own view.
  for (const char* table : {"tcp", "tcp6"}) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/net/" + table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string sl, local, remote, st, queues, tr, retrans, uid, timeout, inode;
      f >> sl >> local >> remote >> st >> queues >> tr >> retrans >> uid >> timeout >> inode;
      const auto colon = remote.rfind(':');
      if (colon == std::string::npos) continue;
      if (std::stoi(remote.substr(colon + 1), nullptr, 16) == db_port) db_inodes.insert(inode);
    }
  }
  for (const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    ++c.total;
    std::error_code ec;
    const auto target = std::filesystem::read_symlink(entry.path(), ec).string();
    if (target.starts_with("socket:[")) {
      const std::string inode = target.substr(8, target.size() - 9);
      if (db_inodes.count(inode)) ++c.db_sockets;
    }
  }
  return c;
}

// --- HTTP ----------------------------------------------------------------------

namespace {
answer from_response(const http::response<http::string_body>& res) {
  answer a;
  a.status = res.result_int();
  if (auto it = res.find(http::field::retry_after); it != res.end()) a.retry_after = std::string(it->value());
  if (auto it = res.find("RateLimit-Limit"); it != res.end()) a.rate_limit = std::string(it->value());
  a.body = res.body();
  return a;
}

http::request<http::empty_body> make_request(const std::string& target, const std::string& api_key) {
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1");
  if (!api_key.empty()) req.set("X-API-Key", api_key);
  return req;
}
}  // namespace

answer http_get(unsigned short port, const std::string& target, const std::string& api_key) {
  answer a;
  a.sent = fault_clock::now();
  try {
    asio::io_context io;
    beast::tcp_stream stream(io);
    stream.expires_after(15s);
    stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    http::write(stream, make_request(target, api_key));
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    const auto sent = a.sent;
    a = from_response(res);
    a.sent = sent;
  } catch (const std::exception& e) {
    a.error = e.what();
  }
  a.done = fault_clock::now();
  return a;
}

double metric(unsigned short port, const std::string& name) {
  const answer a = http_get(port, "/metrics", "");
  if (a.status != 200) throw std::runtime_error("GET /metrics failed: " + a.error);
  std::istringstream lines(a.body);
  for (std::string line; std::getline(lines, line);)
    if (line.size() > name.size() && line.compare(0, name.size(), name) == 0 && line[name.size()] == ' ')
      return std::stod(line.substr(name.size() + 1));
  throw std::runtime_error("no metric " + name + " on /metrics");
}

struct load_generator::impl {
  unsigned short port;
  std::string api_key;
  std::vector<group> groups;
  asio::io_context io;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::vector<answer> answers;

  asio::awaitable<void> client(int g) {
    const group& cfg = groups[g];
    const auto request = make_request(cfg.target, api_key);
    const asio::ip::tcp::endpoint server(asio::ip::make_address("127.0.0.1"), port);
    std::optional<beast::tcp_stream> stream;
    beast::flat_buffer buffer;
    asio::steady_timer pause(io);
    while (!stopping) {
      answer a;
      a.group = g;
      a.sent = fault_clock::now();
      if (!stream) {
        stream.emplace(io);
        buffer.clear();
        stream->expires_after(cfg.give_up_after);
        auto [ec] = co_await stream->async_connect(server, asio::as_tuple(asio::use_awaitable));
        if (ec) {
          a.error = "connect: " + ec.message();
          a.done = fault_clock::now();
          answers.push_back(std::move(a));
          stream.reset();
          continue;
        }
      }
      stream->expires_after(cfg.give_up_after);
      auto [wec, written] = co_await http::async_write(*stream, request, asio::as_tuple(asio::use_awaitable));
      http::response<http::string_body> res;
      boost::system::error_code rec = wec;
      if (!wec) {
        auto [ec, n] = co_await http::async_read(*stream, buffer, res, asio::as_tuple(asio::use_awaitable));
        rec = ec;
      }
      a.done = fault_clock::now();
      if (rec) {
        // A timeout closes the socket: the client gave up on this request.
        if (rec == beast::error::timeout) a.abandoned = true;
        else a.error = rec.message();
        stream.reset();
      } else {
        const auto sent = a.sent;
        const auto done = a.done;
        a = from_response(res);
        a.group = g;
        a.sent = sent;
        a.done = done;
        if (!res.keep_alive()) stream.reset();
      }
      answers.push_back(std::move(a));
      if (cfg.pause.count() > 0) {
        pause.expires_after(cfg.pause);
        co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      }
    }
  }
};

load_generator::load_generator(unsigned short port, std::string api_key, std::vector<group> groups)
    : impl_(std::make_unique<impl>()) {
  impl_->port = port;
  impl_->api_key = std::move(api_key);
  impl_->groups = std::move(groups);
}

load_generator::~load_generator() {
  if (impl_->thread.joinable()) stop();
}

void load_generator::start() {
  for (std::size_t g = 0; g < impl_->groups.size(); ++g)
    for (int i = 0; i < impl_->groups[g].clients; ++i)
      asio::co_spawn(impl_->io, impl_->client(static_cast<int>(g)), asio::detached);
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

std::vector<answer> load_generator::stop() {
  impl_->stopping = true;
  if (impl_->thread.joinable()) impl_->thread.join();
  return std::move(impl_->answers);
}

// --- database -------------------------------------------------------------------

admin_session::admin_session(const std::string& url) : conn_(PQconnectdb(url.c_str())) {
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(conn_);
    PQfinish(conn_);
    throw std::runtime_error("admin connection failed: " + msg);
  }
}
admin_session::~admin_session() { PQfinish(conn_); }

void admin_session::exec(const std::string& sql) {
  PGresult* r = PQexec(conn_, sql.c_str());
  const auto st = PQresultStatus(r);
  std::string msg = PQresultErrorMessage(r);
  PQclear(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) throw std::runtime_error("SQL failed: " + msg + sql);
}

std::int64_t admin_session::count(const std::string& sql) {
  PGresult* r = PQexec(conn_, sql.c_str());
  if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
    std::string msg = PQresultErrorMessage(r);
    PQclear(r);
    throw std::runtime_error("SQL failed: " + msg + sql);
  }
  const std::int64_t v = std::stoll(PQgetvalue(r, 0, 0));
  PQclear(r);
  return v;
}

std::string admin_session::text(const std::string& sql) {
  PGresult* r = PQexec(conn_, sql.c_str());
  if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1) {
    std::string msg = PQresultErrorMessage(r);
    PQclear(r);
    throw std::runtime_error("SQL failed: " + msg + sql);
  }
  std::string v = PQgetvalue(r, 0, 0);
  PQclear(r);
  return v;
}

std::int64_t hookstream_backends(admin_session& admin) {
  return admin.count("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'hookstream'");
}

// The server's background maintenance connection (counter compaction,
// partitions): one per process, apart from the request pool.
std::int64_t maintenance_backends(admin_session& admin) {
  return admin.count("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'hookstream-maintenance'");
}

// The live tail's listening connection: one per process, apart from the pool.
std::int64_t live_tail_backends(admin_session& admin) {
  return admin.count("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'hookstream-live-tail'");
}

struct backend_sampler::impl {
  std::atomic<bool> stopping{false};
  result r;
  std::thread thread;
};

backend_sampler::backend_sampler(const std::string& admin_url, std::chrono::milliseconds period)
    : impl_(std::make_unique<impl>()) {
  impl_->thread = std::thread([this, admin_url, period] {
    admin_session admin(admin_url);
    while (!impl_->stopping) {
      const auto backends = hookstream_backends(admin);
      const auto active = admin.count(
          "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'hookstream' AND state = 'active'");
      impl_->r.max_backends = std::max(impl_->r.max_backends, backends);
      impl_->r.max_active = std::max(impl_->r.max_active, active);
      ++impl_->r.samples;
      std::this_thread::sleep_for(period);
    }
  });
}

backend_sampler::~backend_sampler() {
  if (impl_->thread.joinable()) stop();
}

backend_sampler::result backend_sampler::stop() {
  impl_->stopping = true;
  impl_->thread.join();
  return impl_->r;
}

void check_error_answer(const answer& a, unsigned status, const std::string& words, bool retry_after) {
  BOOST_TEST_INFO("answer body: " << a.body);
  BOOST_TEST(a.status == status);
  if (retry_after) BOOST_TEST(a.retry_after == "1");
  try {
    const auto doc = boost::json::parse(a.body);
    BOOST_TEST(doc.at("status").as_int64() == static_cast<std::int64_t>(status));
    BOOST_TEST(std::string(doc.at("error").as_string()).find(words) != std::string::npos);
    BOOST_TEST(std::string(doc.at("request_id").as_string()).starts_with("req_"));
  } catch (const std::exception& e) {
    BOOST_ERROR("not a JSON error body: " << e.what());
  }
}

void expect_resources_back_to_baseline(server_process& server, pg_cluster& cluster, const fd_census& baseline,
                                       std::size_t max_connections) {
  admin_session admin(cluster.url("postgres"));
  const auto until = fault_clock::now() + 10s;
  fd_census now;
  std::int64_t backends = 0, maintenance = 0, live_tail = 0;
  for (;;) {
    now = count_fds(server.pid(), cluster.port());
    backends = hookstream_backends(admin);
    maintenance = maintenance_backends(admin);
    live_tail = live_tail_backends(admin);
    if ((now.other() == baseline.other() &&
         static_cast<std::int64_t>(now.db_sockets) == backends + maintenance + live_tail) ||
        fault_clock::now() > until)
      break;
    std::this_thread::sleep_for(50ms);
  }
  BOOST_TEST_INFO("descriptors now " << now.total << " (" << now.db_sockets << " to the database), at baseline "
                                     << baseline.total << " (" << baseline.db_sockets << ")");
  const bool db_sockets_match = static_cast<std::int64_t>(now.db_sockets) == backends + maintenance + live_tail;
  if (now.other() != baseline.other() || !db_sockets_match) {
    // What to look at when it fails: every descriptor, and each TCP socket's
    // state (01 established, 08 close-wait: the server closed it, we did not).
    std::string listing;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(server.pid()) + "/fd")) {
      std::error_code ec;
      listing += entry.path().filename().string() + " -> " + std::filesystem::read_symlink(entry.path(), ec).string() + "\n";
    }
    std::ifstream tcp("/proc/" + std::to_string(server.pid()) + "/net/tcp");
    std::string line, sockets;
    while (std::getline(tcp, line)) {
      std::istringstream f(line);
      std::string sl, local, remote, st, q, tr, rt, uid, to, inode;
      f >> sl >> local >> remote >> st >> q >> tr >> rt >> uid >> to >> inode;
      if (listing.find("socket:[" + inode + "]") != std::string::npos)
        sockets += local + " " + remote + " state " + st + " inode " + inode + "\n";
    }
    std::size_t own = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
      std::error_code ec;
      if (std::filesystem::read_symlink(entry.path(), ec).string().starts_with("socket:")) ++own;
    }
    BOOST_TEST_MESSAGE("the test process holds " << own << " sockets");
    BOOST_TEST_MESSAGE("descriptors:\n" << listing << "the server's TCP sockets:\n" << sockets);
  }
  BOOST_TEST(now.other() == baseline.other());
  // Every database socket of the server is a pooled connection, its one
  // maintenance connection or its one live-tail listener, and the pool stays
  // within its size.
  BOOST_TEST(db_sockets_match, "database sockets " << now.db_sockets << ", backends: " << backends << " pooled, "
                                                  << maintenance << " maintenance, " << live_tail << " live tail");
  BOOST_TEST(maintenance <= 1);
  BOOST_TEST(live_tail <= 1);
  BOOST_TEST(backends <= static_cast<std::int64_t>(max_connections));
  BOOST_TEST(server.alive());
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(i, values.size() - 1)];
}

}  // namespace hookstream::faults
