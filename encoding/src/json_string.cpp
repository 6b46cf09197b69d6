#include <hookstream/encoding/json_string.hpp>
#include <hookstream/encoding/utf8.hpp>

#include <bit>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
// The SSSE3 kernel is compiled for SSSE3 on its own (a target attribute) and
// run only when the CPU has it, so the library's baseline stays plain x86-64.
#include <tmmintrin.h>
#define HOOKSTREAM_JSON_SSSE3 1
// Likewise the AVX-512 kernel: its own target attribute, run only when the CPU
// has VBMI2 (byte expansion) with BW and VL, and BMI2.
#include <immintrin.h>
#define HOOKSTREAM_JSON_AVX512 1
#endif

namespace hookstream::encoding {
namespace {

constexpr bool is_special(unsigned char c) noexcept { return c < 0x20 || c == '"' || c == '\\' || c >= 0x80; }

#if defined(__SSE2__)
// Masks of a block, one bit per byte: '"' and '\\' (escaped with a backslash),
// and every other byte that needs care. One signed comparison catches both the
// controls (< 0x20) and the non-ASCII bytes (negative as signed).
struct block_marks {
  unsigned quotes, others;
};
inline block_marks marks_of(__m128i v) noexcept {
  const __m128i quotes = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
  return {static_cast<unsigned>(_mm_movemask_epi8(quotes)),
          static_cast<unsigned>(_mm_movemask_epi8(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20))))};
}

// Bit i set when byte i of the 16 at `q` cannot stand in a JSON string as is: a
// control character, '"', '\\', or not ASCII.
inline unsigned special_bits16(const char* q) noexcept {
  const block_marks m = marks_of(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q)));
  return m.quotes | m.others;
}
#else
inline unsigned special_bits16(const char* q) noexcept {
  unsigned bits = 0;
  for (int i = 0; i < 16; ++i) bits |= static_cast<unsigned>(is_special(static_cast<unsigned char>(q[i]))) << i;
  return bits;
}
#endif

// Copies n bytes, sizeof(Word) <= n <= 2 * sizeof(Word), as two words that
// may overlap: the first and the last sizeof(Word) bytes.
template <class Word>
inline void copy_two_words(char* p, const char* src, std::size_t n) noexcept {
  Word first, last;
  std::memcpy(&first, src, sizeof(Word));
  std::memcpy(&last, src + n - sizeof(Word), sizeof(Word));
  std::memcpy(p, &first, sizeof(Word));
  std::memcpy(p + n - sizeof(Word), &last, sizeof(Word));
}

// Copies a short run inline (most runs between escapes are a few bytes; a call
// to memcpy would cost more than the copy). Reads only [src, src + n).
inline char* copy_run(char* p, const char* src, std::size_t n) noexcept {
  if (n >= 16) {
    std::memcpy(p, src, n);
  } else if (n >= 8) {
    copy_two_words<std::uint64_t>(p, src, n);
  } else if (n >= 4) {
    copy_two_words<std::uint32_t>(p, src, n);
  } else {
    for (std::size_t i = 0; i < n; ++i) p[i] = src[i];
  }
  return p + n;
}

// The escape of each ASCII byte that needs one.
struct escape_table {
  char text[128][6];
  unsigned char size[128];
  constexpr escape_table() : text{}, size{} {
    constexpr char hex[] = "0123456789abcdef";
    for (int c = 0; c < 0x20; ++c) {
      const char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      for (int k = 0; k < 6; ++k) text[c][k] = u[k];
      size[c] = 6;
    }
    auto shorthand = [&](int c, char e) {
      text[c][0] = '\\';
      text[c][1] = e;
      size[c] = 2;
    };
    shorthand('\n', 'n');
    shorthand('\r', 'r');
    shorthand('\t', 't');
    shorthand('\b', 'b');
    shorthand('\f', 'f');
    shorthand('"', '"');
    shorthand('\\', '\\');
  }
};
constexpr escape_table escapes;

// One string being written. Bytes are scanned ahead of writing: [run, scan
// position) are plain bytes (or well-formed multi-byte characters) not yet
// copied, so a long plain stretch is copied in one go.
struct string_writer {
  char* out;
  std::string_view s;
  const char* run;

  // Copies the pending plain bytes up to `upto`.
  [[gnu::always_inline]] void flush(const char* upto) noexcept {
    out = copy_run(out, run, static_cast<std::size_t>(upto - run));
    run = upto;
  }

  // Handles the special byte at `at`: writes its escape (or U+FFFD for an
  // ill-formed sequence), or, for a well-formed multi-byte character, leaves it
  // in the run. Returns where scanning resumes.
  [[gnu::always_inline]] const char* special(const char* at) noexcept {
    const auto c = static_cast<unsigned char>(*at);
    if (c < 0x80) {
      flush(at);
      std::memcpy(out, escapes.text[c], 6);  // fixed-size copy; only size[c] bytes count
      out += escapes.size[c];
      return run = at + 1;
    }
    std::size_t bad = 0;
    if (const std::size_t len = utf8_sequence_at(s, static_cast<std::size_t>(at - s.data()), bad))
      return at + len;  // well formed: part of the run
    flush(at);
    std::memcpy(out, "\xEF\xBF\xBD", 3);  // U+FFFD REPLACEMENT CHARACTER
    out += 3;
    return run = at + bad;
  }

  // Handles the special bytes of the 16 at `block`, one bit each in `bits`.
  // Returns where scanning resumes: the block's end, or further when a
  // multi-byte character runs past it (its bytes are then already checked).
  [[gnu::always_inline]] const char* block(const char* block, unsigned bits) noexcept {
    while (bits) {
      const char* at = block + std::countr_zero(bits);
      const char* resume = special(at);
      if (static_cast<unsigned char>(*at) >= 0x80) return resume;  // the rest of the block from there
      bits &= bits - 1;
    }
    return block + 16;
  }

  // The last bytes from `q` on, fewer than 16, of a string of at least 16:
  // read as one more block, the string's last 16 bytes, with the `bits` of
  // those already scanned masked off (a block read at `q` would reach past the
  // string). Returns `end`, or where a multi-byte character ends.
  [[gnu::always_inline]] const char* last_block(const char* q, unsigned bits) noexcept {
    const char* const end = s.data() + s.size();
    const auto scanned = static_cast<unsigned>(16 - (end - q));
    return block(end - 16, bits >> scanned << scanned);
  }

  // The rest from `q`, byte by byte (a string shorter than a block, or after a
  // multi-byte character in the last block), then the pending run.
  [[gnu::always_inline]] void finish(const char* q) noexcept {
    const char* const end = s.data() + s.size();
    while (q < end) q = is_special(static_cast<unsigned char>(*q)) ? special(q) : q + 1;
    flush(end);
  }
};

char* put_json_string_portable(char* p, std::string_view s) noexcept {
  *p++ = '"';
  string_writer w{p, s, s.data()};
  const char* q = s.data();
  const char* const end = q + s.size();
  while (end - q >= 16) q = w.block(q, special_bits16(q));
  if (q < end && s.size() >= 16) q = w.last_block(q, special_bits16(end - 16));
  w.finish(q);
  *w.out++ = '"';
  return w.out;
}

#if HOOKSTREAM_JSON_SSSE3

// For each set of bytes to escape among eight (bit i: byte i is '"' or '\\'),
// the byte shuffle that spells the eight out with a backslash before each
// escaped one. It shuffles a register whose upper half is all backslashes, so
// index 8 reads one. `length` is what it spells: 8 + the escapes.
struct expansion_table {
  alignas(16) unsigned char index[256][16];
  unsigned char length[256];
  constexpr expansion_table() : index{}, length{} {
    for (int m = 0; m < 256; ++m) {
      int k = 0;
      for (int i = 0; i < 8; ++i) {
        if (m >> i & 1) index[m][k++] = 8;
        index[m][k++] = static_cast<unsigned char>(i);
      }
      length[m] = static_cast<unsigned char>(k);
      while (k < 16) index[m][k++] = 0x80;  // zero; past `length`
    }
  }
};
constexpr expansion_table expansions;

// Byte shuffles that move a block's bytes from `s` on to its front.
struct shift_table {
  alignas(16) unsigned char index[16][16];
  constexpr shift_table() : index{} {
    for (int s = 0; s < 16; ++s)
      for (int i = 0; i < 16; ++i) index[s][i] = static_cast<unsigned char>(i + s < 16 ? i + s : 0x80);
  }
};
constexpr shift_table shifts;

// Writes the eight bytes in the lower half of `half` with a backslash before
// those marked in `marks`; stores 16 bytes at `p`, returns the end of the
// `expansions.length[marks]` that count.
[[gnu::target("ssse3")]] inline char* expand_half(char* p, __m128i half, unsigned marks) noexcept {
  const __m128i with_backslashes = _mm_unpacklo_epi64(half, _mm_set1_epi8('\\'));
  const __m128i index = _mm_load_si128(reinterpret_cast<const __m128i*>(expansions.index[marks]));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm_shuffle_epi8(with_backslashes, index));
  return p + expansions.length[marks];
}

// The portable kernel spends a branch on every escape and on the length of
// every run between two, and the stored headers (JSON text) have an escape
// every dozen bytes. Here a plain block is stored as it is, and one whose only
// escapes are '"' and '\\' costs two shuffles and two stores whatever their
// number (measured on a first page's 810 strings, a plain store for the plain
// blocks beat shuffling every block); other blocks (controls, non-ASCII) take
// the portable path, byte by special byte.
[[gnu::target("ssse3")]] char* put_json_string_ssse3(char* p, std::string_view s) noexcept {
  *p++ = '"';
  string_writer w{p, s, s.data()};
  const char* q = s.data();
  const char* const end = q + s.size();
  // Whether the last 16 bytes written are the 16 bytes before `q`, as they are.
  bool copied_as_is = false;
  while (end - q >= 16) {  // w.run == q here
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
    const block_marks m = marks_of(v);
    copied_as_is = (m.quotes | m.others) == 0;
    if (m.others == 0) {
      if (m.quotes == 0) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(w.out), v);
        w.out += 16;
      } else {
        w.out = expand_half(w.out, v, m.quotes & 0xFF);
        w.out = expand_half(w.out, _mm_unpackhi_epi64(v, v), m.quotes >> 8);
      }
      q += 16;
      w.run = q;
      continue;
    }
    q = w.block(q, m.quotes | m.others);
    w.flush(q);
  }
  // The last 1-15 bytes of a string of 16 or more: its last 16 bytes, shifted
  // so that the unscanned ones come first (zeros follow, never counted).
  if (q < end && s.size() >= 16) {
    const auto left = static_cast<unsigned>(end - q);
    const auto scanned = 16 - left;
    const __m128i last = _mm_loadu_si128(reinterpret_cast<const __m128i*>(end - 16));
    const block_marks m = marks_of(last);
    if (copied_as_is && ((m.quotes | m.others) >> scanned) == 0) {
      // Most ids and URLs: the string's last 16 bytes stored over the last
      // `scanned` bytes written, which are the same bytes.
      _mm_storeu_si128(reinterpret_cast<__m128i*>(w.out - scanned), last);
      w.out += left;
      w.run = q = end;
    } else if ((m.others >> scanned) == 0) {
      const __m128i v = _mm_shuffle_epi8(last, _mm_load_si128(reinterpret_cast<const __m128i*>(shifts.index[scanned])));
      const unsigned quotes = m.quotes >> scanned;
      if (left <= 8) {
        w.out = expand_half(w.out, v, quotes) - (8 - left);
      } else {
        w.out = expand_half(w.out, v, quotes & 0xFF);
        w.out = expand_half(w.out, _mm_unpackhi_epi64(v, v), quotes >> 8) - (16 - left);
      }
      w.run = q = end;
    } else {
      q = w.last_block(q, m.quotes | m.others);
    }
  }
  w.finish(q);
  *w.out++ = '"';
  return w.out;
}

#endif  // HOOKSTREAM_JSON_SSSE3

#if HOOKSTREAM_JSON_AVX512

#define HOOKSTREAM_AVX512_TARGET "avx512f,avx512bw,avx512vl,avx512vbmi2,bmi,bmi2,popcnt"

// The bytes of a 32-byte block that need care, one bit each: `quotes` ('"' and
// '\\', escaped with a backslash) and `others` (controls and non-ASCII bytes).
struct block32_marks {
  std::uint32_t quotes, others;
};
[[gnu::target(HOOKSTREAM_AVX512_TARGET)]] inline block32_marks marks32_of(__m256i v) noexcept {
  return {_mm256_cmpeq_epi8_mask(v, _mm256_set1_epi8('"')) | _mm256_cmpeq_epi8_mask(v, _mm256_set1_epi8('\\')),
          // Signed: the controls (< 0x20) and the non-ASCII bytes (negative).
          _mm256_cmplt_epi8_mask(v, _mm256_set1_epi8(0x20))};
}

// Writes the `n` (<= 32) bytes of `v` at `p` with a backslash before those
// marked in `quotes`, and returns the end. One byte expansion (VPEXPANDB) puts
// the bytes in place and backslashes in the gaps: bit j of `positions` is set
// when output byte j is an input byte. Each input byte takes two slots, its own
// (odd) and a backslash (even) if marked; PEXT squeezes out the unused even
// slots. Stores 64 bytes, or with `masked` only the n + popcount(quotes) that
// count.
template <bool masked>
[[gnu::target(HOOKSTREAM_AVX512_TARGET), gnu::always_inline]] inline char* put_escaped32(char* p, __m256i v,
                                                                                       std::uint32_t quotes,
                                                                                       unsigned n) noexcept {
  constexpr std::uint64_t odd = 0xAAAAAAAAAAAAAAAAull, even = 0x5555555555555555ull;
  const std::uint64_t positions = _pext_u64(odd, odd | _pdep_u64(quotes, even));
  const __m512i escaped = _mm512_mask_expand_epi8(_mm512_set1_epi8('\\'), positions, _mm512_castsi256_si512(v));
  const unsigned written = n + static_cast<unsigned>(std::popcount(quotes));
  if constexpr (masked)
    _mm512_mask_storeu_epi8(p, _bzhi_u64(~0ull, written), escaped);
  else
    _mm512_storeu_si512(p, escaped);
  return p + written;
}

// The string from `q` on, where a block with controls or non-ASCII bytes
// starts: those 16 bytes the portable way (or up to the end of a multi-byte
// character that starts there), the rest as the fast path does. Out of line, so
// that the fast path calls nothing and keeps its constants in registers.
[[gnu::target(HOOKSTREAM_AVX512_TARGET), gnu::noinline]] char* put_json_string_avx512_rest(char* p, std::string_view s,
                                                                                         const char* q) noexcept {
  string_writer w{p, s, q};
  const char* const end = s.data() + s.size();
  while (end - q >= 32) {  // w.run == q here
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q));
    const block32_marks m = marks32_of(v);
    if (m.others == 0) {
      w.out = put_escaped32<false>(w.out, v, m.quotes, 32);
      w.run = q += 32;
      continue;
    }
    q = w.block(q, (m.quotes | m.others) & 0xFFFF);
    w.flush(q);
  }
  if (q < end) {  // w.run == q here
    const auto left = static_cast<unsigned>(end - q);
    const __mmask32 in = _bzhi_u32(~0u, left);
    const __m256i v = _mm256_maskz_loadu_epi8(in, q);
    const block32_marks m = marks32_of(v);
    if ((m.others & in) == 0) {
      w.out = put_escaped32<true>(w.out, v, m.quotes & in, left);
      w.run = q = end;
    }
  }
  w.finish(q);
  *w.out++ = '"';
  return w.out;
}

// The SSSE3 kernel's two-way branch (a plain block, or one with quotes) is hard
// to predict in the stored headers, which have a quote every dozen bytes. Here
// every block whose only escapes are '"' and '\\' (or none) is written the same
// way, without a branch on them, 32 bytes at a time. The last 1-31 bytes (all
// of a short string) are read and written with masks, which touch no byte
// outside the input and the literal. At the first block with controls or
// non-ASCII bytes the rest of the string goes to put_json_string_avx512_rest.
[[gnu::target(HOOKSTREAM_AVX512_TARGET)]] char* put_json_string_avx512(char* p, std::string_view s) noexcept {
  *p++ = '"';
  const char* q = s.data();
  const char* const end = q + s.size();
  while (end - q >= 32) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q));
    const block32_marks m = marks32_of(v);
    if (m.others != 0) [[unlikely]]
      return put_json_string_avx512_rest(p, s, q);
    p = put_escaped32<false>(p, v, m.quotes, 32);
    q += 32;
  }
  if (q < end) {
    const auto left = static_cast<unsigned>(end - q);
    const __mmask32 in = _bzhi_u32(~0u, left);
    const __m256i v = _mm256_maskz_loadu_epi8(in, q);
    const block32_marks m = marks32_of(v);
    if ((m.others & in) != 0) [[unlikely]]
      return put_json_string_avx512_rest(p, s, q);
    p = put_escaped32<true>(p, v, m.quotes & in, left);
  }
  *p++ = '"';
  return p;
}

inline bool has_avx512_kernel() noexcept {
  return __builtin_cpu_supports("avx512vbmi2") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("bmi2");
}

#endif  // HOOKSTREAM_JSON_AVX512

}  // namespace

const char* json_string_kernel_name(json_string_kernel kernel) noexcept {
  switch (kernel) {
    case json_string_kernel::portable:
      return "portable";
    case json_string_kernel::ssse3:
      return "ssse3";
    case json_string_kernel::avx512:
      return "avx512";
  }
  return "unknown";
}

bool json_string_kernel_available(json_string_kernel kernel) noexcept {
  switch (kernel) {
    case json_string_kernel::portable:
      return true;
    case json_string_kernel::ssse3:
#if HOOKSTREAM_JSON_SSSE3
      return __builtin_cpu_supports("ssse3");
#else
      return false;
#endif
    case json_string_kernel::avx512:
#if HOOKSTREAM_JSON_AVX512
      return has_avx512_kernel();
#else
      return false;
#endif
  }
  return false;
}

char* put_json_string(json_string_kernel kernel, char* out, std::string_view s) noexcept {
#if HOOKSTREAM_JSON_AVX512
  if (kernel == json_string_kernel::avx512) return put_json_string_avx512(out, s);
#endif
#if HOOKSTREAM_JSON_SSSE3
  if (kernel == json_string_kernel::ssse3) return put_json_string_ssse3(out, s);
#endif
  (void)kernel;
  return put_json_string_portable(out, s);
}

char* put_json_string(char* out, std::string_view s) noexcept {
  // A load and a predicted branch per string; no start-up order to get wrong
  // (before libgcc has read the CPU, it answers "no", and the portable kernel
  // writes the same bytes).
#if HOOKSTREAM_JSON_AVX512
  if (has_avx512_kernel()) return put_json_string_avx512(out, s);
#endif
#if HOOKSTREAM_JSON_SSSE3
  if (__builtin_cpu_supports("ssse3")) return put_json_string_ssse3(out, s);
#endif
  return put_json_string_portable(out, s);
}

}  // namespace hookstream::encoding
