// Errors as values: decoders, loaders and the kernel return result<T> instead of throwing on bad input.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <variant>

namespace loanrisk {

// What went wrong and where: `where` is a JSON path ("features[3].weights[2]"), a CSV
// position ("line 17, column person_age") or empty when the whole input is at fault.
struct error {
    std::string what;
    std::string where;
    std::size_t offset = 0;  // byte offset into the input, when known
    // Machine-readable kind for the wire ("malformed_json", "malformed_csv", "invalid_field", ...);
    // empty where the caller decides.
    std::string code = {};

    std::string message() const { return where.empty() ? what : where + ": " + what; }
};

template <class T>
class [[nodiscard]] result {
public:
    result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
    result(error e) : state_(std::in_place_index<1>, std::move(e)) {}

    bool ok() const { return state_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<0>(state_); }
    const T& value() const& { return std::get<0>(state_); }
    T&& value() && { return std::get<0>(std::move(state_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const error& err() const { return std::get<1>(state_); }

private:
    std::variant<T, error> state_;
};

// For operations that produce nothing but may fail.
struct ok_t {};
using status = result<ok_t>;
inline status ok() { return ok_t{}; }

}  // namespace loanrisk
