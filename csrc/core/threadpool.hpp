// A small persistent thread pool (no OpenMP: torch ships its own runtime and a
// second one in the same process aborts with "OMP: Error #15").
//
// Workers spin briefly between jobs (one inference runs dozens of short
// parallel loops back to back), then sleep on a condition variable.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace dirnet {

using RangeFn = void (*)(const void* ctx, int64_t begin, int64_t end);

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return int(workers_.size()) + 1; }

  // Calls fn(ctx, b, e) on disjoint chunks covering [0, n); the calling thread
  // works too. `grain` is the smallest chunk worth handing to another thread.
  void run(int64_t n, RangeFn fn, const void* ctx, int64_t grain = 1);

 private:
  void worker_loop();
  void work(uint64_t gen);

  // A job is published as fields + a ticket (generation << 40 | next index).
  // Chunks are claimed by CAS on the ticket, so a worker that wakes late can
  // never run a chunk of a finished job; the caller waits only for the
  // claimed chunks to finish, never for an idle worker to wake up.
  static constexpr int kIdxBits = 40;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<uint64_t> gen_{0};
  std::atomic<uint64_t> ticket_{0};
  std::atomic<int64_t> done_{0};
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> n_{0}, chunk_{1};
  std::atomic<RangeFn> fn_{nullptr};
  std::atomic<const void*> ctx_{nullptr};
};

// Number of CPUs this process may run on (affinity mask), at least 1.
int available_cpus();

// pool.run over a callable f(begin, end) (lambdas with captures included).
template <typename F>
void parallel_for(ThreadPool& pool, int64_t n, int64_t grain, const F& f) {
  struct Call {
    const F* f;
    static void fn(const void* c, int64_t b, int64_t e) { (*static_cast<const Call*>(c)->f)(b, e); }
  } c{&f};
  pool.run(n, &Call::fn, &c, grain);
}

}  // namespace dirnet
