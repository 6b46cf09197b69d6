// The example gateway (examples/embedded_gateway) as a real process on the test
// database, four threads on one io_context: its own authentication reaching
// hookstream through handle_for_tenant, hookstream's credentials through the
// gateway's router, hookstream's own port, and all of it under load with every
// answer checked. It must then drain and exit 0 on SIGTERM (under
// scripts/test --tsan, a ThreadSanitizer report makes it exit 66 instead).
//
// The gateway binary: HOOKSTREAM_GATEWAY, else the one built in this tree. The
// consumer tests run this suite against gateways built from the installed
// package and from the source tree.
#include "support/http_client.hpp"
#include "support/test_database.hpp"

#include <boost/json/value.hpp>
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

extern char** environ;

using namespace hookstream;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The gateway in a child process: stdout and stderr to files of their own.
class gateway_process {
 public:
  explicit gateway_process(const std::vector<std::string>& extra) {
    const char* chosen = std::getenv("HOOKSTREAM_GATEWAY");
    const std::string binary = chosen && *chosen ? chosen : HOOKSTREAM_GATEWAY_BINARY;
    const auto stamp = std::to_string(::getpid()) + "-" + std::to_string(counter()++);
    out_ = fs::temp_directory_path() / ("hookstream-gateway-" + stamp + ".out");
    err_ = fs::temp_directory_path() / ("hookstream-gateway-" + stamp + ".err");
    std::vector<std::string> args{binary,        "--database-url",      test::database_url(),
                                  "--listen",    "127.0.0.1:0",         "--hookstream-listen",
                                  "127.0.0.1:0", "--threads",           "4",
                                  "--pool-size", "2",                   "--cursor-secret",
                                  "gateway-tests-cursor-secret-0123456789"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid;
    const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("could not start " + binary);
    pid_ = pid;
    // "...: router on http://127.0.0.1:P, hookstream's own port on http://127.0.0.1:Q, ..."
    const auto until = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < until) {
      const std::string text = read_file(out_);
      const auto r = text.find("router on http://127.0.0.1:");
      const auto o = text.find("own port on http://127.0.0.1:");
      if (r != std::string::npos && o != std::string::npos) {
        router_port_ = static_cast<unsigned short>(std::stoi(text.substr(r + 27)));
        own_port_ = static_cast<unsigned short>(std::stoi(text.substr(o + 29)));
        return;
      }
      int status;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(20ms);
    }
    throw std::runtime_error("the gateway did not start:\n" + output());
  }
  ~gateway_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    fs::remove(out_);
    fs::remove(err_);
  }
  gateway_process(const gateway_process&) = delete;
  gateway_process& operator=(const gateway_process&) = delete;

  unsigned short router_port() const { return router_port_; }
  unsigned short own_port() const { return own_port_; }
  /// SIGTERM, then the exit status (-1: killed by a signal or still running after 60 s).
  int stop() {
    ::kill(pid_, SIGTERM);
    const auto until = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < until) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(20ms);
    }
    return -1;
  }
  std::string output() const { return "stdout:\n" + read_file(out_) + "stderr:\n" + read_file(err_); }

 private:
  static std::atomic<int>& counter() {
    static std::atomic<int> n{0};
    return n;
  }
  int pid_ = -1;
  unsigned short router_port_ = 0, own_port_ = 0;
  fs::path out_, err_;
};

struct gateway_fixture {
  test::sql_session db;
  test::test_tenant a = test::make_tenant(db);
  test::test_tenant b = test::make_tenant(db);
  std::vector<std::string> a_ids = test::insert_attempts(db, a, std::vector<test::attempt_spec>(25));
  std::vector<std::string> b_ids = test::insert_attempts(db, b, {{}, {}, {}});
  const std::string a_token = "gw-token-a-" + test::random_hex(8);
  const std::string b_token = "gw-token-b-" + test::random_hex(8);
  gateway_process gateway{{"--tenant", a_token + "=" + a.org_id + "/" + a.env_id, "--tenant",
                           b_token + "=" + b.org_id + "/" + b.env_id}};

  std::string token(const std::string& t) const { return "X-Gateway-Token: " + t; }
  // Stops the gateway and requires a clean exit: drained, nothing abandoned.
  void stop_cleanly() {
    const int status = gateway.stop();
    BOOST_TEST(status == 0, "the gateway exited with " << status << "\n" << gateway.output());
    BOOST_TEST(gateway.output().find("(0 requests abandoned)") != std::string::npos);
  }
};

std::vector<std::string> ids_of(const test::http_result& r) {
  std::vector<std::string> ids;
  const auto body = r.json();  // (a range-for over a temporary's member would dangle)
  for (const auto& a : body.at("delivery_attempts").as_array()) ids.emplace_back(a.at("id").as_string());
  return ids;
}

double metric(const std::string& text, const std::string& series) {
  const auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(gateway, gateway_fixture)

// Way 1: the gateway's own header, its own refusal, and hookstream's answer for
// the tenant it resolved, whatever hookstream credential rides along.
BOOST_AUTO_TEST_CASE(the_gateways_own_auth_reaches_hookstream_as_a_tenant) {
  test::http_client client(gateway.router_port());
  const auto mine = client.get("/v1/delivery-attempts?limit=100", {token(a_token)});
  BOOST_TEST(mine.status == 200u);
  BOOST_TEST(ids_of(mine).size() == a_ids.size());
  BOOST_TEST(mine.json().at("pagination").at("total").as_int64() == 25);
  BOOST_TEST(!mine.header("ratelimit-limit").empty());
  BOOST_TEST(ids_of(client.get("/v1/delivery-attempts", {token(b_token)})).size() == b_ids.size());

  const auto stranger = client.get("/v1/delivery-attempts", {token("no-such-token")});
  BOOST_TEST(stranger.status == 401u);
  BOOST_TEST(stranger.json().at("gateway_error").as_string() == "unknown gateway token");  // the gateway's shape

  const auto with_b_key = client.get("/v1/delivery-attempts?limit=100", {token(a_token), test::api_key_header(b.api_key)});
  BOOST_TEST(ids_of(with_b_key).size() == a_ids.size());  // the gateway decided: A
  const auto foreign = client.get("/v1/delivery-attempts/" + b_ids[0], {token(a_token)});
  BOOST_TEST(foreign.status == 404u);
  const auto invalid = client.get("/v1/delivery-attempts?limit=0", {token(a_token)});
  BOOST_TEST(invalid.status == 400u);
  BOOST_TEST(invalid.json().at("request_id").as_string() == invalid.header("x-request-id"));
  stop_cleanly();
}

// Way 2: no gateway token, so the router hands the request to hookstream's own
// credential rules.
BOOST_AUTO_TEST_CASE(hookstream_credentials_work_through_the_gateways_router) {
  test::http_client client(gateway.router_port());
  BOOST_TEST(client.get("/gateway/health").body == "gateway ok\n");
  const auto by_key = client.get("/v1/delivery-attempts?limit=100", {test::api_key_header(a.api_key)});
  BOOST_TEST(by_key.status == 200u);
  BOOST_TEST(ids_of(by_key).size() == a_ids.size());
  const auto missing = client.get("/v1/delivery-attempts");
  BOOST_TEST(missing.status == 401u);
  BOOST_TEST(!missing.header("www-authenticate").empty());
  BOOST_TEST(client.get("/v1/delivery-attempts", {"X-API-Key: hs_live_" + std::string(64, '0')}).status == 401u);
  stop_cleanly();
}

// Way 3: hookstream's listener on the gateway's io_context. It knows nothing of
// the gateway's tokens.
BOOST_AUTO_TEST_CASE(hookstream_serves_its_own_port_on_the_gateways_io_context) {
  test::http_client client(gateway.own_port());
  BOOST_TEST(client.get("/healthz").status == 200u);
  BOOST_TEST(client.get("/readyz").status == 200u);
  BOOST_TEST(ids_of(client.get("/v1/delivery-attempts", {test::api_key_header(b.api_key)})).size() == b_ids.size());
  BOOST_TEST(client.get("/v1/delivery-attempts", {token(a_token)}).status == 401u);
  stop_cleanly();
}

// Requests go to the four handlers in turn, so a walk's pages are made by
// different handlers: one shared cursor secret makes every cursor work on all,
// and the pages of the gateway's path and hookstream's own port interleave.
BOOST_AUTO_TEST_CASE(a_cursor_walk_crosses_handlers_and_mounts) {
  test::http_client router(gateway.router_port());
  test::http_client own(gateway.own_port());
  std::vector<std::string> walked;
  std::string cursor;
  for (int page = 0; page < 20; ++page) {
    const std::string target = "/v1/delivery-attempts?limit=4" + (cursor.empty() ? "" : "&cursor=" + cursor);
    const auto r = page % 3 == 2 ? own.get(target, {test::api_key_header(a.api_key)})
                                 : router.get(target, {token(a_token)});
    BOOST_REQUIRE_MESSAGE(r.status == 200u, r.body);
    for (auto& id : ids_of(r)) walked.push_back(id);
    const auto body = r.json();
    const auto& next = body.at("pagination").at("next_cursor");
    if (next.is_null()) break;
    cursor = std::string(next.as_string());
  }
  BOOST_TEST(walked.size() == a_ids.size());
  BOOST_TEST(std::set<std::string>(walked.begin(), walked.end()).size() == a_ids.size());
  stop_cleanly();
}

// 16 clients with keep-alive connections, a mix of every way in, each answer
// checked; then /metrics must count exactly what hookstream answered (4
// handlers' counters, written from 4 threads), and the gateway must drain.
BOOST_AUTO_TEST_CASE(four_threads_under_load_every_answer_right) {
  constexpr int clients = 16, requests_each = 60;
  std::vector<std::string> a_newest_first = a_ids;  // all created at the same instant: id DESC
  std::sort(a_newest_first.rbegin(), a_newest_first.rend());
  std::atomic<int> wrong{0}, hookstream_2xx{0}, hookstream_4xx{0}, gateway_answers{0};
  std::mutex failures_mutex;
  std::vector<std::string> failures;
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      test::http_client router(gateway.router_port());
      test::http_client own(gateway.own_port());
      std::mt19937 rng(static_cast<unsigned>(c));
      for (int i = 0; i < requests_each; ++i) {
        std::string what;
        bool right = false;
        const int kind = static_cast<int>(rng() % 6);
        try {
        if (kind == 0) {  // the gateway's auth, a page and the page after it
          what = "token page + cursor";
          const auto limit = 1 + rng() % 10;
          const auto first = router.get("/v1/delivery-attempts?limit=" + std::to_string(limit), {token(a_token)});
          const auto next = first.json().at("pagination").at("next_cursor");
          const auto second = router.get("/v1/delivery-attempts?limit=" + std::to_string(limit) + "&cursor=" +
                                             std::string(next.as_string()),
                                         {token(a_token)});
          auto ids = ids_of(first);
          for (auto& id : ids_of(second)) ids.push_back(id);
          right = first.status == 200u && second.status == 200u && ids.size() == 2 * limit &&
                  std::equal(ids.begin(), ids.end(), a_newest_first.begin());
          hookstream_2xx += 2;
        } else if (kind == 1) {  // the gateway's auth, one of B's attempts
          what = "token single";
          const auto& id = b_ids[rng() % b_ids.size()];
          const auto r = router.get("/v1/delivery-attempts/" + id, {token(b_token)});
          right = r.status == 200u && r.json().at("delivery_attempt").at("id").as_string() == id;
          ++hookstream_2xx;
        } else if (kind == 2) {  // hookstream's key through the router
          what = "key through the router";
          const auto r = router.get("/v1/delivery-attempts?limit=100", {test::api_key_header(b.api_key)});
          right = r.status == 200u && ids_of(r).size() == b_ids.size();
          ++hookstream_2xx;
        } else if (kind == 3) {  // hookstream's own port
          what = "own port";
          const auto r = own.get("/v1/delivery-attempts?limit=5&status=success", {test::api_key_header(a.api_key)});
          right = r.status == 200u && ids_of(r).size() == 5u;
          ++hookstream_2xx;
        } else if (kind == 4) {  // refused by hookstream's validation
          what = "bad parameter";
          const auto r = router.get("/v1/delivery-attempts?limit=500", {token(a_token)});
          right = r.status == 400u && r.json().at("status").as_int64() == 400;
          ++hookstream_4xx;
        } else {  // refused by the gateway itself
          what = "unknown token";
          const auto r = router.get("/v1/delivery-attempts", {token("stale-token")});
          right = r.status == 401u && r.json().as_object().contains("gateway_error");
          ++gateway_answers;
        }
        } catch (const std::exception& e) {  // a body that is not the JSON expected
          what += std::string(": ") + e.what();
          right = false;
        }
        if (!right) {
          ++wrong;
          std::lock_guard lock(failures_mutex);
          if (failures.size() < 5) failures.push_back(what);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(wrong.load() == 0, "wrong answers, e.g.: " << (failures.empty() ? "" : failures.front()));
  const auto metrics = test::http_client(gateway.own_port()).get("/metrics").body;
  BOOST_TEST(metric(metrics, "hookstream_http_requests_total{class=\"2xx\"}") == hookstream_2xx.load());
  BOOST_TEST(metric(metrics, "hookstream_http_requests_total{class=\"4xx\"}") == hookstream_4xx.load());
  BOOST_TEST(metric(metrics, "hookstream_http_requests_in_flight") == 1);  // the /metrics request itself
  BOOST_TEST_MESSAGE(clients * requests_each << " client requests, " << gateway_answers.load()
                                             << " answered by the gateway alone");
  stop_cleanly();
}

BOOST_AUTO_TEST_SUITE_END()
