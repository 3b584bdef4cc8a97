#include "threadpool.hpp"

#include <chrono>
#include <stdexcept>

#if defined(__linux__)
#include <sched.h>
#endif
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define DIRNET_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define DIRNET_PAUSE() asm volatile("yield")
#else
#define DIRNET_PAUSE() std::this_thread::yield()
#endif

namespace dirnet {

int available_cpus() {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
#endif
  const unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? int(n) : 1;
}

ThreadPool::ThreadPool(int threads) {
  if (threads < 1) threads = 1;
  workers_.reserve(threads - 1);
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_.store(true);
    gen_.fetch_add(1);
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::work(uint64_t gen) {
  const uint64_t tag = gen & ((uint64_t(1) << (64 - kIdxBits)) - 1);
  const uint64_t mask = (uint64_t(1) << kIdxBits) - 1;
  // Seqlock-style read of the job description: run() marks the ticket with
  // the next job's tag (index exhausted) before it rewrites fn/ctx/n/chunk, so
  // a late worker of an older job that reads the fields while they change sees
  // a different tag on the second ticket read and leaves without claiming.
  uint64_t v = ticket_.load(std::memory_order_acquire);
  if ((v >> kIdxBits) != tag) return;
  const RangeFn fn = fn_.load(std::memory_order_relaxed);
  const void* ctx = ctx_.load(std::memory_order_relaxed);
  const int64_t n = n_.load(std::memory_order_relaxed);
  const int64_t chunk = chunk_.load(std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_acquire);
  v = ticket_.load(std::memory_order_relaxed);
  for (;;) {
    if ((v >> kIdxBits) != tag) return;  // another job by now
    const int64_t b = int64_t(v & mask);
    if (b >= n) return;
    if (!ticket_.compare_exchange_weak(v, v + uint64_t(chunk), std::memory_order_acq_rel))
      continue;
    const int64_t e = b + chunk < n ? b + chunk : n;
    fn(ctx, b, e);
    done_.fetch_add(e - b, std::memory_order_acq_rel);
    v = ticket_.load(std::memory_order_acquire);
  }
}

void ThreadPool::worker_loop() {
  uint64_t seen = 0;
  for (;;) {
    // Spin for up to ~200 us (an inference is many short loops back to back),
    // then sleep until the next job.
    auto t0 = std::chrono::steady_clock::now();
    int spins = 0;
    while (gen_.load(std::memory_order_acquire) == seen) {
      DIRNET_PAUSE();
      if (++spins == 256) {
        spins = 0;
        if (std::chrono::steady_clock::now() - t0 > std::chrono::microseconds(200)) {
          std::unique_lock<std::mutex> lk(mu_);
          cv_.wait(lk, [&] { return gen_.load(std::memory_order_acquire) != seen; });
        }
      }
    }
    seen = gen_.load(std::memory_order_acquire);
    if (stop_.load()) return;
    work(seen);
  }
}

void ThreadPool::run(int64_t n, RangeFn fn, const void* ctx, int64_t grain) {
  if (n <= 0) return;
  if (n >= (int64_t(1) << kIdxBits)) throw std::length_error("dirnet: parallel loop too large");
  if (grain < 1) grain = 1;
  const int T = size();
  if (T == 1 || n <= grain) {
    fn(ctx, 0, n);
    return;
  }
  // Chunks of about a quarter of a thread's share let a thread whose core is
  // busy with something else fall behind without stalling the others.
  int64_t chunk = n / (int64_t(T) * 4);
  if (chunk < grain) chunk = grain;
  {
    // Invalidate the current ticket before the job fields change (see work()).
    const uint64_t next_tag = (gen_.load() + 1) & ((uint64_t(1) << (64 - kIdxBits)) - 1);
    ticket_.store((next_tag << kIdxBits) | ((uint64_t(1) << kIdxBits) - 1),
                  std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
  }
  n_.store(n, std::memory_order_relaxed);
  chunk_.store(chunk, std::memory_order_relaxed);
  fn_.store(fn, std::memory_order_relaxed);
  ctx_.store(ctx, std::memory_order_relaxed);
  done_.store(0, std::memory_order_relaxed);
  uint64_t g;
  {
    std::lock_guard<std::mutex> lk(mu_);
    g = gen_.load() + 1;
    const uint64_t tag = g & ((uint64_t(1) << (64 - kIdxBits)) - 1);
    ticket_.store(tag << kIdxBits, std::memory_order_release);
    gen_.store(g, std::memory_order_release);
  }
  cv_.notify_all();
  work(g);
  // Wait for chunks other threads still run. Yield after a short spin: on an
  // oversubscribed machine the thread we wait for may need this very core.
  for (int spins = 0; done_.load(std::memory_order_acquire) < n; ++spins) {
    if (spins < 2000) DIRNET_PAUSE();
    else std::this_thread::yield();
  }
}

}  // namespace dirnet
