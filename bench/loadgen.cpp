// hookstream-bench: HTTP/1.1 load generator for GET /v1/delivery-attempts, and the
// static "HTTP ceiling" server it is compared against.
//
// Load mode (default):
//   hookstream-bench --url http://127.0.0.1:8080/v1/delivery-attempts?limit=50
//     --header "Authorization: Bearer KEY" --connections 16 --duration 10 --expect-rows 50
// N keep-alive connections spread round-robin over T threads, each thread with its own
// io_context; every connection is a C++20 coroutine. Without --rate it is closed-loop
// (a connection sends its next request when the previous answer arrives); with --rate R
// it is open-loop: thread j owns the request slots at start + (k*T + j)/R, a free
// connection of that thread takes the next slot, waits for its time if early, and the
// latency is measured from the slot's intended time, so a stalled server shows up as
// latency (no coordinated omission). With --arrivals poisson the slots are a Poisson
// process instead, as pgbench --rate schedules its transactions (arrival_schedule.hpp).
// Every response is checked (status, framing); every Nth (--check-every N, default
// every one) is also parsed as JSON and its rows counted.
// The others' bodies are counted and dropped, and all of a thread's connections read
// into one buffer (response_feed.hpp), so 1,024 connections cost little more memory
// and cache than 16.
//
// Static mode:
//   hookstream-bench --serve-static page.json --listen 8081 [--threads T] [--duration S]
// answers every GET on 127.0.0.1:PORT with the file's bytes (200, application/json),
// keep-alive, one io_context + SO_REUSEPORT acceptor per thread, until SIGINT/SIGTERM
// or --duration.
//
// Self-contained: depends on Boost (Asio, Beast, JSON) only, not on the hookstream libraries.

#include "arrival_schedule.hpp"
#include "json_check.hpp"

#include <zlib.h>
#include "lean_parser.hpp"
#include "latency_histogram.hpp"
#include "response_feed.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;
using boost::system::error_code;
using hookstream::bench::arrival_schedule;
using hookstream::bench::body_checker;

// Inflates a gzip body into `out` (capacity reused). False when it is not gzip.
bool gunzip(const std::string& in, std::string& out) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return false;
  out.resize(std::max<std::size_t>(out.capacity(), in.size() * 8 + 4096));
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  std::size_t produced = 0;
  while (rc == Z_OK) {
    if (produced == out.size()) out.resize(out.size() * 2);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = static_cast<uInt>(out.size() - produced);
    rc = inflate(&zs, Z_NO_FLUSH);
    produced = out.size() - zs.avail_out;
  }
  inflateEnd(&zs);
  out.resize(produced);
  return rc == Z_STREAM_END;
}
using hookstream::bench::latency_histogram;
using hookstream::bench::lean_parser;
using hookstream::bench::pending_input;

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

// ---------------------------------------------------------------------------------------
// Options

struct options {
  std::vector<std::string> urls;
  std::vector<std::string> headers;
  unsigned connections = 16;
  unsigned threads = 1;
  double duration_s = 10;
  bool duration_given = false;
  double warmup_s = 0;
  std::optional<double> rate;
  bool poisson = false;  // --arrivals poisson
  unsigned timeout_ms = 5000;
  unsigned expect_status = 200;
  std::optional<std::int64_t> expect_rows;
  std::optional<std::int64_t> expect_rows_min;
  unsigned check_every = 1;
  std::optional<std::string> json_out;
  std::optional<std::string> serve_file;
  std::optional<unsigned> listen_port;
  std::uint64_t body_limit = 256ull << 20;
};

constexpr const char* usage_text = R"(usage:
  hookstream-bench --url URL [--url URL ...] [options]       load generator
  hookstream-bench --serve-static FILE --listen PORT [--threads T] [--duration S]
                                                             static JSON server on 127.0.0.1

load options:
  --url http://HOST:PORT/path?query  target; repeat to rotate round-robin per request
                                     (all URLs must share HOST:PORT; plain http only)
  --header "Name: value"             extra request header; repeatable
  --connections N                    keep-alive connections (default 16)
  --threads T                        threads, each with its own io_context (default 1)
  --duration SECONDS                 measured time (default 10)
  --warmup SECONDS                   run before measuring; nothing completing then counts (default 0)
  --rate R                           open loop: R requests/s in total, latency from the intended
                                     send time; without it: closed loop, max throughput
  --arrivals uniform|poisson         open loop's schedule: evenly spaced slots (default), or a
                                     Poisson process of the same mean rate (pgbench --rate's)
  --timeout-ms MS                    per request, connect included (default 5000)
  --expect-status CODE               required HTTP status (default 200)
  --expect-rows N                    body."delivery_attempts" must have exactly N elements
  --expect-rows-min N                ... at least N elements
  --check-every N                    parse every Nth body of a connection as JSON (and count its
                                     rows); the others are checked for status and framing only
                                     (default 1: every body). Parsing an 85 KB page costs this
                                     process more CPU than the server spends making it.
  --json FILE|-                      write the result as JSON to FILE or stdout
  --body-limit BYTES                 largest accepted response body (default 268435456)

Every response must have the expected status and a body that parses as JSON (every Nth
with --check-every N); a response
failing a check is an error, never a success. "requests" and "rps" count successes only;
latency percentiles are over successes. Errors are counted by kind (connect, timeout,
write, read, closed, bad-http, status, bad-json, missing-rows, wrong-rows, unfinished)
and, for kind "status", by status code. Open loop: a request slot scheduled inside the
measured window that has no answer by window end + timeout is an "unfinished" error.
bytes_per_response_mean is the mean body size over all received responses.
)";

[[noreturn]] void die(const std::string& msg) {
  std::cerr << "hookstream-bench: " << msg << "\n";
  std::exit(2);
}

template <class Int>
Int parse_int(std::string_view name, std::string_view s, Int lo, Int hi) {
  Int v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || v < lo || v > hi)
    die("bad value for " + std::string(name) + ": '" + std::string(s) + "'");
  return v;
}

double parse_double(std::string_view name, const std::string& s, double lo) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || errno || *end != '\0' || !(v >= lo) || !std::isfinite(v))
    die("bad value for " + std::string(name) + ": '" + s + "'");
  return v;
}

options parse_args(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::cout << usage_text;
      std::exit(0);
    }
    std::string value;
    bool inline_value = false;
    if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
      inline_value = true;
    }
    auto next = [&]() -> std::string {
      if (inline_value) return value;
      if (i + 1 >= argc) die("missing value for " + arg);
      return argv[++i];
    };
    if (arg == "--url") o.urls.push_back(next());
    else if (arg == "--header") o.headers.push_back(next());
    else if (arg == "--connections") o.connections = parse_int<unsigned>(arg, next(), 1, 1'000'000);
    else if (arg == "--threads") o.threads = parse_int<unsigned>(arg, next(), 1, 1024);
    else if (arg == "--duration") { o.duration_s = parse_double(arg, next(), 0.001); o.duration_given = true; }
    else if (arg == "--warmup") o.warmup_s = parse_double(arg, next(), 0);
    else if (arg == "--rate") o.rate = parse_double(arg, next(), 1e-6);
    else if (arg == "--arrivals") {
      const std::string v = next();
      if (v != "uniform" && v != "poisson") die("bad value for --arrivals: '" + v + "' (uniform or poisson)");
      o.poisson = v == "poisson";
    }
    else if (arg == "--timeout-ms") o.timeout_ms = parse_int<unsigned>(arg, next(), 1, 3'600'000);
    else if (arg == "--expect-status") o.expect_status = parse_int<unsigned>(arg, next(), 100, 999);
    else if (arg == "--expect-rows") o.expect_rows = parse_int<std::int64_t>(arg, next(), 0, INT64_MAX);
    else if (arg == "--expect-rows-min") o.expect_rows_min = parse_int<std::int64_t>(arg, next(), 0, INT64_MAX);
    else if (arg == "--check-every") o.check_every = parse_int<unsigned>(arg, next(), 1, 1'000'000);
    else if (arg == "--json") o.json_out = next();
    else if (arg == "--serve-static") o.serve_file = next();
    else if (arg == "--listen") o.listen_port = parse_int<unsigned>(arg, next(), 0, 65535);
    else if (arg == "--body-limit") o.body_limit = parse_int<std::uint64_t>(arg, next(), 1, UINT64_MAX);
    else die("unknown argument '" + arg + "' (see --help)");
  }
  return o;
}

void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

bool is_http_error(const error_code& ec) {
  return ec.category() == http::make_error_code(http::error::end_of_stream).category();
}

// ---------------------------------------------------------------------------------------
// Load generator

struct parsed_url {
  std::string host;  // without brackets
  std::string port;
  std::string target;
  std::string host_header;
};

parsed_url parse_url(const std::string& url) {
  constexpr std::string_view scheme = "http://";
  if (url.rfind(scheme, 0) != 0) die("only http:// URLs are supported: '" + url + "'");
  const std::string rest = url.substr(scheme.size());
  const auto slash = rest.find_first_of("/?");
  std::string authority = rest.substr(0, slash);
  parsed_url u;
  u.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (u.target[0] == '?') u.target.insert(0, "/");
  if (u.target.find_first_of(" \r\n#") != std::string::npos) die("bad characters in URL: '" + url + "'");
  if (authority.empty() || authority.find('@') != std::string::npos) die("bad host in URL: '" + url + "'");
  std::string port = "80";
  if (authority[0] == '[') {
    const auto close = authority.find(']');
    if (close == std::string::npos) die("bad host in URL: '" + url + "'");
    u.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') die("bad host in URL: '" + url + "'");
      port = authority.substr(close + 2);
    }
  } else {
    const auto colon = authority.rfind(':');
    u.host = authority.substr(0, colon);
    if (colon != std::string::npos) port = authority.substr(colon + 1);
  }
  parse_int<unsigned>("URL port", port, 1, 65535);
  u.port = port;
  u.host_header = authority;
  return u;
}

enum kind : unsigned {
  k_connect, k_timeout, k_write, k_read, k_closed, k_bad_http, k_status,
  k_bad_json, k_missing_rows, k_wrong_rows, k_unfinished, kind_count
};
constexpr std::array<const char*, kind_count> kind_names = {
    "connect", "timeout", "write", "read", "closed", "bad-http", "status",
    "bad-json", "missing-rows", "wrong-rows", "unfinished"};

struct stats {
  latency_histogram hist;  // successes only, nanoseconds
  std::uint64_t ok = 0;
  std::uint64_t responses = 0;  // complete HTTP responses received (successful or not)
  std::uint64_t body_bytes = 0;
  std::uint64_t wire_bytes = 0;
  std::uint64_t reconnects = 0;
  std::array<std::uint64_t, kind_count> by_kind{};
  std::map<unsigned, std::uint64_t> by_status;

  std::uint64_t errors() const {
    std::uint64_t n = 0;
    for (auto v : by_kind) n += v;
    return n;
  }
  void merge(const stats& o) {
    hist.merge(o.hist);
    ok += o.ok;
    responses += o.responses;
    body_bytes += o.body_bytes;
    wire_bytes += o.wire_bytes;
    reconnects += o.reconnects;
    for (unsigned k = 0; k < kind_count; ++k) by_kind[k] += o.by_kind[k];
    for (auto& [s, n] : o.by_status) by_status[s] += n;
  }
};

struct plan {
  const options* opt = nullptr;
  tcp::endpoint endpoint;
  std::vector<std::string> requests;  // one serialized GET per --url
  steady::time_point start, measure_start, measure_end;
  steady::duration timeout{};
  bool open = false;
  bool poisson = false;
  double rate = 0;
};

struct outcome {
  bool ok = false;
  kind k = k_read;
  bool response = false;
  unsigned status = 0;
  std::size_t body_bytes = 0;
  std::size_t wire_bytes = 0;
  steady::time_point done;
};

class worker {
public:
  worker(const plan& p, unsigned index, unsigned threads, unsigned connections)
      : plan_(p), index_(index), threads_(threads),
        schedule_(p.poisson ? arrival_schedule::kind::poisson : arrival_schedule::kind::uniform, p.rate, threads, index),
        end_timer_(ioc_), watchdog_(ioc_),
        measure_end_(p.measure_end) {
    for (unsigned i = 0; i < connections; ++i) conns_.push_back(std::make_unique<connection>(ioc_));
    next_target_ = index % p.requests.size();
  }

  void run() {
    auto rethrow = [](std::exception_ptr e) { if (e) std::rethrow_exception(e); };
    active_ = conns_.size();
    for (auto& c : conns_) asio::co_spawn(ioc_, connection_loop(*c), rethrow);
    asio::co_spawn(ioc_, watchdog_loop(), rethrow);
    // Closed loop stops at the window end; open loop lets the slots scheduled before it
    // finish or time out first.
    end_timer_.expires_at(plan_.open ? plan_.measure_end + plan_.timeout + std::chrono::milliseconds(50)
                                     : plan_.measure_end);
    end_timer_.async_wait([this](error_code ec) { if (!ec) stop_all(); });
    if (conns_.empty()) stop_all();
    ioc_.run();
    if (plan_.open && !interrupted_) {
      const std::uint64_t scheduled =
          first_slot_at_or_after(plan_.measure_end) - first_slot_at_or_after(plan_.measure_start);
      const std::uint64_t answered = st.ok + st.errors();
      if (scheduled > answered) st.by_kind[k_unfinished] += scheduled - answered;
    }
  }

  // Thread-safe: ends the run early (SIGINT); the window ends at `at`.
  void interrupt(steady::time_point at) {
    asio::post(ioc_, [this, at] {
      interrupted_ = true;
      measure_end_ = std::min(measure_end_, at);
      stop_all();
    });
  }

  stats st;

private:
  struct connection {
    explicit connection(asio::io_context& ioc) : sock(ioc), timer(ioc) {}
    tcp::socket sock;
    asio::steady_timer timer;  // open-loop pacing, connect back-off
    pending_input pending;     // received bytes the parser has not taken yet
    std::optional<lean_parser<false>> parser;
    // Only the bodies that get parsed are kept (--check-every), and their memory
    // is given back after the check: 1,024 idle body strings would otherwise
    // hold a page each.
    std::string body;
    std::string inflated;  // the body once gunzipped (Content-Encoding: gzip)
    body_checker checker;
    std::uint64_t unparsed = 0;  // responses counted for --check-every
    steady::time_point deadline = steady::time_point::max();
    bool timed_out = false;
    bool ever_connected = false;
  };

  steady::time_point slot_time(std::uint64_t k) {
    return plan_.start + std::chrono::duration_cast<steady::duration>(
                             std::chrono::nanoseconds(static_cast<std::int64_t>(schedule_.offset_ns(k))));
  }
  std::uint64_t first_slot_at_or_after(steady::time_point t) {
    return schedule_.first_at_or_after(static_cast<double>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(t - plan_.start).count()));
  }

  static void close(connection& c) {
    error_code ignored;
    c.sock.close(ignored);
  }

  void stop_all() {
    if (stopping_) return;
    stopping_ = true;
    for (auto& c : conns_) {
      close(*c);
      c->timer.cancel();
    }
    end_timer_.cancel();
    watchdog_.cancel();
  }

  asio::awaitable<void> watchdog_loop() {
    const auto tick = std::clamp<steady::duration>(plan_.timeout / 10, std::chrono::milliseconds(1),
                                                   std::chrono::milliseconds(50));
    while (!stopping_) {
      watchdog_.expires_after(tick);
      co_await watchdog_.async_wait(nothrow);
      if (stopping_) break;
      const auto now = steady::now();
      for (auto& c : conns_) {
        if (c->deadline < now) {
          c->deadline = steady::time_point::max();
          c->timed_out = true;
          close(*c);
        }
      }
    }
  }

  asio::awaitable<void> connection_loop(connection& c) {
    c.timer.expires_at(plan_.start);
    co_await c.timer.async_wait(nothrow);
    while (!stopping_) {
      steady::time_point intended;
      if (plan_.open) {
        intended = slot_time(next_slot_++);
        if (intended >= measure_end_) break;
        if (steady::now() < intended) {
          c.timer.expires_at(intended);
          co_await c.timer.async_wait(nothrow);
          if (stopping_) break;
        }
      } else {
        intended = steady::now();
      }
      const std::string& request = plan_.requests[next_target_];
      if (++next_target_ == plan_.requests.size()) next_target_ = 0;
      const outcome o = co_await exchange(c, request);
      if (stopping_) break;  // cut off by the end of the run: not counted
      record(o, intended);
      if (!o.ok && o.k == k_connect && !plan_.open) {  // don't spin on a refused port
        c.timer.expires_after(std::chrono::milliseconds(20));
        co_await c.timer.async_wait(nothrow);
      }
    }
    if (--active_ == 0) stop_all();
  }

  // One request/response on `c`, (re)connecting first if needed. A request that fails
  // on a reused keep-alive connection before any response byte arrived (the server
  // closed an idle connection) is retried once on a fresh connection.
  asio::awaitable<outcome> exchange(connection& c, const std::string& request) {
    outcome o;
    c.timed_out = false;
    c.deadline = steady::now() + plan_.timeout;
    // Every Nth response of a connection is parsed as JSON (--check-every); the
    // others are checked for status and framing, and their bodies are dropped.
    const unsigned check_every = plan_.opt->check_every;
    const bool parse_body = check_every <= 1 || ++c.unparsed % check_every == 0;
    for (int attempt = 0;; ++attempt) {
      const bool reused = c.sock.is_open();
      if (!reused) {
        c.pending.clear();
        auto [ec] = co_await c.sock.async_connect(plan_.endpoint, nothrow);
        if (ec) {
          close(c);
          o.k = c.timed_out ? k_timeout : k_connect;
          break;
        }
        error_code ignored;
        c.sock.set_option(tcp::no_delay(true), ignored);
        c.sock.non_blocking(true, ignored);  // read_response reads until it would block
        if (c.ever_connected) ++st.reconnects;
        c.ever_connected = true;
      }
      auto [wec, wn] = co_await asio::async_write(c.sock, asio::buffer(request), nothrow);
      if (wec) {
        close(c);
        if (c.timed_out) { o.k = k_timeout; break; }
        if (reused && attempt == 0 &&
            (wec == asio::error::broken_pipe || wec == asio::error::connection_reset))
          continue;
        o.k = k_write;
        break;
      }
      if (parse_body) c.parser.emplace(c.body);
      else c.parser.emplace();
      c.parser->body_limit(plan_.opt->body_limit);
      auto [rec, rn] = co_await read_response(c);
      if (rec) {
        const bool nothing = !c.parser->got_some() && c.pending.empty();
        close(c);
        if (c.timed_out) { o.k = k_timeout; break; }
        const bool peer_closed = rec == http::error::end_of_stream || rec == http::error::partial_message ||
                                 rec == asio::error::eof || rec == asio::error::connection_reset;
        if (peer_closed && nothing && reused && attempt == 0) continue;
        o.k = peer_closed ? k_closed : is_http_error(rec) ? k_bad_http : k_read;
        break;
      }
      o.done = steady::now();
      c.deadline = steady::time_point::max();
      o.response = true;
      o.status = c.parser->status();
      o.body_bytes = c.parser->body_bytes();
      o.wire_bytes = rn;
      if (!c.parser->keep_alive()) close(c);
      if (!parse_body) {
        check_framing_only(o);
      } else if (c.parser->gzipped()) {
        // Compressed answers are checked like any other, once inflated.
        if (gunzip(c.body, c.inflated)) check(c, c.inflated, o);
        else o.k = k_bad_json;
      } else {
        check(c, c.body, o);
      }
      if (parse_body) {
        std::string().swap(c.body);
        std::string().swap(c.inflated);
      }
      co_return o;
    }
    c.deadline = steady::time_point::max();
    o.done = steady::now();
    co_return o;
  }

  // Reads one response into c.parser: each time the socket is readable, into
  // the thread's read buffer, then straight to the parser (response_feed.hpp).
  // The same errors as Beast's http::async_read: end_of_stream when the peer
  // closed before a byte of the response, partial_message when it closed inside
  // one. Returns the bytes the parser took.
  asio::awaitable<std::pair<error_code, std::size_t>> read_response(connection& c) {
    auto& parser = *c.parser;
    auto r = c.pending.feed(parser, {});  // bytes left over from the last answer
    std::size_t taken = r.consumed;
    error_code ec = r.ec;
    while (!ec && !parser.is_done()) {
      const std::size_t n = c.sock.read_some(asio::buffer(read_buffer_), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) {
        std::tie(ec) = co_await c.sock.async_wait(tcp::socket::wait_read, nothrow);
        continue;
      }
      if (ec == asio::error::eof) {
        ec = {};
        if (parser.got_some()) parser.put_eof(ec);  // a body that ends at close, or partial_message
        else ec = http::error::end_of_stream;
        break;
      }
      if (ec) break;
      r = c.pending.feed(parser, std::string_view(read_buffer_.data(), n));
      taken += r.consumed;
      ec = r.ec;
    }
    co_return std::pair{ec, taken};
  }

  // A response whose body is not parsed (--check-every): its status, and a
  // body (framing, Content-Length or chunks, was checked by the HTTP parser).
  void check_framing_only(outcome& o) const {
    if (o.status != plan_.opt->expect_status) o.k = k_status;
    else if (o.body_bytes == 0) o.k = k_bad_json;
    else o.ok = true;
  }

  void check(connection& c, std::string_view body, outcome& o) {
    const options& opt = *plan_.opt;
    if (o.status != opt.expect_status) { o.k = k_status; return; }
    const auto r = c.checker.check(body);
    if (!r.valid_json) { o.k = k_bad_json; return; }
    if (opt.expect_rows || opt.expect_rows_min) {
      if (r.rows < 0) { o.k = k_missing_rows; return; }
      if ((opt.expect_rows && r.rows != *opt.expect_rows) ||
          (opt.expect_rows_min && r.rows < *opt.expect_rows_min)) {
        o.k = k_wrong_rows;
        return;
      }
    }
    o.ok = true;
  }

  void record(const outcome& o, steady::time_point intended) {
    const bool counted = plan_.open
        ? intended >= plan_.measure_start && intended < measure_end_
        : o.done >= plan_.measure_start && o.done <= measure_end_;
    if (!counted) return;
    if (o.response) {
      ++st.responses;
      st.body_bytes += o.body_bytes;
      st.wire_bytes += o.wire_bytes;
    }
    if (o.ok) {
      ++st.ok;
      st.hist.record(static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(o.done - intended).count()));
    } else {
      ++st.by_kind[o.k];
      if (o.k == k_status) ++st.by_status[o.status];
    }
  }

  asio::io_context ioc_{1};  // first member: destroyed last
  const plan& plan_;
  const unsigned index_;
  const unsigned threads_;
  arrival_schedule schedule_;  // open loop: when this thread's slots are
  std::vector<std::unique_ptr<connection>> conns_;
  asio::steady_timer end_timer_;
  asio::steady_timer watchdog_;
  steady::time_point measure_end_;
  std::size_t active_ = 0;
  std::uint64_t next_slot_ = 0;
  std::size_t next_target_ = 0;
  bool stopping_ = false;
  bool interrupted_ = false;
  // Shared by this thread's connections (read_response): one read takes a
  // whole page, and it stays in cache however many connections there are.
  std::vector<char> read_buffer_ = std::vector<char>(256 * 1024);
};

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string ms(std::uint64_t ns) { return fixed(static_cast<double>(ns) / 1e6, 3); }

int run_load(const options& opt) {
  if (opt.urls.empty()) die("no --url given (see --help)");
  if (opt.listen_port) die("--listen only goes with --serve-static");
  if (opt.expect_rows && opt.expect_rows_min && *opt.expect_rows < *opt.expect_rows_min)
    die("--expect-rows is below --expect-rows-min: no response could pass");

  std::vector<parsed_url> urls;
  for (const auto& u : opt.urls) urls.push_back(parse_url(u));
  for (const auto& u : urls)
    if (u.host != urls[0].host || u.port != urls[0].port)
      die("all --url must share one host:port (" + urls[0].host_header + " vs " + u.host_header + ")");

  bool has_host = false, has_agent = false;
  std::string extra;
  for (const auto& h : opt.headers) {
    const auto colon = h.find(':');
    if (colon == std::string::npos || colon == 0 || h.find_first_of("\r\n") != std::string::npos)
      die("bad --header '" + h + "' (want \"Name: value\")");
    std::string name = h.substr(0, colon);
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    has_host |= name == "host";
    has_agent |= name == "user-agent";
    extra += h + "\r\n";
  }

  plan p;
  p.opt = &opt;
  for (const auto& u : urls) {
    std::string r = "GET " + u.target + " HTTP/1.1\r\n";
    if (!has_host) r += "Host: " + u.host_header + "\r\n";
    if (!has_agent) r += "User-Agent: hookstream-bench\r\n";
    r += extra + "\r\n";
    p.requests.push_back(std::move(r));
  }
  {
    asio::io_context ioc;
    tcp::resolver resolver(ioc);
    error_code ec;
    auto results = resolver.resolve(urls[0].host, urls[0].port, ec);
    if (ec || results.empty()) die("cannot resolve " + urls[0].host + ": " + ec.message());
    p.endpoint = results.begin()->endpoint();
  }

  unsigned threads = std::min(opt.threads, opt.connections);
  if (threads < opt.threads)
    std::cerr << "hookstream-bench: only " << threads << " threads (one connection each at least)\n";
  p.open = opt.rate.has_value();
  p.rate = opt.rate.value_or(0);
  p.poisson = opt.poisson;
  if (p.poisson && !p.open) die("--arrivals poisson needs --rate");
  p.timeout = std::chrono::milliseconds(opt.timeout_ms);
  const auto secs = [](double s) {
    return std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(s));
  };
  p.start = steady::now() + std::chrono::milliseconds(20);  // lets every thread get going
  p.measure_start = p.start + secs(opt.warmup_s);
  p.measure_end = p.measure_start + secs(opt.duration_s);

  std::vector<std::unique_ptr<worker>> workers;
  for (unsigned t = 0; t < threads; ++t) {
    const unsigned n = opt.connections / threads + (t < opt.connections % threads ? 1 : 0);
    workers.push_back(std::make_unique<worker>(p, t, threads, n));
  }

  // SIGINT/SIGTERM end the run early and still report; a second one exits at once.
  asio::io_context control;
  asio::signal_set signals(control, SIGINT, SIGTERM);
  std::atomic<std::int64_t> interrupted_at{0};
  signals.async_wait([&](error_code ec, int) {
    if (ec) return;
    const auto now = steady::now();
    interrupted_at = now.time_since_epoch().count();
    for (auto& w : workers) w->interrupt(now);
    signals.async_wait([](error_code e, int) { if (!e) std::_Exit(130); });
  });
  auto guard = asio::make_work_guard(control);
  std::thread control_thread([&] { control.run(); });

  std::vector<std::thread> pool;
  std::exception_ptr failure;
  std::mutex failure_mutex;
  for (auto& w : workers)
    pool.emplace_back([&, w = w.get()] {
      try {
        w->run();
      } catch (...) {
        std::lock_guard lock(failure_mutex);
        failure = std::current_exception();
      }
    });
  for (auto& t : pool) t.join();
  guard.reset();
  control.stop();
  control_thread.join();
  if (failure) std::rethrow_exception(failure);

  stats total;
  for (auto& w : workers) total.merge(w->st);

  auto end = p.measure_end;
  if (const auto at = interrupted_at.load(); at != 0)
    end = std::min(end, steady::time_point(steady::duration(at)));
  const double duration_s = std::max(0.0, std::chrono::duration<double>(end - p.measure_start).count());
  const double rps = duration_s > 0 ? static_cast<double>(total.ok) / duration_s : 0.0;
  const double body_mean = total.responses ? static_cast<double>(total.body_bytes) / total.responses : 0.0;
  const double wire_mean = total.responses ? static_cast<double>(total.wire_bytes) / total.responses : 0.0;
  const auto& h = total.hist;
  // The load generator's own CPU over its whole run (connecting and any
  // warm-up included): on a machine it shares with the server and the
  // database, what it spends is taken from them.
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const double cpu_s = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                       static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;

  // Human summary.
  std::ostringstream s;
  const std::string loop = p.open ? "open loop at " + fixed(p.rate, 1) + " req/s" + (p.poisson ? " (Poisson arrivals)" : "")
                                  : std::string("closed loop");
  s << "hookstream-bench: " << loop
    << ", " << opt.connections << (opt.connections == 1 ? " connection, " : " connections, ") << threads << (threads == 1 ? " thread" : " threads") << ", "
    << urls.size() << (urls.size() == 1 ? " URL" : " URLs") << ", " << p.endpoint << "\n"
    << "  measured   " << fixed(duration_s, 2) << " s (after " << fixed(opt.warmup_s, 2) << " s warm-up)"
    << (interrupted_at.load() ? "  [interrupted]" : "") << "\n"
    << "  requests   " << total.ok << " ok, " << total.errors() << " errors, " << fixed(rps, 1) << " req/s\n";
  if (total.errors()) {
    s << "  errors    ";
    for (unsigned k = 0; k < kind_count; ++k)
      if (total.by_kind[k]) s << " " << kind_names[k] << "=" << total.by_kind[k];
    for (auto& [code, n] : total.by_status) s << " [" << code << "]=" << n;
    s << "\n";
  }
  if (h.count())
    s << "  latency ms p50 " << ms(h.percentile(50)) << "  p90 " << ms(h.percentile(90)) << "  p99 "
      << ms(h.percentile(99)) << "  p99.9 " << ms(h.percentile(99.9)) << "  max " << ms(h.max()) << "  mean "
      << fixed(h.mean() / 1e6, 3) << "\n";
  s << "  response   " << fixed(body_mean, 1) << " body bytes mean (" << fixed(wire_mean, 1)
    << " on the wire), " << total.reconnects << " reconnects\n";
  std::cerr << s.str();

  if (opt.json_out) {
    std::ostringstream j;
    auto lat = [&](const std::string& v) { return h.count() ? v : std::string("null"); };
    j << "{\"requests\":" << total.ok << ",\"errors\":" << total.errors() << ",\"errors_by_status\":{";
    bool first = true;
    for (auto& [code, n] : total.by_status) {
      j << (first ? "" : ",") << "\"" << code << "\":" << n;
      first = false;
    }
    j << "},\"errors_by_kind\":{";
    first = true;
    for (unsigned k = 0; k < kind_count; ++k) {
      if (!total.by_kind[k]) continue;
      j << (first ? "" : ",") << "\"" << kind_names[k] << "\":" << total.by_kind[k];
      first = false;
    }
    j << "},\"duration_s\":" << fixed(duration_s, 3) << ",\"rps\":" << fixed(rps, 1) << ",\"latency_ms\":{"
      << "\"p50\":" << lat(ms(h.percentile(50))) << ",\"p90\":" << lat(ms(h.percentile(90)))
      << ",\"p99\":" << lat(ms(h.percentile(99))) << ",\"p999\":" << lat(ms(h.percentile(99.9)))
      << ",\"max\":" << lat(ms(h.max())) << ",\"mean\":" << lat(fixed(h.mean() / 1e6, 3)) << "}"
      << ",\"connections\":" << opt.connections << ",\"mode\":\"" << (p.open ? "open" : "closed") << "\""
      << ",\"rate\":" << (p.open ? fixed(p.rate, 3) : std::string("null"))
      << ",\"arrivals\":" << (p.open ? (p.poisson ? "\"poisson\"" : "\"uniform\"") : "null")
      << ",\"bytes_per_response_mean\":" << fixed(body_mean, 1)
      << ",\"wire_bytes_per_response_mean\":" << fixed(wire_mean, 1) << ",\"threads\":" << threads
      << ",\"warmup_s\":" << fixed(opt.warmup_s, 3) << ",\"urls\":" << urls.size()
      << ",\"reconnects\":" << total.reconnects << ",\"check_every\":" << opt.check_every
      << ",\"interrupted\":" << (interrupted_at.load() ? "true" : "false") << ",\"cpu_s\":" << fixed(cpu_s, 3)
      << "}\n";
    if (*opt.json_out == "-") {
      std::cout << j.str() << std::flush;
    } else {
      std::ofstream f(*opt.json_out, std::ios::binary | std::ios::trunc);
      f << j.str();
      if (!f.flush()) die("cannot write " + *opt.json_out);
    }
  }
  return 0;
}

// ---------------------------------------------------------------------------------------
// Static server ("HTTP ceiling")

struct static_responses {
  std::string ok_keep_alive;  // full 200 responses; a HEAD answer is the header prefix
  std::string ok_close;
  std::size_t head_keep_alive = 0;
  std::size_t head_close = 0;
  std::string not_allowed = "HTTP/1.1 405 Method Not Allowed\r\nServer: hookstream-bench\r\nAllow: GET, HEAD\r\n"
                            "Content-Length: 0\r\n\r\n";
  std::string bad_request = "HTTP/1.1 400 Bad Request\r\nServer: hookstream-bench\r\nContent-Length: 0\r\n"
                            "Connection: close\r\n\r\n";
};

asio::awaitable<void> serve_session(tcp::socket sock, const static_responses& r, std::uint64_t& served) {
  error_code ignored;
  sock.set_option(tcp::no_delay(true), ignored);
  beast::flat_buffer buf;
  for (;;) {
    lean_parser<true> parser;  // request bodies are ignored
    parser.body_limit(1 << 20);
    auto [ec, n] = co_await http::async_read(sock, buf, parser, nothrow);
    if (ec) {
      if (is_http_error(ec) && ec != http::error::end_of_stream && ec != http::error::partial_message)
        co_await asio::async_write(sock, asio::buffer(r.bad_request), nothrow);
      break;
    }
    const bool keep_alive = parser.keep_alive();
    asio::const_buffer out;
    if (parser.method() == http::verb::get)
      out = asio::buffer(keep_alive ? r.ok_keep_alive : r.ok_close);
    else if (parser.method() == http::verb::head)
      out = keep_alive ? asio::buffer(r.ok_keep_alive.data(), r.head_keep_alive)
                       : asio::buffer(r.ok_close.data(), r.head_close);
    else
      out = asio::buffer(r.not_allowed);
    auto [wec, wn] = co_await asio::async_write(sock, out, nothrow);
    if (wec) break;
    ++served;
    if (!keep_alive) break;
  }
  sock.shutdown(tcp::socket::shutdown_send, ignored);
  sock.close(ignored);
}

struct server_thread {
  asio::io_context ioc{1};  // first member: destroyed last
  tcp::acceptor acceptor{ioc};
  std::uint64_t served = 0;
};

asio::awaitable<void> accept_loop(server_thread& t, const static_responses& r) {
  for (;;) {
    auto [ec, sock] = co_await t.acceptor.async_accept(nothrow);
    if (ec == asio::error::operation_aborted || !t.acceptor.is_open()) co_return;
    if (ec) {  // e.g. out of descriptors: back off a little
      asio::steady_timer pause(t.ioc, std::chrono::milliseconds(10));
      co_await pause.async_wait(nothrow);
      continue;
    }
    asio::co_spawn(t.ioc, serve_session(std::move(sock), r, t.served), asio::detached);
  }
}

int run_static(const options& opt) {
  if (!opt.listen_port) die("--serve-static needs --listen PORT");
  if (!opt.urls.empty()) die("--serve-static and --url don't mix");
  std::ifstream f(*opt.serve_file, std::ios::binary);
  if (!f) die("cannot read " + *opt.serve_file);
  std::ostringstream content;
  content << f.rdbuf();
  const std::string body = content.str();

  static_responses r;
  const std::string head = "HTTP/1.1 200 OK\r\nServer: hookstream-bench\r\nContent-Type: application/json\r\n"
                           "Content-Length: " + std::to_string(body.size()) + "\r\n";
  r.ok_keep_alive = head + "\r\n";
  r.head_keep_alive = r.ok_keep_alive.size();
  r.ok_keep_alive += body;
  r.ok_close = head + "Connection: close\r\n\r\n";
  r.head_close = r.ok_close.size();
  r.ok_close += body;

  using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
  std::vector<std::unique_ptr<server_thread>> threads;
  unsigned short port = static_cast<unsigned short>(*opt.listen_port);
  for (unsigned i = 0; i < opt.threads; ++i) {
    auto t = std::make_unique<server_thread>();
    error_code ec;
    const tcp::endpoint ep(asio::ip::make_address_v4("127.0.0.1"), port);
    t->acceptor.open(ep.protocol(), ec);
    if (!ec) t->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) t->acceptor.set_option(reuse_port(true), ec);
    if (!ec) t->acceptor.bind(ep, ec);
    if (!ec) t->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) die("cannot listen on 127.0.0.1:" + std::to_string(port) + ": " + ec.message());
    port = t->acceptor.local_endpoint().port();  // --listen 0: the others join the chosen port
    asio::co_spawn(t->ioc, accept_loop(*t, r), asio::detached);
    threads.push_back(std::move(t));
  }
  std::cerr << "hookstream-bench: serving " << *opt.serve_file << " (" << body.size()
            << " bytes) on http://127.0.0.1:" << port << "/ with " << opt.threads
            << (opt.threads == 1 ? " thread" : " threads") << "\n";

  asio::io_context control;
  asio::signal_set signals(control, SIGINT, SIGTERM);
  asio::steady_timer timer(control);
  signals.async_wait([&](error_code ec, int) { if (!ec) control.stop(); });
  if (opt.duration_given) {
    timer.expires_after(std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(opt.duration_s)));
    timer.async_wait([&](error_code ec) { if (!ec) control.stop(); });
  }
  std::vector<std::thread> pool;
  for (auto& t : threads) pool.emplace_back([t = t.get()] { t->ioc.run(); });
  control.run();
  for (auto& t : threads) t->ioc.stop();
  for (auto& th : pool) th.join();
  std::uint64_t served = 0;
  for (auto& t : threads) served += t->served;
  std::cerr << "hookstream-bench: served " << served << " responses\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();
  const options opt = parse_args(argc, argv);
  try {
    return opt.serve_file ? run_static(opt) : run_load(opt);
  } catch (const std::exception& e) {
    std::cerr << "hookstream-bench: " << e.what() << "\n";
    return 1;
  }
}
