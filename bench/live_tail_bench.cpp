// hookstream-bench-tail: commit-to-event latency of the live tail.
//
// Makes `--tenants` tenants in the database, opens `--subscribers` streams
// (GET /v1/delivery-attempts/stream, spread evenly over the tenants) on a
// running hookstream-server, then writes `--rate` attempts per second for
// `--duration` seconds from `--writers` connections, one autocommitted INSERT
// per attempt, tenants in turn. Each attempt's event_id carries the steady-clock
// instant its INSERT was sent; every subscriber that receives the event records
// now minus that instant. So a figure is "INSERT sent -> event received by the
// client": the statement's own execution and commit included, i.e. an upper
// bound of commit-to-event. Writer and subscribers share this process's clock.
//
// Prints the figures; asserts nothing. Deliveries expected = attempts written x
// subscribers of their tenant; any shortfall or any overflow is printed.
//
// Idle subscribers (the listing's price of open streams), two more modes:
//   --prepare-listing FILE  makes one tenant with --listing-rows attempts and
//                           writes its API key to FILE, then exits;
//   --hold FILE             opens --subscribers streams with FILE's key, prints
//                           "holding N idle streams" once every head is in, and
//                           keeps them open (reading heartbeats) until stdin
//                           closes. bench/live_tail --idle runs the listing's
//                           load generator with and without such a holder.
//
// Self-contained apart from hookstream::auth (API key hashing) and libpq.
#include <hookstream/auth/api_key.hpp>
#include <hookstream/encoding/hex.hpp>

#include <boost/asio.hpp>

#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace asio = boost::asio;
using asio::ip::tcp;
using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

struct options {
  std::string host = "127.0.0.1";
  unsigned short port = 8080;
  std::string database_url;
  int tenants = 10;
  int subscribers = 1000;
  int rate = 1000;
  int duration_s = 10;
  int writers = 4;
  std::string prepare_listing;  // key file to write
  std::string hold;             // key file to read
  int listing_rows = 2000;
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: hookstream-bench-tail --port N --database-url URL [--tenants 10] [--subscribers 1000]\n"
               "                             [--rate 1000] [--duration 10] [--writers 4]\n"
               "       hookstream-bench-tail --database-url URL --prepare-listing KEY_FILE [--listing-rows 2000]\n"
               "       hookstream-bench-tail --port N --database-url URL --hold KEY_FILE [--subscribers 1000]\n");
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) usage();
    const std::string v = argv[++i];
    if (a == "--port") o.port = static_cast<unsigned short>(std::stoi(v));
    else if (a == "--host") o.host = v;
    else if (a == "--database-url") o.database_url = v;
    else if (a == "--tenants") o.tenants = std::stoi(v);
    else if (a == "--subscribers") o.subscribers = std::stoi(v);
    else if (a == "--rate") o.rate = std::stoi(v);
    else if (a == "--duration") o.duration_s = std::stoi(v);
    else if (a == "--writers") o.writers = std::stoi(v);
    else if (a == "--prepare-listing") o.prepare_listing = v;
    else if (a == "--hold") o.hold = v;
    else if (a == "--listing-rows") o.listing_rows = std::stoi(v);
    else usage();
  }
  if (o.database_url.empty() || o.tenants < 1 || o.subscribers < 1 || o.rate < 1 || o.writers < 1 ||
      o.listing_rows < 0 || (!o.prepare_listing.empty() && !o.hold.empty()))
    usage();
  return o;
}

std::string random_hex(std::size_t bytes) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  std::string raw(bytes, '\0');
  for (auto& c : raw) c = static_cast<char>(rng());
  return hookstream::encoding::to_hex(raw);
}

class pg {
 public:
  explicit pg(const std::string& url) : c_(PQconnectdb(url.c_str())) {
    if (PQstatus(c_) != CONNECTION_OK) throw std::runtime_error(std::string("connect: ") + PQerrorMessage(c_));
  }
  ~pg() { PQfinish(c_); }
  pg(const pg&) = delete;
  pg& operator=(const pg&) = delete;
  void exec(const std::string& sql) {
    PGresult* r = PQexec(c_, sql.c_str());
    const auto st = PQresultStatus(r);
    const std::string err = PQresultErrorMessage(r);
    PQclear(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) throw std::runtime_error("SQL failed: " + err);
  }

 private:
  PGconn* c_;
};

struct tenant {
  std::string org, env, key, connection, destination;
};

tenant make_tenant(pg& db) {
  tenant t{"org_bt_" + random_hex(8), "env_bt_" + random_hex(8), "", "conn_" + random_hex(8), "dst_" + random_hex(8)};
  t.key = hookstream::auth::generate_api_key(true);
  const std::string hash = hookstream::encoding::to_hex(hookstream::auth::sha256(t.key));
  db.exec("INSERT INTO \"organization\" (id, name, slug, \"createdAt\") VALUES ('" + t.org + "', 'Bench', '" + t.org +
          "', now());"
          "INSERT INTO environments (id, org_id, name, is_default) VALUES ('" + t.env + "', '" + t.org +
          "', 'bench', true);"
          "INSERT INTO connections (id, org_id, env_id, name) VALUES ('" + t.connection + "', '" + t.org + "', '" +
          t.env + "', 'Bench connection');"
          "INSERT INTO destinations (id, org_id, env_id, name, url) VALUES ('" + t.destination + "', '" + t.org +
          "', '" + t.env + "', 'Bench destination', 'https://example.com/hook');"
          "INSERT INTO api_keys (id, org_id, env_id, name, key_hash, key_prefix) VALUES ('key_" + random_hex(8) +
          "', '" + t.org + "', '" + t.env + "', 'bench', '\\x" + hash + "', '" + t.key.substr(0, 12) + "')");
  return t;
}

// What the subscribers saw; touched by the io thread only until it is joined.
struct tally {
  std::vector<double> latency_ms;
  std::size_t connected = 0, refused = 0, overflows = 0, errors = 0;
};

// One stream: request, head, then the body's lines. Chunk-size lines of the
// chunked framing are lines too and are skipped: the server writes whole
// events per chunk, so a data line is never cut by them.
asio::awaitable<void> subscribe(tcp::endpoint at, std::string host, std::string key, tally& t,
                                std::atomic<bool>& stop) {
  tcp::socket s(co_await asio::this_coro::executor);
  boost::system::error_code ec;
  co_await s.async_connect(at, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    ++t.errors;
    co_return;
  }
  const std::string req = "GET /v1/delivery-attempts/stream HTTP/1.1\r\nHost: " + host + "\r\nX-API-Key: " + key +
                          "\r\nAccept: text/event-stream\r\n\r\n";
  co_await asio::async_write(s, asio::buffer(req), asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    ++t.errors;
    co_return;
  }
  std::string buf;
  std::vector<char> chunk(64 * 1024);
  bool head = true;
  static const std::string marker = "\"event_id\":\"bt";
  while (!stop) {
    const std::size_t n =
        co_await s.async_read_some(asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    const auto now = steady::now().time_since_epoch();
    buf.append(chunk.data(), n);
    if (head) {
      const auto end = buf.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      if (buf.compare(0, 12, "HTTP/1.1 200") != 0) {
        ++t.refused;
        co_return;
      }
      ++t.connected;
      head = false;
      buf.erase(0, end + 4);
    }
    std::size_t start = 0;
    for (;;) {
      const auto nl = buf.find('\n', start);
      if (nl == std::string::npos) break;
      const std::string_view line(buf.data() + start, nl - start);
      if (line.starts_with("data: ")) {
        const auto at_marker = line.find(marker);
        if (at_marker != std::string_view::npos) {
          const long long sent = std::atoll(std::string(line.substr(at_marker + marker.size(), 20)).c_str());
          t.latency_ms.push_back(
              std::chrono::duration<double, std::milli>(now - std::chrono::nanoseconds(sent)).count());
        }
      } else if (line == "event: overflow") {
        ++t.overflows;
      }
      start = nl + 1;
    }
    buf.erase(0, start);
  }
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(std::min<double>(v.size() - 1, p / 100.0 * v.size()));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

}  // namespace

// --prepare-listing: a tenant whose first page is a full 50 rows with names.
int prepare_listing(const options& o) {
  pg db(o.database_url);
  const tenant t = make_tenant(db);
  db.exec("INSERT INTO delivery_attempts (id, org_id, env_id, event_id, connection_id, destination_id, request_url, "
          "request_method, request_headers, request_body_size, response_status, response_headers, response_body, "
          "duration_ms, status, attempt_number, trigger_type, created_at) "
          "SELECT 'da_' || md5(g::text || '" + t.env + "'), '" + t.org + "', '" + t.env + "', 'evt_' || g, '" +
          t.connection + "', '" + t.destination +
          "', 'https://example.com/hook', 'POST', '{\"content-type\":\"application/json\"}', 512, 200, "
          "'{\"server\":\"bench\"}', convert_to(repeat('x', 256), 'UTF8'), 42, 'success', 1, 'initial', "
          "now() - g * interval '1 second' FROM generate_series(1, " + std::to_string(o.listing_rows) + ") g");
  std::FILE* f = std::fopen(o.prepare_listing.c_str(), "w");
  if (!f || std::fprintf(f, "%s\n", t.key.c_str()) < 0 || std::fclose(f) != 0)
    throw std::runtime_error("cannot write " + o.prepare_listing);
  return 0;
}

// --hold: idle streams until stdin closes.
int hold(const options& o) {
  std::string key;
  {
    std::FILE* f = std::fopen(o.hold.c_str(), "r");
    char line[256] = {};
    if (!f || !std::fgets(line, sizeof line, f)) throw std::runtime_error("cannot read a key from " + o.hold);
    std::fclose(f);
    key = line;
    while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
  }
  asio::io_context io;
  tally seen;
  std::atomic<bool> stop{false};
  const tcp::endpoint at(asio::ip::make_address(o.host), o.port);
  for (int i = 0; i < o.subscribers; ++i) asio::co_spawn(io, subscribe(at, o.host, key, seen, stop), asio::detached);
  std::thread io_thread([&] { io.run(); });
  std::size_t connected = 0, failed = 0;
  for (int i = 0; i < 600; ++i) {
    std::promise<std::pair<std::size_t, std::size_t>> counted;
    asio::post(io, [&] { counted.set_value({seen.connected, seen.refused + seen.errors}); });
    std::tie(connected, failed) = counted.get_future().get();
    if (connected + failed >= static_cast<std::size_t>(o.subscribers)) break;
    std::this_thread::sleep_for(50ms);
  }
  std::printf("holding %zu idle streams (%zu refused or failed)\n", connected, failed);
  std::fflush(stdout);
  while (std::getchar() != EOF) {
  }
  stop = true;
  io.stop();
  io_thread.join();
  return failed == 0 && connected == static_cast<std::size_t>(o.subscribers) ? 0 : 1;
}

int main(int argc, char** argv) try {
  const options o = parse(argc, argv);
  if (!o.prepare_listing.empty()) return prepare_listing(o);
  if (!o.hold.empty()) return hold(o);
  std::vector<tenant> tenants;
  {
    pg db(o.database_url);
    for (int i = 0; i < o.tenants; ++i) tenants.push_back(make_tenant(db));
  }
  std::vector<int> subscribers_of(tenants.size(), 0);

  // Subscribers: one io thread (the machine's cores go to the server and the database).
  asio::io_context io;
  tally seen;
  std::atomic<bool> stop{false};
  const tcp::endpoint at(asio::ip::make_address(o.host), o.port);
  for (int i = 0; i < o.subscribers; ++i) {
    const std::size_t t = static_cast<std::size_t>(i) % tenants.size();
    ++subscribers_of[t];
    asio::co_spawn(io, subscribe(at, o.host, tenants[t].key, seen, stop), asio::detached);
  }
  std::thread io_thread([&] { io.run(); });
  // Wait for every head (the subscription exists once its head is written).
  for (int i = 0; i < 600; ++i) {
    std::size_t done = 0;
    asio::post(io, [&] { done = seen.connected + seen.refused + seen.errors + 1; });
    std::this_thread::sleep_for(50ms);
    if (done > 0 && done - 1 >= static_cast<std::size_t>(o.subscribers)) break;
  }
  std::this_thread::sleep_for(500ms);

  // Writers: paced, one autocommitted INSERT per attempt.
  std::atomic<std::size_t> written{0};
  std::vector<std::size_t> written_for(tenants.size(), 0);
  std::mutex written_mutex;
  std::vector<double> insert_ms;
  std::string writer_error;
  const auto begin = steady::now();
  const auto end = begin + std::chrono::seconds(o.duration_s);
  std::vector<std::thread> writers;
  for (int w = 0; w < o.writers; ++w)
    writers.emplace_back([&, w] {
      try {
        pg db(o.database_url);
        const auto period = std::chrono::nanoseconds(1'000'000'000LL * o.writers / o.rate);
        auto next = begin + period * w / o.writers;
        std::vector<double> mine;
        std::vector<std::size_t> mine_for(tenants.size(), 0);
        for (std::size_t i = static_cast<std::size_t>(w); next < end; i += static_cast<std::size_t>(o.writers)) {
          std::this_thread::sleep_until(next);
          next += period;
          const tenant& t = tenants[i % tenants.size()];
          const auto sent = steady::now();
          db.exec("INSERT INTO delivery_attempts (id, org_id, env_id, event_id, connection_id, destination_id, "
                  "request_url, request_method, request_headers, request_body_size, response_status, "
                  "response_headers, response_body, duration_ms, status, attempt_number, trigger_type) VALUES ('da_" +
                  random_hex(16) + "', '" + t.org + "', '" + t.env + "', 'bt" +
                  std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(sent.time_since_epoch()).count()) +
                  "', '" + t.connection + "', '" + t.destination +
                  "', 'https://example.com/hook', 'POST', '{\"content-type\":\"application/json\"}', 512, 200, "
                  "'{\"server\":\"bench\"}', convert_to(repeat('x', 256), 'UTF8'), 42, 'success', 1, 'initial')");
          mine.push_back(std::chrono::duration<double, std::milli>(steady::now() - sent).count());
          ++mine_for[i % tenants.size()];
          ++written;
        }
        std::lock_guard lock(written_mutex);
        insert_ms.insert(insert_ms.end(), mine.begin(), mine.end());
        for (std::size_t t = 0; t < mine_for.size(); ++t) written_for[t] += mine_for[t];
      } catch (const std::exception& e) {
        std::lock_guard lock(written_mutex);
        writer_error = e.what();
      }
    });
  for (auto& w : writers) w.join();
  const double write_s = std::chrono::duration<double>(steady::now() - begin).count();
  std::this_thread::sleep_for(3s);  // the last events arrive
  stop = true;
  io.stop();
  io_thread.join();

  std::size_t expected = 0;
  for (std::size_t t = 0; t < tenants.size(); ++t)
    expected += written_for[t] * static_cast<std::size_t>(subscribers_of[t]);
  std::printf("live tail bench: %d tenants, %zu of %d subscribers streaming (%zu refused, %zu failed)\n", o.tenants,
              seen.connected, o.subscribers, seen.refused, seen.errors);
  std::printf("written: %zu attempts in %.1f s (%.0f/s, target %d/s) by %d connections%s%s\n", written.load(),
              write_s, static_cast<double>(written.load()) / write_s, o.rate, o.writers,
              writer_error.empty() ? "" : "; writer error: ", writer_error.c_str());
  std::printf("INSERT round trip ms: p50 %.2f  p99 %.2f  max %.2f\n", percentile(insert_ms, 50),
              percentile(insert_ms, 99), percentile(insert_ms, 100));
  std::printf("events received: %zu of %zu expected, %zu overflows\n", seen.latency_ms.size(), expected,
              seen.overflows);
  std::printf("INSERT sent -> event received ms: p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n",
              percentile(seen.latency_ms, 50), percentile(seen.latency_ms, 90), percentile(seen.latency_ms, 99),
              percentile(seen.latency_ms, 99.9), percentile(seen.latency_ms, 100));
  return seen.latency_ms.size() == expected && writer_error.empty() ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "hookstream-bench-tail: %s\n", e.what());
  return 1;
}
