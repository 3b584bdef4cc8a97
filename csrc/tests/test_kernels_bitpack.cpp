// Sign packing: every supported path bit for bit against the `reference`
// kernel: channel counts around the 32-channel masks and 64-bit words, with
// and without per-channel thresholds, values equal to the threshold (+1),
// zeros of both signs, infinities and NaN (-1), bordered output buffers that
// start with garbage (the border must stay as it was).
#include "test_kernels_util.hpp"

#include <limits>

#include "ops/bitpack/bitpack_kernels.hpp"

using namespace dirnet;
using namespace dirnet::testing;

TEST_CASE("bitpack: every path equals the reference") {
  Rng rng(99);
  const std::vector<int> channels = {1, 3, 31, 32, 33, 63, 64, 65, 96, 130, 200};
  for (int i = 0; i < 60; ++i) {
    const int C = rng.pick(channels), N = rng.uniform(1, 3), H = rng.uniform(1, 6), W = rng.uniform(1, 6);
    const bool use_thr = i % 2 == 1;
    Buffer<float> in(N, H, W, C, rng.uniform(0, 1));
    std::vector<float> thr(C);
    for (auto& t : thr) t = rng.normal();
    for (auto& v : in.data) {
      v = rng.normal();
      const int kind = rng.uniform(0, 19);
      if (kind == 0) v = 0.f;
      if (kind == 1) v = -0.f;
      if (kind == 2) v = std::numeric_limits<float>::quiet_NaN();
      if (kind == 3) v = rng.coin() ? std::numeric_limits<float>::infinity() : -std::numeric_limits<float>::infinity();
    }
    if (use_thr)  // x == thr packs as +1
      for (int c = 0; c < C; c += 3) in.at(0, 0, 0)[c] = thr[c];
    Buffer<uint64_t> out0(N, H, W, words_for(C), rng.uniform(0, 2));
    garbage(out0, rng);
    auto run = [&](const std::string& path) {
      Buffer<uint64_t> out = out0;
      PackParams p;
      p.in = fview(in, C);
      p.out = bview(out, C);
      p.thr = use_thr ? thr.data() : nullptr;
      run_chunked(bitpack_kernel(path), p, rng);
      return out;
    };
    const Buffer<uint64_t> want = run("reference");
    INFO("C" << C << " N" << N << " " << H << "x" << W << (use_thr ? " thr" : ""));
    for (const auto& path : optimized_paths()) {
      INFO("path " << path);
      CHECK(run(path) == want);
    }
  }
}

TEST_CASE("bitpack: the reference follows the definition") {
  Buffer<float> in(1, 1, 1, 70, 0);
  for (int c = 0; c < 70; ++c) in.at(0, 0, 0)[c] = c % 3 == 0 ? -1.f : (c % 3 == 1 ? 0.f : 2.f);
  Buffer<uint64_t> out(1, 1, 1, 2, 0);
  out.data.assign(out.data.size(), ~uint64_t(0));
  PackParams p;
  p.in = fview(in, 70);
  p.out = bview(out, 70);
  bitpack_kernel("reference")(p);
  uint64_t want[2] = {0, 0};
  for (int c = 0; c < 70; c += 3) want[c / 64] |= uint64_t(1) << (c % 64);  // only x < 0 is -1
  CHECK(out.data[0] == want[0]);
  CHECK(out.data[1] == want[1]);  // channel-padding bits 0
}
