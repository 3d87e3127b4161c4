// The part pool behind run_parts (loanrisk/parallel.hpp). Jobs wait in a queue; the caller and the pool's
// threads claim a job's parts in order under one mutex (parts are large: a piece of a body, a chunk of
// loans), so a part is claimed once, and a caller whose parts no thread took runs them itself. A job lives
// on its caller's stack: a thread touches it only under the mutex or while running a part it claimed, and
// the caller returns only when every part is done.
#include <condition_variable>
#include <deque>
#include <mutex>

#include "loanrisk/parallel.hpp"

namespace loanrisk::core::detail {
namespace {

struct job {
    job(part_fn fn, std::size_t n) : f(fn), parts(n) {}
    part_fn f;
    std::size_t parts;
    std::size_t next = 1;  // the next part not yet claimed (part 0 is the caller's)
    std::size_t done = 0;
    std::condition_variable finished;  // done == parts
};

class part_pool {
public:
    void run(std::size_t n, part_fn f) {
        if (n == 0) return;
        if (n == 1) {
            f.call(f.fn, 0);
            return;
        }
        job j(f, n);
        std::unique_lock<std::mutex> lock(m_);
        queue_.push_back(&j);
        unclaimed_ += n - 1;
        // An idle thread for every part waiting, this job's and others' (a failed start leaves parts to their
        // callers).
        while (threads_ - busy_ < unclaimed_ && threads_ < max_pool_threads) {
            try {
                std::thread([this] { work(); }).detach();
                ++threads_;
            } catch (...) {
                break;
            }
        }
        for (std::size_t k = 1; k < n; ++k) work_.notify_one();  // a thread per part, not every idle one
        lock.unlock();
        f.call(f.fn, 0);
        lock.lock();
        ++j.done;
        while (j.next < n) {  // what no thread took
            const std::size_t t = claim(j);
            lock.unlock();
            f.call(f.fn, t);
            lock.lock();
            ++j.done;
        }
        j.finished.wait(lock, [&] { return j.done == n; });
    }

    std::size_t threads() {
        std::lock_guard<std::mutex> lock(m_);
        return threads_;
    }

private:
    // The job's next part; the job leaves the queue with its last. Under m_.
    std::size_t claim(job& j) {
        const std::size_t t = j.next++;
        --unclaimed_;
        if (j.next == j.parts) std::erase(queue_, &j);
        return t;
    }

    // A pool thread: runs parts as long as the process lives (never joined: a part still running when the
    // process exits is simply ended with it).
    void work() {
        std::unique_lock<std::mutex> lock(m_);
        for (;;) {
            work_.wait(lock, [&] { return !queue_.empty(); });
            job& j = *queue_.front();
            const std::size_t t = claim(j);
            ++busy_;
            lock.unlock();
            j.f.call(j.f.fn, t);
            lock.lock();
            --busy_;
            if (++j.done == j.parts) j.finished.notify_one();  // under m_: the caller cannot leave before this
        }
    }

    std::mutex m_;
    std::condition_variable work_;
    std::deque<job*> queue_;
    std::size_t threads_ = 0;
    std::size_t busy_ = 0;       // threads running a part
    std::size_t unclaimed_ = 0;  // parts of the queued jobs that no thread has taken yet
};

part_pool& pool() {
    static part_pool* p = new part_pool;  // never destroyed: its threads may outlive static destruction
    return *p;
}

}  // namespace

void run_in_pool(std::size_t n, part_fn f) { pool().run(n, f); }

std::size_t pool_threads() { return pool().threads(); }

}  // namespace loanrisk::core::detail
