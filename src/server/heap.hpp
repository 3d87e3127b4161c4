// What `loanrisk serve` does with memory its requests free (glibc's malloc).
//
// By default glibc gives a freed block above its mmap threshold, or the top of a heap past its trim threshold,
// back to the kernel at once, and a thread's arena cannot hold a block above 64 MiB at all. A large
// /batch_predict (its body, the decoded columns, the results) then has every page of those buffers faulted in
// and zeroed afresh on each request: measured on a 29 MB JSON body, 3,000-11,000 page faults and about a
// fifth of the throughput, varying with where the blocks happened to land. Kept instead, the next request
// reuses the pages; once the server has been idle for a while they go back to the kernel.
#pragma once

namespace loanrisk::server::heap {

// From now on, freed memory stays in the process for reuse until release_freed_memory(): one arena (the main
// heap, the only one without a size cap per block), blocks up to 2 GiB from it, and no trimming on free.
// Call before starting threads. Does nothing where the C library is not glibc.
void keep_freed_memory();

// Returns the free pages of every heap to the kernel (malloc_trim).
void release_freed_memory();

}  // namespace loanrisk::server::heap
