#include <hookstream/auth/digest.hpp>

#include <openssl/evp.h>

#include <cstdlib>
#include <cstring>
#include <memory>

namespace hookstream::auth {
namespace {

// Fetched once: the implicit fetch behind EVP_sha256() costs as much as hashing
// a short message.
const EVP_MD* sha256_algorithm() noexcept {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (md == nullptr) std::abort();  // libcrypto without SHA-256: nothing here can work
  return md;
}

struct context_deleter {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};

// One context per thread, reset by each digest's init.
EVP_MD_CTX* thread_context() noexcept {
  thread_local const std::unique_ptr<EVP_MD_CTX, context_deleter> context(EVP_MD_CTX_new());
  if (context == nullptr) std::abort();
  return context.get();
}

sha256_digest digest_of(std::string_view prefix, std::initializer_list<std::string_view> parts) noexcept {
  EVP_MD_CTX* const c = thread_context();
  sha256_digest out{};
  unsigned int len = 0;
  // With a valid algorithm and context these cannot fail but for lack of
  // memory, where aborting is what the rest of the process does too.
  if (EVP_DigestInit_ex2(c, sha256_algorithm(), nullptr) != 1) std::abort();
  if (!prefix.empty()) EVP_DigestUpdate(c, prefix.data(), prefix.size());
  for (const std::string_view part : parts) EVP_DigestUpdate(c, part.data(), part.size());
  if (EVP_DigestFinal_ex(c, out.data(), &len) != 1) std::abort();
  return out;
}

std::string_view as_text(const std::uint8_t* bytes, std::size_t size) noexcept {
  return {reinterpret_cast<const char*>(bytes), size};
}

}  // namespace

sha256_digest sha256(std::initializer_list<std::string_view> parts) noexcept { return digest_of({}, parts); }

hmac_sha256_key::hmac_sha256_key(std::string_view secret) noexcept {
  std::array<std::uint8_t, block_size> key{};
  if (secret.size() > block_size) {
    const sha256_digest hashed = sha256(secret);
    std::memcpy(key.data(), hashed.data(), hashed.size());
  } else {
    std::memcpy(key.data(), secret.data(), secret.size());
  }
  for (std::size_t i = 0; i < block_size; ++i) {
    inner_pad_[i] = key[i] ^ 0x36;
    outer_pad_[i] = key[i] ^ 0x5c;
  }
}

sha256_digest hmac_sha256_key::sign(std::initializer_list<std::string_view> parts) const noexcept {
  const sha256_digest inner = digest_of(as_text(inner_pad_.data(), block_size), parts);
  return digest_of(as_text(outer_pad_.data(), block_size), {as_text(inner.data(), inner.size())});
}

}  // namespace hookstream::auth
