// SHA-256 through OpenSSL's EVP interface (the one-shot SHA256() is deprecated in OpenSSL 3).
#include "loanrisk/sha256.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace loanrisk::io {

std::string sha256_hex(std::string_view bytes) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("OpenSSL EVP_Digest(sha256) failed");
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * length);
    for (unsigned int i = 0; i < length; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 0xf];
    }
    return out;
}

}  // namespace loanrisk::io
