// Shared pieces of sparsestat's native CPU kernels (cd_kernels.cc, cd_solve.cc): the vector loops
// (dot products with 8 fixed accumulators, so results do not depend on the instruction set; every loop
// compiled for AVX2 and baseline x86-64, chosen at load time by GCC target_clones) and the coordinate
// update of the l1 / elastic-net prox. Everything here has internal linkage: each source file gets its
// own copy.
#ifndef SPARSESTAT_NATIVE_COMMON_H_
#define SPARSESTAT_NATIVE_COMMON_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace sparsestat_native {
namespace {

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SPARSESTAT_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SPARSESTAT_CLONES
#endif

constexpr int kAcc = 8;

#define SPARSESTAT_VECTOR_KERNELS(T, SUFFIX)                                                     \
  SPARSESTAT_CLONES T Dot##SUFFIX(const T* a, const T* b, int64_t n) {                          \
    T acc[kAcc] = {0};                                                                           \
    int64_t i = 0;                                                                               \
    for (; i + kAcc <= n; i += kAcc)                                                             \
      for (int k = 0; k < kAcc; ++k) acc[k] += a[i + k] * b[i + k];                              \
    T tail = 0;                                                                                  \
    for (; i < n; ++i) tail += a[i] * b[i];                                                      \
    return (((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))) + \
           tail;                                                                                 \
  }                                                                                              \
  SPARSESTAT_CLONES void Axpy##SUFFIX(T d, const T* z, T* r, int64_t n) {                        \
    for (int64_t i = 0; i < n; ++i) r[i] -= d * z[i];                                            \
  }                                                                                              \
  SPARSESTAT_CLONES void AxpyW##SUFFIX(T d, const T* z, const T* h, T* r, int64_t n) {           \
    for (int64_t i = 0; i < n; ++i) r[i] -= d * (h[i] * z[i]);                                   \
  }                                                                                              \
  /* t -= d om o (x - xm) */                                                                     \
  SPARSESTAT_CLONES void AxpyOm##SUFFIX(T d, const T* __restrict__ x, T xm, const T* __restrict__ om, \
                                        T* __restrict__ t, int64_t n) {                          \
    for (int64_t i = 0; i < n; ++i) t[i] -= d * (om[i] * (x[i] - xm));                           \
  }                                                                                              \
  /* t -= d (x - xm): AxpyOm with om = 1 (uniform weights folded into d) */                       \
  SPARSESTAT_CLONES void AxpyC##SUFFIX(T d, const T* __restrict__ x, T xm, T* __restrict__ t, int64_t n) { \
    for (int64_t i = 0; i < n; ++i) t[i] -= d * (x[i] - xm);                                       \
  }                                                                                              \
  /* t -= d om o (x - xm) (om == nullptr: om = 1), then returns nx . t in Dot's summation order:  \
     one pass over t for a coordinate's update and the next coordinate's gradient */             \
  SPARSESTAT_CLONES T AxpyDot##SUFFIX(T d, const T* __restrict__ x, T xm, const T* __restrict__ om, \
                                      T* __restrict__ t, const T* __restrict__ nx, int64_t n) {  \
    T acc[kAcc] = {0};                                                                           \
    int64_t i = 0;                                                                               \
    if (om == nullptr) {                                                                         \
      for (; i + kAcc <= n; i += kAcc)                                                           \
        for (int k = 0; k < kAcc; ++k) {                                                         \
          const T u = t[i + k] - d * (x[i + k] - xm);                                            \
          t[i + k] = u;                                                                          \
          acc[k] += nx[i + k] * u;                                                               \
        }                                                                                        \
    } else {                                                                                     \
      for (; i + kAcc <= n; i += kAcc)                                                           \
        for (int k = 0; k < kAcc; ++k) {                                                         \
          const T u = t[i + k] - d * (om[i + k] * (x[i + k] - xm));                              \
          t[i + k] = u;                                                                          \
          acc[k] += nx[i + k] * u;                                                               \
        }                                                                                        \
    }                                                                                            \
    T tail = 0;                                                                                  \
    for (; i < n; ++i) {                                                                         \
      const T u = t[i] - d * (om == nullptr ? (x[i] - xm) : om[i] * (x[i] - xm));                \
      t[i] = u;                                                                                  \
      tail += nx[i] * u;                                                                         \
    }                                                                                            \
    return (((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))) + \
           tail;                                                                                 \
  }                                                                                              \
  /* (sum om (x - xm), sum om (x - xm)^2) */                                                     \
  SPARSESTAT_CLONES void Stats##SUFFIX(const T* x, T xm, const T* om, int64_t n, T* c, T* L) {    \
    T a[kAcc] = {0}, b[kAcc] = {0};                                                              \
    int64_t i = 0;                                                                               \
    for (; i + kAcc <= n; i += kAcc)                                                             \
      for (int k = 0; k < kAcc; ++k) {                                                           \
        const T e = x[i + k] - xm;                                                               \
        a[k] += om[i + k] * e;                                                                   \
        b[k] += om[i + k] * (e * e);                                                             \
      }                                                                                          \
    T ta = 0, tb = 0;                                                                            \
    for (; i < n; ++i) {                                                                         \
      const T e = x[i] - xm;                                                                     \
      ta += om[i] * e;                                                                           \
      tb += om[i] * (e * e);                                                                     \
    }                                                                                            \
    *c = (((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))) + ta;               \
    *L = (((b[0] + b[1]) + (b[2] + b[3])) + ((b[4] + b[5]) + (b[6] + b[7]))) + tb;               \
  }

SPARSESTAT_VECTOR_KERNELS(double, F64)
SPARSESTAT_VECTOR_KERNELS(float, F32)

inline double AxpyDot(double d, const double* x, double xm, const double* om, double* t, const double* nx,
                      int64_t n) {
  return AxpyDotF64(d, x, xm, om, t, nx, n);
}
inline float AxpyDot(float d, const float* x, float xm, const float* om, float* t, const float* nx, int64_t n) {
  return AxpyDotF32(d, x, xm, om, t, nx, n);
}
inline void AxpyOm(double d, const double* x, double xm, const double* om, double* t, int64_t n) {
  AxpyOmF64(d, x, xm, om, t, n);
}
inline void AxpyOm(float d, const float* x, float xm, const float* om, float* t, int64_t n) {
  AxpyOmF32(d, x, xm, om, t, n);
}
inline void AxpyC(double d, const double* x, double xm, double* t, int64_t n) { AxpyCF64(d, x, xm, t, n); }
inline void AxpyC(float d, const float* x, float xm, float* t, int64_t n) { AxpyCF32(d, x, xm, t, n); }
inline void Stats(const double* x, double xm, const double* om, int64_t n, double* c, double* L) {
  StatsF64(x, xm, om, n, c, L);
}
inline void Stats(const float* x, float xm, const float* om, int64_t n, float* c, float* L) {
  StatsF32(x, xm, om, n, c, L);
}
inline double Dot(const double* a, const double* b, int64_t n) { return DotF64(a, b, n); }
inline float Dot(const float* a, const float* b, int64_t n) { return DotF32(a, b, n); }
inline void Axpy(double d, const double* z, double* r, int64_t n) { AxpyF64(d, z, r, n); }
inline void Axpy(float d, const float* z, float* r, int64_t n) { AxpyF32(d, z, r, n); }
inline void AxpyW(double d, const double* z, const double* h, double* r, int64_t n) {
  AxpyWF64(d, z, h, r, n);
}
inline void AxpyW(float d, const float* z, const float* h, float* r, int64_t n) {
  AxpyWF32(d, z, h, r, n);
}

// The coordinate update every epoch shares: prox of the l1 / elastic-net penalty at w_j + g s_j (step
// s_j; s_j = 0 marks an empty column, set to 0).
template <typename T>
inline T CoordinateUpdate(T wj, T g, T sj, T l1j, T l2, bool positive) {
  if (!(sj > 0)) return T(0);
  const T v = wj + g * sj;
  const T th = l1j * sj;
  T num;
  if (positive)
    num = v - th > 0 ? v - th : T(0);
  else
    num = v > th ? v - th : (v < -th ? v + th : T(0));
  return num / (T(1) + sj * l2);
}

// run(b) for b = 0 .. B-1 on up to min(B, 4, cores) threads (std::thread per call), each problem on
// one thread: a problem's result does not depend on the number of threads.
template <typename F>
inline void ForEachProblem(int64_t B, const F& run) {
  const int64_t cores = static_cast<int64_t>(std::thread::hardware_concurrency());
  const int64_t threads = std::max<int64_t>(1, std::min<int64_t>({cores, 4, B}));
  if (threads == 1) {
    for (int64_t b = 0; b < B; ++b) run(b);
    return;
  }
  std::atomic<int64_t> next{0};
  auto worker = [&]() {
    for (int64_t b = next++; b < B; b = next++) run(b);
  };
  std::vector<std::thread> pool;
  for (int64_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
}

// Results start as copies of the inputs (nothing to do when XLA aliased them).
template <typename T>
inline void CopyInto(T* dst, const T* src, int64_t n) {
  if (dst != src)
    for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
}

}  // namespace
}  // namespace sparsestat_native

#endif  // SPARSESTAT_NATIVE_COMMON_H_
