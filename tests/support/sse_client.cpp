#include "support/sse_client.hpp"

#include "support/test_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace hookstream::test {
namespace {
using steady = std::chrono::steady_clock;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
}  // namespace

sse_client::sse_client(unsigned short port, const std::string& target, const std::vector<std::string>& headers,
                       int receive_buffer) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) throw std::runtime_error("socket failed");
  if (receive_buffer > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    throw std::runtime_error(std::string("connect failed: ") + std::strerror(errno));
  }
  std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n";
  for (const auto& h : headers) req += h + "\r\n";
  req += "\r\n";
  if (::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
    throw std::runtime_error("send failed");

  const auto deadline = steady::now() + std::chrono::seconds(10);
  std::size_t end;
  while ((end = raw_.find("\r\n\r\n")) == std::string::npos)
    if (!fill(deadline)) throw std::runtime_error("no response head: " + raw_.substr(0, 200));
  const std::string head = raw_.substr(0, end);
  raw_.erase(0, end + 4);
  std::size_t line_end = head.find("\r\n");
  const std::string status_line = head.substr(0, line_end);
  status_ = static_cast<unsigned>(std::stoul(status_line.substr(9, 3)));
  while (line_end != std::string::npos) {
    const std::size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string line = head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    headers_[lower(line.substr(0, colon))] = value;
  }
  chunked_ = lower(header("transfer-encoding")) == "chunked";
  if (status_ != 200) {
    const auto length = header("content-length").empty() ? 0 : std::stoul(header("content-length"));
    while (raw_.size() < length && fill(deadline)) {
    }
    error_body_ = raw_.substr(0, length);
  }
  // For the OpenAPI contract test: the head (and a refusal's body). A stream's
  // body never ends as one answer: it is recorded empty, its events are what
  // the live tail tests check.
  record_answer(target, http_result{status_, headers_, error_body_});
}

sse_client::~sse_client() { close(); }

void sse_client::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::string sse_client::header(const std::string& lower_name) const {
  auto it = headers_.find(lower_name);
  return it == headers_.end() ? std::string() : it->second;
}

bool sse_client::fill(steady::time_point deadline) {
  if (fd_ < 0 || eof_) return false;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now()).count();
  pollfd pfd{fd_, POLLIN, 0};
  if (::poll(&pfd, 1, static_cast<int>(std::max<long long>(0, left))) <= 0) return false;
  char buf[65536];
  const auto n = ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  raw_.append(buf, static_cast<std::size_t>(n));
  return true;
}

bool sse_client::decode_body() {
  if (!chunked_) {
    body_ += raw_;
    raw_.clear();
    return true;
  }
  for (;;) {
    const auto line_end = raw_.find("\r\n");
    if (line_end == std::string::npos) return true;
    const std::size_t size = std::stoul(raw_.substr(0, line_end), nullptr, 16);
    if (size == 0) {
      clean_end_ = true;
      ended_ = true;
      raw_.clear();
      return true;
    }
    if (raw_.size() < line_end + 2 + size + 2) return true;
    body_.append(raw_, line_end + 2, size);
    raw_.erase(0, line_end + 2 + size + 2);
  }
}

std::optional<sse_event> sse_client::take_event() {
  for (;;) {
    const auto end = body_.find("\n\n");
    if (end == std::string::npos) return std::nullopt;
    const std::string block = body_.substr(0, end);
    body_.erase(0, end + 2);
    sse_event e;
    bool has_field = false;
    std::size_t pos = 0;
    while (pos <= block.size()) {
      const auto nl = block.find('\n', pos);
      const std::string line = block.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
      pos = nl == std::string::npos ? block.size() + 1 : nl + 1;
      if (line.empty() || line[0] == ':') continue;
      const auto colon = line.find(':');
      const std::string field = line.substr(0, colon);
      std::string value = colon == std::string::npos ? std::string() : line.substr(colon + 1);
      if (!value.empty() && value[0] == ' ') value.erase(0, 1);
      if (field == "event") e.event = value, has_field = true;
      else if (field == "id") e.id = value, has_field = true;
      else if (field == "data") e.data += (e.data.empty() ? "" : "\n") + value, has_field = true;
    }
    if (!has_field) continue;  // a retry-only block
    if (e.event.empty()) e.event = "message";
    return e;
  }
}

std::optional<sse_event> sse_client::next(std::chrono::milliseconds timeout) {
  const auto deadline = steady::now() + timeout;
  for (;;) {
    if (auto e = take_event()) return e;
    if (ended_) return std::nullopt;
    if (!fill(deadline)) {
      if (eof_) {
        decode_body();
        if (auto e = take_event()) return e;
        ended_ = true;
      }
      return std::nullopt;
    }
    decode_body();
  }
}

}  // namespace hookstream::test
