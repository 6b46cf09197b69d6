#include "embedding/embedding_support.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

namespace hookstream::test {
namespace asio = boost::asio;

threaded_io::threaded_io(unsigned threads)
    : guard_(std::make_unique<asio::executor_work_guard<asio::io_context::executor_type>>(io_.get_executor())) {
  for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { io_.run(); });
}

threaded_io::~threaded_io() { join(); }

void threaded_io::join() {
  guard_.reset();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

void threaded_io::stop_and_join() {
  io_.stop();
  join();
}

storage::pool_stats stats_of(storage::connection_pool& pool) {
  return asio::co_spawn(
             pool.executor().get(), [&]() -> asio::awaitable<storage::pool_stats> { co_return pool.stats(); },
             asio::use_future)
      .get();
}

storage::pool_config pool_settings(std::size_t max_size) {
  storage::pool_config c;
  c.conninfo = database_url();
  c.max_size = max_size;
  return c;
}

server::handler_config handler_settings() {
  server::handler_config c;
  c.cursor_secret = "embedding-tests-cursor-secret-0123456789";
  return c;
}

server::http_request get_request(const std::string& target, const std::vector<std::string>& headers) {
  server::http_request req{boost::beast::http::verb::get, target, 11};
  req.set(boost::beast::http::field::host, "gateway.test");
  for (const auto& h : headers) {
    const auto colon = h.find(':');
    std::string value = h.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    req.set(h.substr(0, colon), value);
  }
  return req;
}

boost::json::value json_of(const server::http_response& res) { return boost::json::parse(res.body()); }

std::vector<std::string> ids_of(const server::http_response& res) {
  std::vector<std::string> ids;
  const auto body = json_of(res);  // (a range-for over a temporary's member would dangle)
  for (const auto& a : body.at("delivery_attempts").as_array()) ids.emplace_back(a.at("id").as_string());
  return ids;
}

void check_error_body(const server::http_response& res) {
  const auto body = json_of(res).as_object();
  BOOST_TEST(body.at("status").as_int64() == static_cast<std::int64_t>(res.result_int()));
  BOOST_TEST(!body.at("error").as_string().empty());
  BOOST_TEST(std::string(body.at("request_id").as_string()) == std::string(res["X-Request-Id"]));
}

}  // namespace hookstream::test
