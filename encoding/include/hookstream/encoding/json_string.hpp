// JSON string literals, written straight into a caller's buffer. The hot half of
// rendering a page: a first page of attempts is about 58 KB of text in 800
// strings, and the stored headers are themselves JSON text, with a quote to
// escape every dozen bytes.
#pragma once

#include <cstddef>
#include <string_view>

namespace hookstream::encoding {

/// Room `put_json_string` needs for `bytes` of input: every byte a six-byte
/// \u00XX escape at worst, the two quotes, and 16 bytes the block writers may
/// store past the end they return (they write whole 16-byte registers).
constexpr std::size_t json_string_room(std::size_t bytes) noexcept { return 6 * bytes + 2 + 16; }

/// Writes `s` as a quoted JSON string at `out` and returns the new end. `out`
/// must have `json_string_room(s.size())` bytes of room; bytes past the
/// returned end may have been overwritten. `"`, `\` and control characters are
/// escaped (`\n`, `\t`... or `\u00XX`); well-formed UTF-8 passes through; each
/// ill-formed sequence becomes U+FFFD, as a WHATWG decoder reads it.
/// Runs the fastest kernel this CPU has: each call asks libgcc's record of the
/// CPU (read once, at start-up), a load and a predicted branch.
char* put_json_string(char* out, std::string_view s) noexcept;

/// The kernels `put_json_string` chooses between, for tests and benchmarks.
/// All of them write exactly the same bytes.
enum class json_string_kernel {
  /// Sixteen bytes scanned at a time (SSE2 on x86-64; a byte loop elsewhere);
  /// each byte to escape is written on its own.
  portable,
  /// x86-64 with SSSE3: a block whose only bytes to escape are `"` and `\`
  /// is written with one byte shuffle per half, whatever their number.
  ssse3,
  /// x86-64 with AVX-512 VBMI2, BW and VL, and BMI2: 32 bytes at a time, a
  /// block whose only bytes to escape are `"` and `\` written with one byte
  /// expansion, whatever their number; the last bytes read and written with
  /// masks.
  avx512,
};

/// Every kernel, slowest first (tests and benchmarks run those available).
inline constexpr json_string_kernel json_string_kernels[] = {json_string_kernel::portable, json_string_kernel::ssse3,
                                                             json_string_kernel::avx512};

/// The kernel's name, as tests and benchmarks print it: "portable", "ssse3", "avx512".
const char* json_string_kernel_name(json_string_kernel kernel) noexcept;

/// True when this build and this CPU can run `kernel`.
bool json_string_kernel_available(json_string_kernel kernel) noexcept;

/// `put_json_string` with a given kernel. Precondition: the kernel is available.
char* put_json_string(json_string_kernel kernel, char* out, std::string_view s) noexcept;

}  // namespace hookstream::encoding
