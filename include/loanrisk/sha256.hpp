// SHA-256 (OpenSSL) for content hashes: model versions and training-data fingerprints.
#pragma once

#include <string>
#include <string_view>

namespace loanrisk::io {

// Lower-case hex digest of `bytes`.
std::string sha256_hex(std::string_view bytes);

}  // namespace loanrisk::io
