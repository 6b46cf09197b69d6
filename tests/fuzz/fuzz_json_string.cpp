// Fuzz target: JSON string literals (encoding::put_json_string), every kernel.
//
// The input is one string. Each kernel this CPU has writes it into a heap
// buffer of exactly json_string_room(size) bytes, so AddressSanitizer catches a
// store past the room the header promises (the kernels store whole 16-byte
// registers) as well as a read past the input (libFuzzer's buffer is exact).
// Checked beyond that:
// - every kernel writes the same bytes;
// - the literal parses as JSON (Boost.JSON) to a string that is strict UTF-8,
//   and equals the input whenever the input is strict UTF-8;
// - the literal holds no raw control character.
#include "fuzz_support.hpp"

#include <hookstream/encoding/json_string.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace {
namespace enc = hookstream::encoding;
namespace fz = hookstream::fuzz;

std::string written_by(enc::json_string_kernel kernel, std::string_view input) {
  const std::size_t room = enc::json_string_room(input.size());
  const auto buffer = std::make_unique<char[]>(room);
  char* end = enc::put_json_string(kernel, buffer.get(), input);
  FUZZ_CHECK(end > buffer.get() && end <= buffer.get() + room, "the literal ends outside its room");
  return std::string(buffer.get(), end);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::string literal = written_by(enc::json_string_kernel::portable, input);
  for (auto kernel : enc::json_string_kernels)
    if (kernel != enc::json_string_kernel::portable && enc::json_string_kernel_available(kernel))
      FUZZ_CHECK(written_by(kernel, input) == literal, "the kernels disagree");

  for (const char c : literal) FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20, "a raw control character");
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(literal, ec);
  FUZZ_CHECK(!ec && v.is_string(), "the literal is not a JSON string");
  const std::string_view decoded = v.as_string();
  FUZZ_CHECK(fz::strict_utf8(decoded), "the literal decodes to ill-formed UTF-8");
  if (fz::strict_utf8(input)) FUZZ_CHECK(decoded == input, "a well-formed string did not round-trip");
  return 0;
}
