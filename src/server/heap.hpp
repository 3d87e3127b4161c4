// What `loanrisk serve` does with memory its requests free (glibc's malloc).
//
// By default glibc gives a freed block above its mmap threshold, or the top of a heap past its trim threshold,
// back to the kernel at once, and a thread's arena cannot hold a block above 64 MiB at all. A large
// /batch_predict (its body, the decoded columns, the results) then has every page of those buffers faulted in
// and zeroed afresh on each request: measured on a 29 MB JSON body, thousands of page faults (3,000-15,000)
// and about a fifth of the throughput, varying with where the blocks happened to land. Kept instead, the
// next request reuses the pages; once large requests stop coming they go back to the kernel.
#pragma once

#include <string>

namespace loanrisk::server::heap {

// From now on, freed memory stays in the process for reuse until release_freed_memory(): one arena (the main
// heap, the only one without a size cap per block), blocks up to 2 GiB from it (32 MiB where an older glibc
// caps the threshold there), and no trimming on free. Call before starting threads. Leaves glibc's settings
// alone when the environment sets malloc tunables (GLIBC_TUNABLES, MALLOC_*), and does nothing where the C
// library is not glibc. Returns a note for the log when it did not do all of this, else "".
std::string keep_freed_memory();

// Returns the free pages of every heap to the kernel (malloc_trim). It holds the heap's lock while it works
// (tens of milliseconds for hundreds of MiB): allocations on other threads wait.
void release_freed_memory();

}  // namespace loanrisk::server::heap
