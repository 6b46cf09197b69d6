#include <hookstream/server/response_head.hpp>

#include <string_view>

namespace hookstream::server {

bool needs_serializer(const http_response& response) noexcept { return response.chunked(); }

std::string response_head(const http_response& response) {
  const std::string_view reason = response.reason();
  // "HTTP/x.y NNN " (13 bytes), the reason, CRLF, the fields, then a blank line's CRLF.
  std::size_t size = 13 + reason.size() + 2 + 2;
  for (const auto& f : response) size += f.name_string().size() + 2 + f.value().size() + 2;

  std::string head;
  head.reserve(size);
  const unsigned version = response.version();
  head += "HTTP/";
  head += static_cast<char>('0' + version / 10);
  head += '.';
  head += static_cast<char>('0' + version % 10);
  head += ' ';
  const unsigned status = response.result_int();
  head += static_cast<char>('0' + status / 100);
  head += static_cast<char>('0' + status / 10 % 10);
  head += static_cast<char>('0' + status % 10);
  head += ' ';
  head += reason;
  head += "\r\n";
  for (const auto& f : response) {
    head += f.name_string();
    head += ": ";
    head += f.value();
    head += "\r\n";
  }
  head += "\r\n";
  return head;
}

}  // namespace hookstream::server
