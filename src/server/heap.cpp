#include "heap.hpp"

#include <climits>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace loanrisk::server::heap {

void keep_freed_memory() {
#if defined(__GLIBC__)
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_MMAP_THRESHOLD, INT_MAX);  // fixed: glibc's own moving threshold is off from here on
    mallopt(M_TRIM_THRESHOLD, INT_MAX);
#endif
}

void release_freed_memory() {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}

}  // namespace loanrisk::server::heap
