// Drivers and epilogues shared by every kernel path.
//
// This file is included INSIDE an ISA namespace by isa_*.cpp, after that file
// defined its micro-kernels (bconv_tile_m, conv_tile_m) and mask helpers
// (mask_nge_f32x32, mask_lt_i32x32). Each inclusion is therefore compiled with
// that path's target flags, and everything here is `static` in a distinct
// namespace: no inline symbol built with AVX-512 can be merged into the
// portable path by the linker. Do not include system headers here.

static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int64_t imin64(int64_t a, int64_t b) { return a < b ? a : b; }

alignas(64) static const float kZeros32[32] = {0};

// Writes 32 packed bits for channels [oc, oc + 32) of one pixel (oc % 32 == 0).
static inline void put_bits32(uint64_t* pix, int oc, uint32_t bits) {
  unsigned char* p = reinterpret_cast<unsigned char*>(pix + (oc >> 6)) + ((oc >> 5) & 1) * 4;
  __builtin_memcpy(p, &bits, 4);
}

// Applies the epilogue to one tile: `vals` holds m rows of BW values (int32
// dots or float accumulators) for channels [oc0, oc0 + BW).
template <typename V, int BW>
static inline void epilogue_tile(const Epilogue& ep, const V* vals, int m, const int32_t* pn,
                                 const int32_t* py, const int32_t* px, int oc0) {
  for (int j = 0; j < m; ++j) {
    const V* v = vals + j * BW;
    const int64_t n = pn[j], y = py[j], x = px[j];
    for (int s = 0; s < BW / 32; ++s) {
      const int oc = oc0 + 32 * s;
      if (oc >= ep.OC) break;
      const int ocn = imin(32, ep.OC - oc);
      const uint32_t valid = ocn == 32 ? 0xffffffffu : ((1u << ocn) - 1u);
      const V* vs = v + 32 * s;
      if (ep.kind == EP_INT) {
        int32_t* o = ep.out_i.data + n * ep.out_i.ns + y * ep.out_i.rs + x * ep.out_i.ps + oc;
        for (int c = 0; c < ocn; ++c) o[c] = int32_t(vs[c]);  // test path only
        continue;
      }
      uint32_t bits = 0;
      if (ep.kind == EP_THRESH) {
        alignas(64) int32_t sd[32];
        const int32_t* sg = ep.sgn + oc;
        for (int c = 0; c < 32; ++c) sd[c] = sg[c] * int32_t(vs[c]);
        bits = mask_lt_i32x32(sd, ep.T + oc) & valid;
      } else {
        alignas(64) float z[32];
        const float* A = ep.A + oc;
        const float* B = ep.B + oc;
        for (int c = 0; c < 32; ++c) z[c] = std::fma(A[c], float(vs[c]), B[c]);
        if (ep.res.data) {
          const float* r = ep.res.data + n * ep.res.ns + y * ep.res.rs + x * ep.res.ps + oc;
          if (ocn == 32) {
            for (int c = 0; c < 32; ++c) z[c] += r[c];
          } else {
            for (int c = 0; c < ocn; ++c) z[c] += r[c];
          }
        }
        if (ep.act == ACT_HARDTANH) {
          const float lo = ep.lo, hi = ep.hi;
          for (int c = 0; c < 32; ++c) {
            float t = z[c] < lo ? lo : z[c];
            z[c] = t > hi ? hi : t;
          }
        } else if (ep.act == ACT_RELU) {
          for (int c = 0; c < 32; ++c) z[c] = z[c] > 0.f ? z[c] : 0.f;
        } else if (ep.act == ACT_PRELU) {
          const float* sl = ep.slope + oc;
          for (int c = 0; c < 32; ++c) z[c] = z[c] >= 0.f ? z[c] : z[c] * sl[c];
        }
        if (ep.out_f.data) {
          float* o = ep.out_f.data + n * ep.out_f.ns + y * ep.out_f.rs + x * ep.out_f.ps + oc;
          if (ocn == 32) {
            __builtin_memcpy(o, z, sizeof(float) * 32);  // fixed size: inlined vector stores
          } else {
            for (int c = 0; c < ocn; ++c) o[c] = z[c];
          }
        }
        if (ep.out_b.data) bits = mask_nge_f32x32(z, ep.pack_thr ? ep.pack_thr + oc : kZeros32) & valid;
      }
      if (ep.out_b.data) {
        uint64_t* pix = ep.out_b.data + n * ep.out_b.ns + y * ep.out_b.rs + x * ep.out_b.ps;
        put_bits32(pix, oc, bits);
        // The last block may end in the low half of a word: clear the high half
        // so a reused buffer never leaks stale bits into channel padding.
        if (((oc >> 5) & 1) == 0 && oc + 32 >= ep.OC && (oc >> 6) < ep.out_b.Cw) put_bits32(pix, oc + 32, 0u);
      }
    }
  }
}

static inline void decode_tile(int64_t p0, int m, int32_t OH, int32_t OW, int32_t* pn, int32_t* py,
                               int32_t* px) {
  const int64_t hw = int64_t(OH) * OW;
  int64_t n = p0 / hw, r = p0 % hw;
  int32_t y = int32_t(r / OW), x = int32_t(r % OW);
  for (int j = 0; j < m; ++j) {
    pn[j] = int32_t(n);
    py[j] = y;
    px[j] = x;
    if (++x == OW) {
      x = 0;
      if (++y == OH) {
        y = 0;
        ++n;
      }
    }
  }
}

static void bconv_range(const BConvParams& p, int64_t begin, int64_t end) {
  const int64_t P = int64_t(p.in.N) * p.OH * p.OW;
  const int64_t ntiles = ceil_div(P, kBTile);
  const int64_t kw = int64_t(p.ntaps) * p.rlen;
  const int ocp = p.OCB * kBlk;
  alignas(64) int32_t dots[kBTile * kBlk];
  const uint64_t* base[kBTile];
  int32_t pn[kBTile], py[kBTile], px[kBTile];
  for (int64_t it = begin; it < end; ++it) {
    const int64_t ocb = it / ntiles, tile = it % ntiles;
    const int64_t p0 = tile * kBTile;
    const int m = int(imin64(kBTile, P - p0));
    decode_tile(p0, m, p.OH, p.OW, pn, py, px);
    for (int j = 0; j < m; ++j)
      base[j] = p.in.data + pn[j] * p.in.ns + int64_t(py[j] * p.sh - p.pt) * p.in.rs +
                int64_t(px[j] * p.sw - p.pl) * p.in.ps;
    bconv_tile_m(m, base, p.tap_off, p.ntaps, p.rlen, p.w + ocb * kw * kBlk, dots, p.Kbits);
    if (p.tapsum) {  // zero padding: remove the +1 the border contributed
      const int oc0 = int(ocb) * kBlk;
      for (int j = 0; j < m; ++j) {
        const int iy0 = py[j] * p.sh - p.pt, ix0 = px[j] * p.sw - p.pl;
        if (iy0 >= 0 && iy0 + (p.KH - 1) * p.dh < p.in.H && ix0 >= 0 &&
            ix0 + (p.KW - 1) * p.dw < p.in.W)
          continue;
        for (int ky = 0; ky < p.KH; ++ky) {
          const int iy = iy0 + ky * p.dh;
          const bool row_out = iy < 0 || iy >= p.in.H;
          for (int kx = 0; kx < p.KW; ++kx) {
            const int ix = ix0 + kx * p.dw;
            if (!row_out && ix >= 0 && ix < p.in.W) continue;
            const int32_t* ts = p.tapsum + int64_t(ky * p.KW + kx) * ocp + oc0;
            for (int c = 0; c < kBlk; ++c) dots[j * kBlk + c] -= ts[c];
          }
        }
      }
    }
    epilogue_tile<int32_t, kBlk>(p.ep, dots, m, pn, py, px, int(ocb) * kBlk);
  }
}

static void conv_range(const ConvParams& p, int64_t begin, int64_t end) {
  const int64_t P = int64_t(p.in.N) * p.OH * p.OW;
  const int64_t ntiles = ceil_div(P, kTile);
  const int64_t kw = int64_t(p.ntaps) * p.rlen;
  alignas(64) float acc[kTile * kFBlk];
  const float* base[kTile];
  int32_t pn[kTile], py[kTile], px[kTile];
  for (int64_t it = begin; it < end; ++it) {
    const int64_t ocb = it / ntiles, tile = it % ntiles;
    const int64_t p0 = tile * kTile;
    const int m = int(imin64(kTile, P - p0));
    decode_tile(p0, m, p.OH, p.OW, pn, py, px);
    for (int j = 0; j < m; ++j)
      base[j] = p.in.data + pn[j] * p.in.ns + int64_t(py[j] * p.sh - p.pt) * p.in.rs +
                int64_t(px[j] * p.sw - p.pl) * p.in.ps;
    conv_tile_m(m, base, p.tap_off, p.ntaps, p.rlen, p.w + ocb * kw * kFBlk, acc);
    epilogue_tile<float, kFBlk>(p.ep, acc, m, pn, py, px, int(ocb) * kFBlk);
  }
}

static void pack_range(const PackParams& p, int64_t begin, int64_t end) {
  const int64_t hw = int64_t(p.in.H) * p.in.W;
  const int C = p.in.C;
  for (int64_t i = begin; i < end; ++i) {
    const int64_t n = i / hw, r = i % hw, y = r / p.in.W, x = r % p.in.W;
    const float* src = p.in.data + n * p.in.ns + y * p.in.rs + x * p.in.ps;
    uint64_t* dst = p.out.data + n * p.out.ns + y * p.out.rs + x * p.out.ps;
    for (int w = 0; w < p.out.Cw; ++w) {
      uint64_t word = 0;
      for (int h = 0; h < 2; ++h) {
        const int c0 = 64 * w + 32 * h;
        if (c0 >= C) break;
        uint32_t bits = 0;
        if (C - c0 >= 32) {
          bits = mask_nge_f32x32(src + c0, p.thr ? p.thr + c0 : kZeros32);
        } else {
          for (int c = 0; c < C - c0; ++c) {
            const float t = p.thr ? p.thr[c0 + c] : 0.f;
            bits |= uint32_t(!(src[c0 + c] >= t)) << c;
          }
        }
        word |= uint64_t(bits) << (32 * h);
      }
      dst[w] = word;
    }
  }
}
