#include <hookstream/encoding/ascii.hpp>
#include <hookstream/server/gzip.hpp>

#include <zlib.h>

namespace hookstream::server {
using encoding::iequals;
using encoding::trim_blanks;

bool accepts_gzip(std::string_view header) noexcept {
  bool star = false, gzip = false, gzip_refused = false;
  while (!header.empty()) {
    const auto comma = header.find(',');
    std::string_view item = trim_blanks(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    const auto semi = item.find(';');
    const std::string_view coding = trim_blanks(item.substr(0, semi));
    bool zero = false;
    if (semi != std::string_view::npos) {
      std::string_view q = trim_blanks(item.substr(semi + 1));
      if (q.size() >= 2 && (q[0] == 'q' || q[0] == 'Q') && q[1] == '=') {
        q = trim_blanks(q.substr(2));
        zero = !q.empty() && q.find_first_not_of("0.") == std::string_view::npos;
      }
    }
    if (iequals(coding, "gzip") || iequals(coding, "x-gzip")) {
      gzip = !zero;
      gzip_refused = zero;
    } else if (coding == "*") {
      star = !zero;
    }
  }
  return gzip || (star && !gzip_refused);
}

std::optional<std::string> gzip_compress(std::string_view data, int level) {
  z_stream zs{};
  // windowBits 15 + 16: a gzip wrapper rather than raw zlib.
  if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return std::nullopt;
  std::string out;
  out.resize(deflateBound(&zs, static_cast<uLong>(data.size())));
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  const auto written = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return std::nullopt;
  out.resize(written);
  return out;
}

}  // namespace hookstream::server
