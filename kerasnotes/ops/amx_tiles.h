// Intel AMX plumbing for kerasnotes' C++ kernels (conv_weight_gradient_kernel): whether this
// process may use AMX, a scope that sets a tile configuration and restores the thread's
// previous one (oneDNN uses AMX on the same threads), and 64-byte aligned per-thread scratch
// buffers.

#ifndef KERASNOTES_OPS_AMX_TILES_H_
#define KERASNOTES_OPS_AMX_TILES_H_

#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

#include <cpuid.h>
#include <immintrin.h>

// Functions that use AMX and AVX-512 (run only where AmxUsable() says so).
#define KERASNOTES_AMX \
  __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl,avx512bf16")))

namespace kerasnotes_amx {

struct alignas(64) TileConfig {
  uint8_t palette = 0, start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

// The first `tiles` tiles of 16 rows x 64 bytes.
inline TileConfig UniformTiles(int tiles) {
  TileConfig config;
  config.palette = 1;
  for (int i = 0; i < tiles; ++i) {
    config.rows[i] = 16;
    config.colsb[i] = 64;
  }
  return config;
}

// Whether this CPU and kernel let the process use AMX: CPUID, the OS's XSAVE state and, on
// Linux, the one permission request for the tile data (ARCH_REQ_XCOMP_PERM).
inline bool AmxUsable() {
  static const bool usable = [] {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    if (!((d >> 22) & 1) || !((d >> 24) & 1)) return false;  // AMX-BF16, AMX-TILE
    if (!__get_cpuid(1, &a, &b, &c, &d) || !((c >> 27) & 1)) return false;  // OSXSAVE
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if (((lo >> 17) & 3) != 3) return false;  // XTILECFG, XTILEDATA enabled by the OS
    return syscall(SYS_arch_prctl, 0x1023, 18) == 0;
  }();
  return usable;
}

// Saves the thread's tile configuration and sets `config`; the destructor restores the
// saved one (or releases the tiles if there was none).
class TileScope {
 public:
  KERASNOTES_AMX explicit TileScope(const TileConfig& config) {
    _tile_storeconfig(&saved_);
    _tile_loadconfig(&config);
  }
  KERASNOTES_AMX ~TileScope() {
    if (saved_.palette != 0) {
      _tile_loadconfig(&saved_);
    } else {
      _tile_release();
    }
  }

 private:
  TileConfig saved_;
};

// Scratch buffer `slot` (0-3) of this thread, at least `words` 32-bit words, 64-byte
// aligned. Kept between calls, so that its pages are not faulted in again at every call.
// The alignment puts each 64-byte tile row in one cache line: from a 16-byte aligned
// buffer the weight gradient's 16 -> 16 path ran ~20% slower.
inline uint32_t* Scratch(int slot, int64_t words) {
  thread_local std::vector<uint32_t> buffers[4];
  if (static_cast<int64_t>(buffers[slot].size()) < words + 16) {
    buffers[slot].assign(words + 16, 0u);
  }
  const auto address = reinterpret_cast<uintptr_t>(buffers[slot].data());
  return reinterpret_cast<uint32_t*>((address + 63) & ~static_cast<uintptr_t>(63));
}

}  // namespace kerasnotes_amx

#endif  // KERASNOTES_OPS_AMX_TILES_H_
