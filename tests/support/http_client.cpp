#include "support/http_client.hpp"

#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <cctype>

namespace hookstream::test {
namespace asio = boost::asio;
namespace http = boost::beast::http;

http_client::http_client(unsigned short port) : port_(port), socket_(io_) { connect(); }

void http_client::connect() {
  boost::system::error_code ignored;
  socket_.close(ignored);
  buffer_.clear();
  socket_.connect({asio::ip::make_address("127.0.0.1"), port_});
  open_ = true;
}

http_result http_client::get(const std::string& target, const std::vector<std::string>& headers) {
  if (!open_) connect();
  http::request<http::string_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1");
  for (const auto& h : headers) {
    const auto colon = h.find(':');
    std::string value = h.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    req.set(h.substr(0, colon), value);
  }
  http::write(socket_, req);
  http::response<http::string_body> res;
  http::read(socket_, buffer_, res);
  if (!res.keep_alive()) open_ = false;
  http_result out;
  out.status = res.result_int();
  out.body = std::move(res.body());
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(f.value());
  }
  return out;
}

}  // namespace hookstream::test
