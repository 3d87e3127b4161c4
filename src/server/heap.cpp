#include "heap.hpp"

#include <climits>
#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace loanrisk::server::heap {

namespace {

// Whether the operator tuned malloc through the environment: their settings win.
bool tuned_by_environment() {
    for (const char* name : {"MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_",
                             "MALLOC_MMAP_MAX_"})
        if (std::getenv(name)) return true;
    const char* tunables = std::getenv("GLIBC_TUNABLES");
    return tunables && std::strstr(tunables, "glibc.malloc.");
}

}  // namespace

std::string keep_freed_memory() {
#if defined(__GLIBC__)
    if (tuned_by_environment()) return "malloc tunables from the environment kept (only the idle trim is added)";
    std::string note;
    if (!mallopt(M_ARENA_MAX, 1)) note += "; one arena refused";
    // A fixed threshold turns glibc's own moving one off. Older glibc refuses one above 32 MiB.
    if (!mallopt(M_MMAP_THRESHOLD, INT_MAX) && !mallopt(M_MMAP_THRESHOLD, 32 << 20))
        note += "; mmap threshold refused";
    else if (!mallopt(M_TRIM_THRESHOLD, INT_MAX))
        note += "; trim threshold refused";
    return note.empty() ? "" : "malloc settings incomplete" + note;
#else
    return "";
#endif
}

void release_freed_memory() {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}

}  // namespace loanrisk::server::heap
