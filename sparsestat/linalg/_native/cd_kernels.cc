// Native CPU kernels of sparsestat, called from jit-compiled programs through XLA's FFI
// (jax.ffi.ffi_call). Built at install time as the optional extension sparsestat.linalg._native_cd
// (setup.py); sparsestat.linalg.native registers the handlers and falls back to the pure-JAX code
// when the extension is missing.
//
// cd_epoch: one cyclic coordinate-descent epoch on
//     1/2 || r ||^2_h + sum_j l1_j |w_j| + l2/2 |w_j|^2      (w_j >= 0 if positive),
// r = y - Z^T w, over the first m rows of Z (B, n) (row j = the j-th working-set column, contiguous).
// Coordinate j: g = Z_j . r, new = prox(w_j + g s_j, s_j) with s_j = inv_L[j] (0: an empty column,
// which is set to 0), then r -= (new - w_j) h o Z_j (h = 1 when the h buffer is empty). The same
// iterates as the blocked JAX epoch of sparsestat.regression.inner_cd (to rounding); XLA:CPU pays
// 0.2-1 us per operation there, which bounds that epoch at 8 coordinates per loop iteration.
//
// The dot products use 8 independent accumulators (a fixed summation order: results do not depend
// on the instruction set), and every inner loop is compiled for AVX2 and for baseline x86-64, chosen
// at load time (GCC target_clones), so one build runs on any x86-64 host.

#include <Python.h>

#include <cstdint>
#include <thread>
#include <vector>

#include "common.h"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;
using namespace sparsestat_native;  // NOLINT: the shared vector loops

namespace {

template <ffi::DataType D>
ffi::Error CdEpoch(ffi::Buffer<D> Z, ffi::Buffer<D> inv_L, ffi::Buffer<D> l1, ffi::Buffer<D> l2_buf,
                   ffi::Buffer<D> h_buf, ffi::Buffer<D> w_in, ffi::Buffer<D> r_in, ffi::Buffer<ffi::S32> m_buf,
                   bool positive, ffi::ResultBuffer<D> w_out, ffi::ResultBuffer<D> r_out) {
  using T = ffi::NativeType<D>;
  const auto dims = Z.dimensions();
  if (dims.size() != 2) return ffi::Error::InvalidArgument("cd_epoch: Z must be 2-D");
  const int64_t B = dims[0], n = dims[1];
  if (inv_L.element_count() != static_cast<size_t>(B) || l1.element_count() != static_cast<size_t>(B) ||
      w_in.element_count() != static_cast<size_t>(B) || r_in.element_count() != static_cast<size_t>(n) ||
      l2_buf.element_count() != 1 || m_buf.element_count() != 1)
    return ffi::Error::InvalidArgument("cd_epoch: inconsistent shapes");
  const bool weighted = h_buf.element_count() != 0;
  if (weighted && h_buf.element_count() != static_cast<size_t>(n))
    return ffi::Error::InvalidArgument("cd_epoch: h must be empty or of length n");

  const T* z = Z.typed_data();
  const T* s = inv_L.typed_data();
  const T* a = l1.typed_data();
  const T* h = h_buf.typed_data();
  const T l2 = l2_buf.typed_data()[0];
  T* w = w_out->typed_data();
  T* r = r_out->typed_data();
  CopyInto(w, w_in.typed_data(), B);
  CopyInto(r, r_in.typed_data(), n);
  int64_t m = m_buf.typed_data()[0];
  m = m < 0 ? 0 : (m > B ? B : m);

  for (int64_t j = 0; j < m; ++j) {
    const T* zj = z + j * n;
    const T wj = w[j];
    const T nw = s[j] > 0 ? CoordinateUpdate(wj, Dot(zj, r, n), s[j], a[j], l2, positive) : T(0);
    const T d = nw - wj;
    if (d != 0) {
      if (weighted)
        AxpyW(d, zj, h, r, n);
      else
        Axpy(d, zj, r, n);
      w[j] = nw;
    }
  }
  return ffi::Error::Success();
}

// ---- working-set rows read in place: XT (p, n) is the whole transposed design, idx (B) the working set;
// row j of the working set is XT[idx[j]]. Nothing of size B n is copied: the gather and the centred,
// weighted copy a round otherwise makes cost 1.7 ms at B = 2048, n = 1000 and 140 ms at 4096 x 5000.
// Only the first m rows are read; outputs past m are 0 (or the inputs, for w).

template <typename T>
inline bool RowsOk(const ffi::Span<const int64_t>& xd, int64_t B, const int32_t* idx, int64_t m) {
  if (xd.size() != 2) return false;
  for (int64_t j = 0; j < m && j < B; ++j)
    if (idx[j] < 0 || idx[j] >= xd[0]) return false;
  return true;
}

inline int64_t ClampM(const int32_t* m_ptr, int64_t B) {
  const int64_t m = m_ptr[0];
  return m < 0 ? 0 : (m > B ? B : m);
}

// rows_stats: c_j = sum_i om_i (x_ji - xm_j), L_j = sum_i om_i (x_ji - xm_j)^2
template <ffi::DataType D>
ffi::Error RowsStats(ffi::Buffer<D> XT, ffi::Buffer<ffi::S32> idx_buf, ffi::Buffer<ffi::S32> m_buf,
                     ffi::Buffer<D> xm_buf, ffi::Buffer<D> om_buf, ffi::ResultBuffer<D> c_out,
                     ffi::ResultBuffer<D> L_out) {
  using T = ffi::NativeType<D>;
  const int64_t B = static_cast<int64_t>(idx_buf.element_count());
  const int64_t m = ClampM(m_buf.typed_data(), B);
  const auto xd = XT.dimensions();
  if (!RowsOk<T>(xd, B, idx_buf.typed_data(), m) || xm_buf.element_count() != static_cast<size_t>(B) ||
      om_buf.element_count() != static_cast<size_t>(xd[1]))
    return ffi::Error::InvalidArgument("rows_stats: inconsistent shapes or indices");
  const int64_t n = xd[1];
  const T* x = XT.typed_data();
  const int32_t* idx = idx_buf.typed_data();
  T* c = c_out->typed_data();
  T* L = L_out->typed_data();
  for (int64_t j = 0; j < B; ++j) {
    c[j] = 0;
    L[j] = 0;
  }
  for (int64_t j = 0; j < m; ++j) Stats(x + idx[j] * n, xm_buf.typed_data()[j], om_buf.typed_data(), n, c + j, L + j);
  return ffi::Error::Success();
}

// rows_matvec: u_j = x_j . v (j < m); rows_rmatvec: sum_{j < m} a_j x_j
template <ffi::DataType D>
ffi::Error RowsMatvec(ffi::Buffer<D> XT, ffi::Buffer<ffi::S32> idx_buf, ffi::Buffer<ffi::S32> m_buf, ffi::Buffer<D> v,
                      ffi::ResultBuffer<D> u_out) {
  using T = ffi::NativeType<D>;
  const int64_t B = static_cast<int64_t>(idx_buf.element_count());
  const int64_t m = ClampM(m_buf.typed_data(), B);
  const auto xd = XT.dimensions();
  if (!RowsOk<T>(xd, B, idx_buf.typed_data(), m) || v.element_count() != static_cast<size_t>(xd[1]))
    return ffi::Error::InvalidArgument("rows_matvec: inconsistent shapes or indices");
  const int64_t n = xd[1];
  T* u = u_out->typed_data();
  for (int64_t j = 0; j < B; ++j) u[j] = 0;
  for (int64_t j = 0; j < m; ++j) u[j] = Dot(XT.typed_data() + idx_buf.typed_data()[j] * n, v.typed_data(), n);
  return ffi::Error::Success();
}

template <ffi::DataType D>
ffi::Error RowsRmatvec(ffi::Buffer<D> XT, ffi::Buffer<ffi::S32> idx_buf, ffi::Buffer<ffi::S32> m_buf, ffi::Buffer<D> a,
                       ffi::ResultBuffer<D> out) {
  using T = ffi::NativeType<D>;
  const int64_t B = static_cast<int64_t>(idx_buf.element_count());
  const int64_t m = ClampM(m_buf.typed_data(), B);
  const auto xd = XT.dimensions();
  if (!RowsOk<T>(xd, B, idx_buf.typed_data(), m) || a.element_count() != static_cast<size_t>(B))
    return ffi::Error::InvalidArgument("rows_rmatvec: inconsistent shapes or indices");
  const int64_t n = xd[1];
  T* o = out->typed_data();
  for (int64_t i = 0; i < n; ++i) o[i] = 0;
  for (int64_t j = 0; j < m; ++j) {
    const T aj = a.typed_data()[j];
    if (aj != 0) Axpy(-aj, XT.typed_data() + idx_buf.typed_data()[j] * n, o, n);
  }
  return ffi::Error::Success();
}

// cd_epoch_rows: cd_epoch on Z_j = sqrt(om) o (x_j - xm_j) with the state t = om o r (r the unscaled
// residual): Z_j . rt = x_j . t - xm_j sum(t), and an update delta moves t by -delta om o (x_j - xm_j)
// and sum(t) by -delta c_j (c from rows_stats). sum(t) is recomputed at the epoch's start.
template <ffi::DataType D>
ffi::Error CdEpochRows(ffi::Buffer<D> XT, ffi::Buffer<ffi::S32> idx_buf, ffi::Buffer<ffi::S32> m_buf,
                       ffi::Buffer<D> xm_buf, ffi::Buffer<D> om_buf, ffi::Buffer<D> c_buf, ffi::Buffer<D> inv_L,
                       ffi::Buffer<D> l1, ffi::Buffer<D> l2_buf, ffi::Buffer<D> w_in, ffi::Buffer<D> t_in,
                       bool positive, ffi::ResultBuffer<D> w_out, ffi::ResultBuffer<D> t_out) {
  using T = ffi::NativeType<D>;
  const int64_t B = static_cast<int64_t>(idx_buf.element_count());
  const int64_t m = ClampM(m_buf.typed_data(), B);
  const auto xd = XT.dimensions();
  if (!RowsOk<T>(xd, B, idx_buf.typed_data(), m) || xm_buf.element_count() != static_cast<size_t>(B) ||
      c_buf.element_count() != static_cast<size_t>(B) || inv_L.element_count() != static_cast<size_t>(B) ||
      l1.element_count() != static_cast<size_t>(B) || w_in.element_count() != static_cast<size_t>(B) ||
      om_buf.element_count() != static_cast<size_t>(xd[1]) || t_in.element_count() != static_cast<size_t>(xd[1]) ||
      l2_buf.element_count() != 1)
    return ffi::Error::InvalidArgument("cd_epoch_rows: inconsistent shapes or indices");
  const int64_t n = xd[1];
  const T* x = XT.typed_data();
  const int32_t* idx = idx_buf.typed_data();
  const T* xm = xm_buf.typed_data();
  const T* om = om_buf.typed_data();
  const T* c = c_buf.typed_data();
  const T* s = inv_L.typed_data();
  const T* a = l1.typed_data();
  const T l2 = l2_buf.typed_data()[0];
  T* w = w_out->typed_data();
  T* t = t_out->typed_data();
  CopyInto(w, w_in.typed_data(), B);
  CopyInto(t, t_in.typed_data(), n);
  T St = 0;
  for (int64_t i = 0; i < n; ++i) St += t[i];
  // a coordinate that moves updates t and computes the next one's product in the same pass (AxpyDot:
  // bitwise the Dot after AxpyOm)
  T dot = m > 0 && s[0] > 0 ? Dot(x + idx[0] * n, t, n) : T(0);
  for (int64_t j = 0; j < m; ++j) {
    const T* xj = x + idx[j] * n;
    const T* xn = j + 1 < m && s[j + 1] > 0 ? x + idx[j + 1] * n : nullptr;
    const T wj = w[j];
    const T nw = s[j] > 0 ? CoordinateUpdate(wj, dot - xm[j] * St, s[j], a[j], l2, positive) : T(0);
    const T d = nw - wj;
    if (d != 0) {
      if (xn != nullptr)
        dot = AxpyDot(d, xj, xm[j], om, t, xn, n);
      else
        AxpyOm(d, xj, xm[j], om, t, n);
      St -= d * c[j];
      w[j] = nw;
    } else if (xn != nullptr) {
      dot = Dot(xn, t, n);
    }
  }
  return ffi::Error::Success();
}

// cd_epoch_ell: the same epoch on a sparse working set held as padded columns (ELL): row indices R
// (B, K) and values V (B, K) of Z_j = sqrt(omega) o (x_j - xm_j), whose centring is kept implicit. The
// residual is rt = u + c sqrt(omega) (u dense, c scalar); with su = sqrt(omega) . u, omx_j =
// sum_i omega_i x_ij and som = sum(omega):
//     Z_j . rt = V_j . u[R_j] + c omx_j - xm_j su - xm_j c som,
// and an update delta of w_j moves u by -delta V_j at R_j, c by delta xm_j and su by -delta omx_j.
// su is recomputed from u at the start of each epoch (no drift). Entries with R outside [0, n) are
// padding and skipped.
template <ffi::DataType D>
ffi::Error CdEpochEll(ffi::Buffer<ffi::S32> R_buf, ffi::Buffer<D> V_buf, ffi::Buffer<D> xm_buf, ffi::Buffer<D> omx_buf,
                      ffi::Buffer<D> sq_buf, ffi::Buffer<D> som_buf, ffi::Buffer<D> inv_L, ffi::Buffer<D> l1,
                      ffi::Buffer<D> l2_buf, ffi::Buffer<D> w_in, ffi::Buffer<D> u_in, ffi::Buffer<D> c_in,
                      ffi::Buffer<ffi::S32> m_buf, bool positive, ffi::ResultBuffer<D> w_out,
                      ffi::ResultBuffer<D> u_out, ffi::ResultBuffer<D> c_out) {
  using T = ffi::NativeType<D>;
  const auto dims = V_buf.dimensions();
  if (dims.size() != 2 || R_buf.dimensions().size() != 2 || R_buf.dimensions()[0] != dims[0] ||
      R_buf.dimensions()[1] != dims[1])
    return ffi::Error::InvalidArgument("cd_epoch_ell: R and V must be 2-D of the same shape");
  const int64_t B = dims[0], K = dims[1];
  const int64_t n = static_cast<int64_t>(u_in.element_count());
  if (xm_buf.element_count() != static_cast<size_t>(B) || omx_buf.element_count() != static_cast<size_t>(B) ||
      inv_L.element_count() != static_cast<size_t>(B) || l1.element_count() != static_cast<size_t>(B) ||
      w_in.element_count() != static_cast<size_t>(B) || sq_buf.element_count() != static_cast<size_t>(n) ||
      som_buf.element_count() != 1 || l2_buf.element_count() != 1 || c_in.element_count() != 1 ||
      m_buf.element_count() != 1)
    return ffi::Error::InvalidArgument("cd_epoch_ell: inconsistent shapes");
  const int32_t* R = R_buf.typed_data();
  const T* V = V_buf.typed_data();
  const T* xm = xm_buf.typed_data();
  const T* omx = omx_buf.typed_data();
  const T* sq = sq_buf.typed_data();
  const T som = som_buf.typed_data()[0];
  const T* s = inv_L.typed_data();
  const T* a = l1.typed_data();
  const T l2 = l2_buf.typed_data()[0];
  T* w = w_out->typed_data();
  T* u = u_out->typed_data();
  CopyInto(w, w_in.typed_data(), B);
  CopyInto(u, u_in.typed_data(), n);
  T c = c_in.typed_data()[0];
  T su = Dot(sq, u, n);
  int64_t m = m_buf.typed_data()[0];
  m = m < 0 ? 0 : (m > B ? B : m);

  for (int64_t j = 0; j < m; ++j) {
    const int32_t* Rj = R + j * K;
    const T* Vj = V + j * K;
    const T wj = w[j];
    T nw = 0;
    if (s[j] > 0) {
      T g = 0;
      for (int64_t k = 0; k < K; ++k) {
        const int32_t r = Rj[k];
        if (r >= 0 && r < n) g += Vj[k] * u[r];
      }
      g += c * omx[j] - xm[j] * su - xm[j] * c * som;
      nw = CoordinateUpdate(wj, g, s[j], a[j], l2, positive);
    }
    const T d = nw - wj;
    if (d != 0) {
      for (int64_t k = 0; k < K; ++k) {
        const int32_t r = Rj[k];
        if (r >= 0 && r < n) u[r] -= d * Vj[k];
      }
      c += d * xm[j];
      su -= d * omx[j];
      w[j] = nw;
    }
  }
  c_out->typed_data()[0] = c;
  return ffi::Error::Success();
}

}  // namespace

#define SPARSESTAT_BIND_CD_ELL(D)         \
  ffi::Ffi::Bind()                        \
      .Arg<ffi::Buffer<ffi::S32>>() /* R */ \
      .Arg<ffi::Buffer<D>>() /* V */      \
      .Arg<ffi::Buffer<D>>() /* xm */     \
      .Arg<ffi::Buffer<D>>() /* omx */    \
      .Arg<ffi::Buffer<D>>() /* sq */     \
      .Arg<ffi::Buffer<D>>() /* som */    \
      .Arg<ffi::Buffer<D>>() /* inv_L */  \
      .Arg<ffi::Buffer<D>>() /* l1 */     \
      .Arg<ffi::Buffer<D>>() /* l2 */     \
      .Arg<ffi::Buffer<D>>() /* w */      \
      .Arg<ffi::Buffer<D>>() /* u */      \
      .Arg<ffi::Buffer<D>>() /* c */      \
      .Arg<ffi::Buffer<ffi::S32>>()       \
      .Attr<bool>("positive")             \
      .Ret<ffi::Buffer<D>>()              \
      .Ret<ffi::Buffer<D>>()              \
      .Ret<ffi::Buffer<D>>()

XLA_FFI_DEFINE_HANDLER_SYMBOL(SparsestatCdEpochEllF64, CdEpochEll<ffi::F64>, SPARSESTAT_BIND_CD_ELL(ffi::F64));
XLA_FFI_DEFINE_HANDLER_SYMBOL(SparsestatCdEpochEllF32, CdEpochEll<ffi::F32>, SPARSESTAT_BIND_CD_ELL(ffi::F32));

XLA_FFI_DEFINE_HANDLER_SYMBOL(SparsestatRowsStatsF64, RowsStats<ffi::F64>,
                              ffi::Ffi::Bind().Arg<ffi::Buffer<ffi::F64>>().Arg<ffi::Buffer<ffi::S32>>()
                                  .Arg<ffi::Buffer<ffi::S32>>().Arg<ffi::Buffer<ffi::F64>>().Arg<ffi::Buffer<ffi::F64>>()
                                  .Ret<ffi::Buffer<ffi::F64>>().Ret<ffi::Buffer<ffi::F64>>());
XLA_FFI_DEFINE_HANDLER_SYMBOL(SparsestatRowsStatsF32, RowsStats<ffi::F32>,
                              ffi::Ffi::Bind().Arg<ffi::Buffer<ffi::F32>>().Arg<ffi::Buffer<ffi::S32>>()
                                  .Arg<ffi::Buffer<ffi::S32>>().Arg<ffi::Buffer<ffi::F32>>().Arg<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>().Ret<ffi::Buffer<ffi::F32>>());
#define SPARSESTAT_BIND_ROWS_VEC(D)                                                                        \
  ffi::Ffi::Bind().Arg<ffi::Buffer<D>>().Arg<ffi::Buffer<ffi::S32>>().Arg<ffi::Buffer<ffi::S32>>().Arg<ffi::Buffer<D>>() \
      .Ret<ffi::Buffer<D>>()
XLA_FFI_DEFINE_HANDLER_SYMBOL(SparsestatRowsMatvecF64, RowsMatvec<ffi::F64>, SPARSESTAT_BIND_ROWS_VEC(ffi::F64));
XLA_FFI_DEFINE_HANDLER_SYMBOL(SparsestatRowsMatvecF32, RowsMatvec<ffi::F32>, SPARSESTAT_BIND_ROWS_VEC(ffi::F32));
XLA_FFI_DEFINE_HANDLER_SYMBOL(SparsestatRowsRmatvecF64, RowsRmatvec<ffi::F64>, SPARSESTAT_BIND_ROWS_VEC(ffi::F64));
XLA_FFI_DEFINE_HANDLER_SYMBOL(SparsestatRowsRmatvecF32, RowsRmatvec<ffi::F32>, SPARSESTAT_BIND_ROWS_VEC(ffi::F32));
#define SPARSESTAT_BIND_CD_ROWS(D)                                                                         \
  ffi::Ffi::Bind()                                                                                          \
      .Arg<ffi::Buffer<D>>() /* XT */                                                                      \
      .Arg<ffi::Buffer<ffi::S32>>() /* idx */                                                              \
      .Arg<ffi::Buffer<ffi::S32>>() /* m */                                                                \
      .Arg<ffi::Buffer<D>>() /* xm */                                                                      \
      .Arg<ffi::Buffer<D>>() /* om */                                                                      \
      .Arg<ffi::Buffer<D>>() /* c */                                                                       \
      .Arg<ffi::Buffer<D>>() /* inv_L */                                                                   \
      .Arg<ffi::Buffer<D>>() /* l1 */                                                                      \
      .Arg<ffi::Buffer<D>>() /* l2 */                                                                      \
      .Arg<ffi::Buffer<D>>() /* w */                                                                       \
      .Arg<ffi::Buffer<D>>() /* t */                                                                       \
      .Attr<bool>("positive")                                                                              \
      .Ret<ffi::Buffer<D>>()                                                                               \
      .Ret<ffi::Buffer<D>>()
XLA_FFI_DEFINE_HANDLER_SYMBOL(SparsestatCdEpochRowsF64, CdEpochRows<ffi::F64>, SPARSESTAT_BIND_CD_ROWS(ffi::F64));
XLA_FFI_DEFINE_HANDLER_SYMBOL(SparsestatCdEpochRowsF32, CdEpochRows<ffi::F32>, SPARSESTAT_BIND_CD_ROWS(ffi::F32));

#define SPARSESTAT_BIND_CD(D)            \
  ffi::Ffi::Bind()                       \
      .Arg<ffi::Buffer<D>>() /* Z */     \
      .Arg<ffi::Buffer<D>>() /* inv_L */ \
      .Arg<ffi::Buffer<D>>() /* l1 */    \
      .Arg<ffi::Buffer<D>>() /* l2 */    \
      .Arg<ffi::Buffer<D>>() /* h */     \
      .Arg<ffi::Buffer<D>>() /* w */     \
      .Arg<ffi::Buffer<D>>() /* r */     \
      .Arg<ffi::Buffer<ffi::S32>>()      \
      .Attr<bool>("positive")            \
      .Ret<ffi::Buffer<D>>()             \
      .Ret<ffi::Buffer<D>>()

XLA_FFI_DEFINE_HANDLER_SYMBOL(SparsestatCdEpochF64, CdEpoch<ffi::F64>, SPARSESTAT_BIND_CD(ffi::F64));
XLA_FFI_DEFINE_HANDLER_SYMBOL(SparsestatCdEpochF32, CdEpoch<ffi::F32>, SPARSESTAT_BIND_CD(ffi::F32));

// ---------------------------------------------------------------- host-side blocked transpose
// transpose_into(src, dst): dst[j, i] = src[i, j] for the (n, p) source (any strides) into the top-left
// (p, n) corner of a C-contiguous dst of the same item size (4 or 8 bytes), by 32 x 32 tiles on up to
// 4 threads, without the GIL. numpy's strided copy of X.T reads across cache lines: 10 ms for a
// 1000 x 5000 float64 design and 500 ms at 5000 x 20000 (7 and 150 ms here, 2 threads, fresh buffers;
// a plain copy takes 4.4 and 127 ms). transpose_into(src, dst, sums) also writes each column's sum into
// the float64 vector sums (p,) (summed in double, i ascending: the same for any thread count), while the
// column's tile is in cache: a fit's intercept then needs no pass over X for the column means.
namespace {

template <typename T>
void TransposeRows(const char* src, int64_t s0, int64_t s1, T* dst, int64_t ld, int64_t n, int64_t j0,
                   int64_t j1, double* sums) {
  constexpr int64_t kTile = 32;
  for (int64_t jb = j0; jb < j1; jb += kTile) {
    const int64_t je = jb + kTile < j1 ? jb + kTile : j1;
    if (sums != nullptr)
      for (int64_t j = jb; j < je; ++j) sums[j] = 0.0;
    for (int64_t ib = 0; ib < n; ib += kTile) {
      const int64_t ie = ib + kTile < n ? ib + kTile : n;
      for (int64_t j = jb; j < je; ++j) {
        T* out = dst + j * ld;
        const char* col = src + j * s1;
        if (sums == nullptr) {
          for (int64_t i = ib; i < ie; ++i) out[i] = *reinterpret_cast<const T*>(col + i * s0);
        } else {   // the column's sum while its tile is in cache (the intercept's column means)
          double acc = 0.0;
          for (int64_t i = ib; i < ie; ++i) {
            const T v = *reinterpret_cast<const T*>(col + i * s0);
            out[i] = v;
            acc += static_cast<double>(v);
          }
          sums[j] += acc;
        }
      }
    }
  }
}

template <typename T>
void TransposeThreads(const char* src, int64_t s0, int64_t s1, T* dst, int64_t ld, int64_t n, int64_t p,
                      double* sums) {
  int64_t threads = static_cast<int64_t>(std::thread::hardware_concurrency());
  threads = threads < 1 ? 1 : (threads > 4 ? 4 : threads);
  if (n * p < (int64_t{1} << 16)) threads = 1;
  std::vector<std::thread> pool;
  const int64_t chunk = (p + threads - 1) / threads;
  for (int64_t t = 1; t < threads; ++t) {
    const int64_t j0 = t * chunk, j1 = (t + 1) * chunk < p ? (t + 1) * chunk : p;
    if (j0 < j1) pool.emplace_back(TransposeRows<T>, src, s0, s1, dst, ld, n, j0, j1, sums);
  }
  TransposeRows<T>(src, s0, s1, dst, ld, n, 0, chunk < p ? chunk : p, sums);
  for (auto& th : pool) th.join();
}

PyObject* TransposeInto(PyObject*, PyObject* args) {
  PyObject *src_obj, *dst_obj, *sums_obj = Py_None;
  if (!PyArg_ParseTuple(args, "OO|O", &src_obj, &dst_obj, &sums_obj)) return nullptr;
  Py_buffer src, dst, sums;
  sums.buf = nullptr;
  if (PyObject_GetBuffer(src_obj, &src, PyBUF_STRIDES | PyBUF_FORMAT) != 0) return nullptr;
  if (PyObject_GetBuffer(dst_obj, &dst, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE | PyBUF_FORMAT) != 0) {
    PyBuffer_Release(&src);
    return nullptr;
  }
  if (sums_obj != Py_None &&
      PyObject_GetBuffer(sums_obj, &sums, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE | PyBUF_FORMAT) != 0) {
    PyBuffer_Release(&src);
    PyBuffer_Release(&dst);
    return nullptr;
  }
  const bool with_sums = sums_obj != Py_None;
  const char* err = nullptr;
  if (src.ndim != 2 || dst.ndim != 2) err = "transpose_into: 2-D buffers expected";
  else if (src.itemsize != dst.itemsize || (src.itemsize != 4 && src.itemsize != 8))
    err = "transpose_into: the same 4- or 8-byte item size expected";
  else if (dst.shape[0] < src.shape[1] || dst.shape[1] < src.shape[0])
    err = "transpose_into: dst too small";
  else if (with_sums && (sums.ndim != 1 || sums.itemsize != 8 || sums.format == nullptr ||
                         sums.format[0] != 'd' || sums.shape[0] != src.shape[1]))
    err = "transpose_into: sums must be a float64 vector of one entry per column of src";
  if (err == nullptr) {
    const int64_t n = src.shape[0], p = src.shape[1], ld = dst.shape[1];
    const int64_t s0 = src.strides[0], s1 = src.strides[1];
    const char* s = static_cast<const char*>(src.buf);
    double* sm = with_sums ? static_cast<double*>(sums.buf) : nullptr;
    Py_BEGIN_ALLOW_THREADS
    if (src.itemsize == 8)
      TransposeThreads<double>(s, s0, s1, static_cast<double*>(dst.buf), ld, n, p, sm);
    else
      TransposeThreads<float>(s, s0, s1, static_cast<float*>(dst.buf), ld, n, p, sm);
    Py_END_ALLOW_THREADS
  }
  PyBuffer_Release(&src);
  PyBuffer_Release(&dst);
  if (with_sums) PyBuffer_Release(&sums);
  if (err != nullptr) {
    PyErr_SetString(PyExc_ValueError, err);
    return nullptr;
  }
  Py_RETURN_NONE;
}

}  // namespace

// ---------------------------------------------------------------- Python module: the handlers as capsules
// defined in cd_solve.cc
extern "C" XLA_FFI_Error* SparsestatCdPathF64(XLA_FFI_CallFrame* call_frame);
extern "C" XLA_FFI_Error* SparsestatCdPathF32(XLA_FFI_CallFrame* call_frame);
// defined in logreg_solve.cc
extern "C" XLA_FFI_Error* SparsestatLogregPathF64(XLA_FFI_CallFrame* call_frame);
extern "C" XLA_FFI_Error* SparsestatLogregPathF32(XLA_FFI_CallFrame* call_frame);

namespace {

PyObject* Capsule(void* fn) { return PyCapsule_New(fn, nullptr, nullptr); }

PyObject* Handlers(PyObject*, PyObject*) {
  PyObject* d = PyDict_New();
  if (d == nullptr) return nullptr;
  struct Entry {
    const char* name;
    void* fn;
  } entries[] = {
      {"cd_epoch_f64", reinterpret_cast<void*>(SparsestatCdEpochF64)},
      {"cd_epoch_f32", reinterpret_cast<void*>(SparsestatCdEpochF32)},
      {"rows_stats_f64", reinterpret_cast<void*>(SparsestatRowsStatsF64)},
      {"rows_stats_f32", reinterpret_cast<void*>(SparsestatRowsStatsF32)},
      {"rows_matvec_f64", reinterpret_cast<void*>(SparsestatRowsMatvecF64)},
      {"rows_matvec_f32", reinterpret_cast<void*>(SparsestatRowsMatvecF32)},
      {"rows_rmatvec_f64", reinterpret_cast<void*>(SparsestatRowsRmatvecF64)},
      {"rows_rmatvec_f32", reinterpret_cast<void*>(SparsestatRowsRmatvecF32)},
      {"cd_epoch_rows_f64", reinterpret_cast<void*>(SparsestatCdEpochRowsF64)},
      {"cd_epoch_rows_f32", reinterpret_cast<void*>(SparsestatCdEpochRowsF32)},
      {"cd_epoch_ell_f64", reinterpret_cast<void*>(SparsestatCdEpochEllF64)},
      {"cd_epoch_ell_f32", reinterpret_cast<void*>(SparsestatCdEpochEllF32)},
      {"cd_path_f64", reinterpret_cast<void*>(SparsestatCdPathF64)},
      {"cd_path_f32", reinterpret_cast<void*>(SparsestatCdPathF32)},
      {"logreg_path_f64", reinterpret_cast<void*>(SparsestatLogregPathF64)},
      {"logreg_path_f32", reinterpret_cast<void*>(SparsestatLogregPathF32)},
  };
  for (const auto& e : entries) {
    PyObject* c = Capsule(e.fn);
    if (c == nullptr || PyDict_SetItemString(d, e.name, c) != 0) {
      Py_XDECREF(c);
      Py_DECREF(d);
      return nullptr;
    }
    Py_DECREF(c);
  }
  return d;
}

#ifndef SPARSESTAT_JAXLIB_VERSION
#define SPARSESTAT_JAXLIB_VERSION "unknown"
#endif

PyObject* JaxlibVersion(PyObject*, PyObject*) { return PyUnicode_FromString(SPARSESTAT_JAXLIB_VERSION); }

PyMethodDef kMethods[] = {
    {"jaxlib_version", JaxlibVersion, METH_NOARGS, "the jaxlib whose XLA FFI headers the extension was built with"},
    {"handlers", Handlers, METH_NOARGS, "{name: PyCapsule of the XLA FFI handler}"},
    {"transpose_into", TransposeInto, METH_VARARGS,
     "transpose_into(src, dst[, sums]): dst[:p, :n] = src.T (blocked, threaded); sums[j] = sum of src[:, j]"},
    {nullptr, nullptr, 0, nullptr},
};

PyModuleDef kModule = {PyModuleDef_HEAD_INIT, "_native_cd", "sparsestat's native CPU kernels (XLA FFI)", -1,
                       kMethods};

}  // namespace

PyMODINIT_FUNC PyInit__native_cd(void) { return PyModule_Create(&kModule); }
