// The binary 3x3 convolutions of ResNet-18 (224 x 224, batch 1) on the AVX2
// kernel, old against new in one process: driven by benchmarks/avx2_kernels.py,
// which compiles this file with the current avx2.cpp and a renamed copy of an
// older one (bconv2d_avx2_v0, from git), and links libdirnet_core.a.
//
//   bconv_layers time REPS          median ms per layer, both kernels interleaved
//   bconv_layers run KERNEL LAYER   one call (for valgrind --tool=callgrind)
//
// Each layer's epilogue is the one dirnet's ResNet-18 export fuses into its
// binary convs: BN scale/shift, residual, hardtanh, float and packed output.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "graph/prep.hpp"
#include "ops/bconv2d/bconv2d_kernels.hpp"

namespace dirnet {
void bconv2d_avx2_v0(const BConvParams& p, int64_t begin, int64_t end);
}
using namespace dirnet;

struct Layer {
  const char* name;
  int C, OC, H, stride;
};
static const Layer kLayers[] = {
    {"layer1 (64->64, 56x56)", 64, 64, 56, 1},      {"layer2.0.conv1 (64->128, s2)", 64, 128, 56, 2},
    {"layer2 (128->128, 28x28)", 128, 128, 28, 1},  {"layer3.0.conv1 (128->256, s2)", 128, 256, 28, 2},
    {"layer3 (256->256, 14x14)", 256, 256, 14, 1},  {"layer4.0.conv1 (256->512, s2)", 256, 512, 14, 2},
    {"layer4 (512->512, 7x7)", 512, 512, 7, 1},
};

struct Bench {
  BConvParams p;
  AVec<uint64_t> in, wb, outb;
  AVec<float> A, B, res, outf;
  AVec<int32_t> tapsum;
  std::vector<int64_t> off;
  int64_t items = 0, macs = 0;

  Bench(const Layer& L, bool zero_pad) {
    std::mt19937_64 g(42);
    const int Cw = words_for(L.C), H = L.H, bw = H + 2;
    const int OH = (H + 2 - 3) / L.stride + 1;
    in.assign(size_t(bw) * bw * Cw, 0);
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < H; ++x)
        for (int c = 0; c < Cw; ++c) in[(size_t(y + 1) * bw + x + 1) * Cw + c] = g();
    std::vector<uint64_t> w(size_t(L.OC) * 9 * Cw);
    for (auto& v : w) v = g();
    wb = block_bweights(w.data(), L.OC, 9, Cw);
    tapsum = tap_sums(w.data(), L.OC, 9, Cw, L.C);
    const int OCB = (L.OC + kBlk - 1) / kBlk, Ow = words_for(L.OC);
    A.assign(size_t(OCB) * kBlk, 0.01f);
    B.assign(size_t(OCB) * kBlk, 0.1f);
    res.assign(size_t(OH) * OH * L.OC, 0.5f);
    outf.assign(size_t(OH) * OH * L.OC, 0.f);
    outb.assign(size_t(OH) * OH * Ow, 0);
    for (int ky = 0; ky < 3; ++ky) off.push_back(int64_t(ky) * bw * Cw);
    p.in.data = in.data() + (size_t(bw) + 1) * Cw;
    p.in.rs = int64_t(bw) * Cw; p.in.ps = Cw; p.in.ns = int64_t(bw) * p.in.rs;
    p.in.N = 1; p.in.H = H; p.in.W = H; p.in.C = L.C; p.in.Cw = Cw;
    p.OH = OH; p.OW = OH; p.OC = L.OC; p.OCB = OCB;
    p.KH = p.KW = 3; p.sh = p.sw = L.stride; p.pt = p.pl = 1;
    p.ntaps = 3; p.rlen = 3 * Cw; p.tap_off = off.data(); p.w = wb.data();
    p.Kbits = L.C * 9;
    p.tapsum = zero_pad ? tapsum.data() : nullptr;
    Epilogue& e = p.ep;
    e.kind = EP_FLOAT; e.OC = L.OC; e.A = A.data(); e.B = B.data();
    e.act = ACT_HARDTANH; e.lo = -1.f; e.hi = 1.f;
    e.res.data = res.data(); e.res.ps = L.OC; e.res.rs = int64_t(OH) * L.OC; e.res.ns = int64_t(OH) * OH * L.OC;
    e.res.N = 1; e.res.H = e.res.W = OH; e.res.C = L.OC;
    e.out_f = e.res; e.out_f.data = outf.data();
    e.out_b.data = outb.data(); e.out_b.ps = Ow; e.out_b.rs = int64_t(OH) * Ow; e.out_b.ns = int64_t(OH) * OH * Ow;
    e.out_b.N = 1; e.out_b.H = e.out_b.W = OH; e.out_b.C = L.OC; e.out_b.Cw = Ow;
    items = bconv2d_tile_items(p);
    macs = int64_t(OH) * OH * L.OC * L.C * 9;
  }
};

using Fn = void (*)(const BConvParams&, int64_t, int64_t);

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bconv_layers time REPS [zero] | run old|new LAYER [zero]\n");
    return 2;
  }
  const std::string mode = argv[1];
  const Fn fns[2] = {bconv2d_avx2_v0, bconv2d_avx2};
  if (mode == "run") {
    const Fn f = std::string(argv[2]) == "old" ? fns[0] : fns[1];
    Bench b(kLayers[std::atoi(argv[3])], argc > 4);
    f(b.p, 0, b.items);
    std::printf("%lld\n", (long long)b.macs);
    return 0;
  }
  const int reps = std::atoi(argv[2]);
  const bool zero = argc > 3;
  std::printf("[\n");
  for (size_t li = 0; li < sizeof(kLayers) / sizeof(kLayers[0]); ++li) {
    Bench b(kLayers[li], zero);
    std::vector<double> t[2];
    AVec<float> f0;
    AVec<uint64_t> b0;
    for (int r = 0; r < reps + 3; ++r)
      for (int k0 = 0; k0 < 2; ++k0) {
        const int k = (k0 + r) % 2;
        const auto s = std::chrono::steady_clock::now();
        fns[k](b.p, 0, b.items);
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - s).count();
        if (r >= 3) t[k].push_back(ms);
        if (r == 0 && k0 == 0) { f0 = b.outf; b0 = b.outb; }
        if (r == 0 && k0 == 1 && (f0 != b.outf || b0 != b.outb)) {
          std::fprintf(stderr, "outputs differ on %s\n", kLayers[li].name);
          return 1;
        }
      }
    for (auto& v : t) std::sort(v.begin(), v.end());
    std::printf("  {\"layer\": \"%s\", \"binary_macs\": %lld, \"old_ms\": %.5f, \"new_ms\": %.5f, "
                "\"old_min_ms\": %.5f, \"new_min_ms\": %.5f}%s\n",
                kLayers[li].name, (long long)b.macs, t[0][t[0].size() / 2], t[1][t[1].size() / 2], t[0][0], t[1][0],
                li + 1 < sizeof(kLayers) / sizeof(kLayers[0]) ? "," : "");
  }
  std::printf("]\n");
  return 0;
}
