// logreg_path: L1-penalised logistic regression, along a grid of penalties, solved in one native call.
//
//     min_{w, b}  sum_i om_i log(1 + exp(-y_i (x_i . w + b))) + l1_a |w|_1      (w >= 0 if positive)
//
// for each grid point a in turn, warm-started at the previous solution; y_i in {-1, +1}, the sample
// weights om sum to 1, X is read in place from its transposed copy XT (p, n) (a Design's storage), and
// the intercept b is fitted only with fit_intercept (otherwise it stays at b0). Each grid point is
// certified by the duality gap of sparsestat.regression.datafits.logistic_primal_dual (the entropy dual
// at u_i = sigmoid(-y_i z_i), rebalanced so that sum_i om_i y_i u_i = 0 with an intercept, rescaled into
// the l1 ball; the best dual value seen is kept) and stops at gap <= target or after max_iter epochs.
//
// The algorithm is the working-set prox-Newton of sparsestat.regression.working_set / inner_newton
// (skglm's ProxNewton with working sets) without XLA's per-operation overhead: a certificate (p dot
// products) scores the features; the working set is the support plus the largest KKT violators, up to
// max(P0, 2 nnz) features; on it, Newton steps: the quadratic model of the loss at z = X w + b (weights
// h_i = om_i s_i (1 - s_i)) with the intercept profiled out exactly (the h-weighted centring of the
// columns), kAnderson coordinate-descent passes on the model, a backtracking line search on the
// objective; until the subproblem's gap is below 0.3 x the outer gap; then the full certificate again.
// A batch of problems sharing X (several label vectors, bootstraps) runs on threads, one problem each.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "common.h"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;
using namespace sparsestat_native;  // NOLINT: the shared vector loops

namespace {

constexpr double kInnerRatio = 0.3;  // working_set.INNER_RATIO
constexpr int64_t kP0 = 64;          // working_set.P0
constexpr int kPasses = 5;           // inner_cd.ANDERSON_K: CD passes on a Newton model (counted as epochs)
constexpr int kMaxHalvings = 30;     // inner_newton's line search
// The line search accepts a step whose objective exceeds the current one by at most kSlack f0: rounding.
// Near the optimum a Newton step lowers the objective by the square of what it lowers the gap by, so
// below a gap of ~1e-8 f0 the decrease is under the objective's rounding error, and a strict test
// (f <= f0) then rejected full steps by chance and stalled at gaps of ~5e-12 f0 (tol 1e-12).
constexpr double kSlack = 64 * std::numeric_limits<double>::epsilon();

template <typename T>
struct Problem {
  const T* x;    // (p, n), row j = feature j
  const T* om;   // (n,)
  const T* y;    // (n,) in {-1, +1}
  int64_t n, p;  // n: the rows up to the last one with weight (padding past it is skipped)
  int64_t ld;    // XT's row stride
  bool positive, fit_intercept;
  const T* col(int64_t j) const { return x + j * ld; }
};

// log(1 + exp(-m)), without overflow
template <typename T>
inline T Softplus(T m) {
  return m > 0 ? std::log1p(std::exp(-m)) : -m + std::log1p(std::exp(m));
}

template <typename T>
inline T Sigmoid(T a) {  // 1 / (1 + exp(-a))
  if (a >= 0) return T(1) / (T(1) + std::exp(-a));
  const T e = std::exp(a);
  return e / (T(1) + e);
}

template <typename T>
inline T XlogX(T a) {
  return a > 0 ? a * std::log(a) : T(0);
}

// (the objective's sums are accumulated in double: a float32 sum over n terms carries ~1e-7 sqrt(n)
// relative error, the order of a float32 certificate)
template <typename T>
double Loss(const Problem<T>& P, const T* z) {
  double s = 0;
  for (int64_t i = 0; i < P.n; ++i) s += static_cast<double>(P.om[i]) * Softplus(static_cast<double>(P.y[i] * z[i]));
  return s;
}

// q_i = om_i y_i u_i, u_i = sigmoid(-y_i z_i) rebalanced (intercept) so that sum_i q_i = 0; writes u.
template <typename T>
void DualPoint(const Problem<T>& P, const T* z, T* u, T* q) {
  T pos = 0, neg = 0;
  for (int64_t i = 0; i < P.n; ++i) {
    u[i] = Sigmoid(-P.y[i] * z[i]);
    (P.y[i] > 0 ? pos : neg) += P.om[i] * u[i];
  }
  T fpos = 1, fneg = 1;
  if (P.fit_intercept) {
    if (pos > neg) fpos = pos > 0 ? neg / pos : T(1);
    if (neg > pos) fneg = neg > 0 ? pos / neg : T(1);
  }
  for (int64_t i = 0; i < P.n; ++i) {
    u[i] *= P.y[i] > 0 ? fpos : fneg;
    q[i] = P.om[i] * P.y[i] * u[i];
  }
}

// primal and dual at z, from corr_k = x_J[k] . q over the features J (all of them: the certificate;
// the working set: the subproblem), w the coefficients of J (the other ones are 0).
template <typename T>
void PrimalDual(const Problem<T>& P, const T* z, const T* u, const T* corr, int64_t nJ, const T* wJ, T l1,
                T* primal, T* dual) {
  T dn = 0;
  double pen = 0;
  for (int64_t k = 0; k < nJ; ++k) {
    dn = std::max(dn, P.positive ? corr[k] : std::abs(corr[k]));
    pen += std::abs(wJ[k]);
  }
  const double c = dn > l1 ? static_cast<double>(l1) / dn : 1.0;
  double ent = 0;
  for (int64_t i = 0; i < P.n; ++i) {
    const double a = c * u[i];
    ent += P.om[i] * (XlogX(a) + XlogX(1.0 - a));
  }
  *primal = static_cast<T>(Loss(P, z) + l1 * pen);
  *dual = static_cast<T>(-ent);
}

// z = X w + b over the support, exactly
template <typename T>
void Linear(const Problem<T>& P, const std::vector<T>& w, T b, std::vector<T>& z) {
  std::fill(z.begin(), z.end(), b);
  for (int64_t j = 0; j < P.p; ++j)
    if (w[j] != 0) Axpy(-w[j], P.col(j), z.data(), P.n);
}

template <typename T>
struct State {
  std::vector<T> w, z;  // coefficients, X w + b
  T b;
  std::vector<T> corr;  // the last full certificate's correlations, valid for (w, b) while `fresh`
  bool fresh = false;
};

// Scratch vectors of a Newton step (n-sized, kept across steps).
template <typename T>
struct Scratch {
  std::vector<T> u, q, h, rt, xd, zt, mu, c, inv_h, vJ, d, corr;
};

// Newton steps on the working set ws from the state until the subproblem's gap <= sub_target or the
// epoch budget is spent. Returns the epochs used.
template <typename T>
int64_t NewtonInner(const Problem<T>& P, State<T>& S, const std::vector<int64_t>& ws, T l1, T sub_target,
                    int64_t budget, Scratch<T>& W) {
  const int64_t n = P.n, nJ = static_cast<int64_t>(ws.size());
  const T fi = P.fit_intercept ? T(1) : T(0);
  W.mu.resize(nJ);
  W.c.resize(nJ);
  W.inv_h.resize(nJ);
  W.vJ.resize(nJ);
  W.d.resize(nJ);
  W.corr.resize(nJ);
  std::vector<T> wJ(nJ);
  for (int64_t k = 0; k < nJ; ++k) wJ[k] = S.w[ws[k]];
  int64_t ep = 0;
  while (ep < budget) {
    const int64_t left = budget - ep;
    if (ep > 0) {  // X w + b again, exactly (as inner_newton): no drift over many steps (2-10 % of a fit)
      std::fill(S.z.begin(), S.z.end(), S.b);
      for (int64_t k = 0; k < nJ; ++k)
        if (wJ[k] != 0) Axpy(-wJ[k], P.col(ws[k]), S.z.data(), n);
    }
    // the model at z: gradient gr_i = -om_i y_i sigmoid(-y_i z_i), curvature h_i = om_i s_i (1 - s_i)
    T Hb = 0, G = 0;
    for (int64_t i = 0; i < n; ++i) {
      const T s = Sigmoid(S.z[i]);
      W.h[i] = P.om[i] * s * (T(1) - s);
      const T gr = -P.om[i] * P.y[i] * Sigmoid(-P.y[i] * S.z[i]);
      W.rt[i] = gr;  // gr for now
      Hb += W.h[i];
      G += gr;
    }
    const T shift_g = (P.fit_intercept && Hb > 0) ? G / Hb : T(0);
    // the intercept profiled out: columns centred by their h-weighted means mu, gradient gr - h G / Hb;
    // the model's residual rt = -(grc + h o Zc d) starts at -grc
    T Srt = 0;
    for (int64_t i = 0; i < n; ++i) {
      W.rt[i] = -(W.rt[i] - fi * W.h[i] * shift_g);
      Srt += W.rt[i];
    }
    for (int64_t k = 0; k < nJ; ++k) {
      const T* xj = P.col(ws[k]);
      W.mu[k] = (P.fit_intercept && Hb > 0) ? Dot(xj, W.h.data(), n) / Hb : T(0);
      T L;
      Stats(xj, W.mu[k], W.h.data(), n, &W.c[k], &L);
      W.inv_h[k] = L > 0 ? T(1) / L : T(0);
      W.vJ[k] = wJ[k];
    }
    // kPasses cyclic CD passes on the model (the passes past the budget are not run)
    const int passes = static_cast<int>(std::min<int64_t>(kPasses, left));
    // (a coordinate that moves updates rt and computes the next one's product in the same pass:
    // AxpyDot, bitwise the Dot after AxpyOm)
    for (int pass = 0; pass < passes; ++pass) {
      T dot = nJ > 0 ? Dot(P.col(ws[0]), W.rt.data(), n) : T(0);
      for (int64_t k = 0; k < nJ; ++k) {
        const T* xj = P.col(ws[k]);
        const T* xn = k + 1 < nJ ? P.col(ws[k + 1]) : nullptr;
        const T nv = CoordinateUpdate(W.vJ[k], dot - W.mu[k] * Srt, W.inv_h[k], l1, T(0), P.positive);
        const T dl = nv - W.vJ[k];
        if (dl != 0) {
          if (xn != nullptr)
            dot = AxpyDot(dl, xj, W.mu[k], W.h.data(), W.rt.data(), xn, n);
          else
            AxpyOm(dl, xj, W.mu[k], W.h.data(), W.rt.data(), n);
          Srt -= dl * W.c[k];
          W.vJ[k] = nv;
        } else if (xn != nullptr) {
          dot = Dot(xn, W.rt.data(), n);
        }
      }
    }
    ep += passes;
    // the direction, back to uncentred columns: z moves by X_c d - G / Hb, b by -G / Hb - mu . d
    const T shift = -fi * shift_g;
    T db = shift;
    std::fill(W.xd.begin(), W.xd.end(), -shift);  // built negated (AxpyC subtracts), flipped below
    for (int64_t k = 0; k < nJ; ++k) {
      W.d[k] = W.vJ[k] - wJ[k];
      if (W.d[k] != 0) {
        AxpyC(W.d[k], P.col(ws[k]), W.mu[k], W.xd.data(), n);  // xd -= d (x - mu)
        db -= W.mu[k] * W.d[k];
      }
    }
    for (int64_t i = 0; i < n; ++i) W.xd[i] = -W.xd[i];  // X_c d + shift
    // backtracking line search on the objective
    double pen0 = 0;
    for (int64_t k = 0; k < nJ; ++k) pen0 += std::abs(wJ[k]);
    const double f0 = Loss(P, S.z.data()) + l1 * pen0;
    T t = 1;
    bool ok = false;
    for (int k = 0; k <= kMaxHalvings; ++k) {
      for (int64_t i = 0; i < n; ++i) W.zt[i] = S.z[i] + t * W.xd[i];
      double pen = 0;
      for (int64_t q = 0; q < nJ; ++q) pen += std::abs(wJ[q] + t * W.d[q]);
      if (Loss(P, W.zt.data()) + l1 * pen <= f0 + kSlack * std::abs(f0)) {
        ok = true;
        break;
      }
      t *= T(0.5);
    }
    if (ok) {
      for (int64_t q = 0; q < nJ; ++q) wJ[q] += t * W.d[q];
      S.b += t * db;
      std::swap(S.z, W.zt);
    }
    // the subproblem's gap at the new point
    DualPoint(P, S.z.data(), W.u.data(), W.q.data());
    for (int64_t k = 0; k < nJ; ++k) W.corr[k] = Dot(P.col(ws[k]), W.q.data(), n);
    T primal, dual;
    PrimalDual(P, S.z.data(), W.u.data(), W.corr.data(), nJ, wJ.data(), l1, &primal, &dual);
    if (primal - dual <= sub_target) break;
    if (!ok) break;  // no descent along the model's direction: back to the outer certificate
  }
  for (int64_t k = 0; k < nJ; ++k) S.w[ws[k]] = wJ[k];
  return ep;
}

// One grid point from the current state. Returns (gap, epochs).
template <typename T>
std::pair<T, int64_t> SolveOne(const Problem<T>& P, State<T>& S, T l1, T target, int64_t max_iter,
                               Scratch<T>& W) {
  const int64_t p = P.p;
  std::vector<T>& corr = S.corr;
  corr.resize(p);
  std::vector<int64_t> ws;
  std::vector<std::pair<T, int64_t>> viol;
  T best = -std::numeric_limits<T>::infinity();
  T gap = std::numeric_limits<T>::infinity();
  int64_t it = 0;
  while (true) {
    // the certificate on the full problem (X w + b recomputed exactly: no drift from the steps)
    if (!S.fresh) Linear(P, S.w, S.b, S.z);
    DualPoint(P, S.z.data(), W.u.data(), W.q.data());
    if (!S.fresh)
      for (int64_t j = 0; j < p; ++j) corr[j] = Dot(P.col(j), W.q.data(), P.n);
    S.fresh = true;  // until the working set moves (w, b)
    T primal, dual;
    PrimalDual(P, S.z.data(), W.u.data(), corr.data(), p, S.w.data(), l1, &primal, &dual);
    if (std::isfinite(dual)) best = std::max(best, dual);
    gap = primal - best;
    if (gap <= target || it >= max_iter) break;

    // the working set: the support, then the largest violators, max(P0, 2 nnz) features in all
    ws.clear();
    viol.clear();
    for (int64_t j = 0; j < p; ++j) {
      if (S.w[j] != 0) {
        ws.push_back(j);
        continue;
      }
      const T d = P.positive ? corr[j] - l1 : std::abs(corr[j]) - l1;
      if (d > 0) viol.emplace_back(d, j);
    }
    const int64_t nnz = static_cast<int64_t>(ws.size());
    const int64_t nviol = static_cast<int64_t>(viol.size());
    const int64_t k = std::min(std::max<int64_t>(std::max(kP0, 2 * nnz) - nnz, 0), nviol);
    if (k < nviol)
      std::nth_element(viol.begin(), viol.begin() + k, viol.end(),
                       [](const std::pair<T, int64_t>& a, const std::pair<T, int64_t>& b) {
                         return a.first > b.first || (a.first == b.first && a.second < b.second);
                       });
    for (int64_t q = 0; q < k; ++q) ws.push_back(viol[q].second);
    if (ws.empty() && !P.fit_intercept) break;  // nothing can move: the gap is rounding
    std::sort(ws.begin(), ws.end());
    S.fresh = false;
    T sub_target = static_cast<T>(kInnerRatio) * std::max(gap, target);
    // no violator outside the support: the working set holds every feature the solution needs
    if (nviol == 0) sub_target = std::min(sub_target, static_cast<T>(kInnerRatio) * target);
    const int64_t ep = NewtonInner(P, S, ws, l1, sub_target, max_iter - it, W);
    it += std::max<int64_t>(ep, 1);  // a step without passes (empty working set: the intercept alone) counts
  }
  return {gap, it};
}

template <typename T>
void SolvePath(const T* x, int64_t n, int64_t p, const T* om, const T* y, const T* l1, int64_t A, const T* w0,
               T b0, T target, int64_t max_iter, bool positive, bool fit_intercept, T* W, T* bout, T* gap,
               int32_t* n_iter) {
  int64_t n_used = n;  // rows past the last weighted one never change anything: skip them
  while (n_used > 0 && !(om[n_used - 1] > 0)) --n_used;
  Problem<T> P{x, om, y, n_used, p, n, positive, fit_intercept};
  State<T> S{std::vector<T>(w0, w0 + p), std::vector<T>(n_used), b0};
  for (int64_t j = 0; j < p; ++j)  // an empty column never enters the model
    if (S.w[j] != 0) {
      bool empty = true;
      for (int64_t i = 0; i < n_used && empty; ++i) empty = P.col(j)[i] == 0;
      if (empty) S.w[j] = 0;
    }
  Scratch<T> Wk;
  for (auto* v : {&Wk.u, &Wk.q, &Wk.h, &Wk.rt, &Wk.xd, &Wk.zt}) v->resize(n_used);
  for (int64_t a = 0; a < A; ++a) {
    const auto res = SolveOne(P, S, l1[a], target, max_iter, Wk);
    std::copy(S.w.begin(), S.w.end(), W + a * p);
    bout[a] = S.b;
    gap[a] = res.first;
    n_iter[a] = static_cast<int32_t>(res.second);
  }
}

// logreg_path over a batch of B problems sharing XT (p, n): per-problem arguments have a leading B. The
// problems run on up to min(B, 4, cores) threads (each its own problem: results do not depend on it).
template <ffi::DataType D>
ffi::Error LogregPath(ffi::Buffer<D> XT, ffi::Buffer<D> om_b, ffi::Buffer<D> y_b, ffi::Buffer<D> l1_b,
                      ffi::Buffer<D> w0_b, ffi::Buffer<D> b0_b, ffi::Buffer<D> target_b,
                      ffi::Buffer<ffi::S32> max_iter_b, bool positive, bool fit_intercept,
                      ffi::ResultBuffer<D> W_out, ffi::ResultBuffer<D> b_out, ffi::ResultBuffer<D> gap_out,
                      ffi::ResultBuffer<ffi::S32> it_out) {
  using T = ffi::NativeType<D>;
  const auto xd = XT.dimensions();
  const auto ld = l1_b.dimensions();
  if (xd.size() != 2 || ld.size() != 2) return ffi::Error::InvalidArgument("logreg_path: XT and l1 must be 2-D");
  const int64_t p = xd[0], n = xd[1], B = ld[0], A = ld[1];
  const auto sz = [](int64_t a, int64_t b) { return static_cast<size_t>(a * b); };
  if (w0_b.element_count() != sz(B, p) || om_b.element_count() != sz(B, n) || y_b.element_count() != sz(B, n) ||
      b0_b.element_count() != sz(B, 1) || target_b.element_count() != sz(B, 1) || max_iter_b.element_count() != 1)
    return ffi::Error::InvalidArgument("logreg_path: inconsistent shapes");
  const int64_t max_iter = max_iter_b.typed_data()[0];
  auto run = [&](int64_t b) {
    SolvePath<T>(XT.typed_data(), n, p, om_b.typed_data() + b * n, y_b.typed_data() + b * n,
                 l1_b.typed_data() + b * A, A, w0_b.typed_data() + b * p, b0_b.typed_data()[b],
                 target_b.typed_data()[b], max_iter, positive, fit_intercept, W_out->typed_data() + b * A * p,
                 b_out->typed_data() + b * A, gap_out->typed_data() + b * A, it_out->typed_data() + b * A);
  };
  ForEachProblem(B, run);
  return ffi::Error::Success();
}

}  // namespace

#define SPARSESTAT_BIND_LOGREG_PATH(D)             \
  ffi::Ffi::Bind()                                 \
      .Arg<ffi::Buffer<D>>() /* XT */              \
      .Arg<ffi::Buffer<D>>() /* om (B, n) */       \
      .Arg<ffi::Buffer<D>>() /* y (B, n) */        \
      .Arg<ffi::Buffer<D>>() /* l1 (B, A) */       \
      .Arg<ffi::Buffer<D>>() /* w0 (B, p) */       \
      .Arg<ffi::Buffer<D>>() /* b0 (B) */          \
      .Arg<ffi::Buffer<D>>() /* target (B) */      \
      .Arg<ffi::Buffer<ffi::S32>>() /* max_iter */ \
      .Attr<bool>("positive")                      \
      .Attr<bool>("fit_intercept")                 \
      .Ret<ffi::Buffer<D>>() /* W (B, A, p) */     \
      .Ret<ffi::Buffer<D>>() /* b (B, A) */        \
      .Ret<ffi::Buffer<D>>() /* gap (B, A) */      \
      .Ret<ffi::Buffer<ffi::S32>>() /* n_iter (B, A) */

XLA_FFI_DEFINE_HANDLER_SYMBOL(SparsestatLogregPathF64, LogregPath<ffi::F64>, SPARSESTAT_BIND_LOGREG_PATH(ffi::F64));
XLA_FFI_DEFINE_HANDLER_SYMBOL(SparsestatLogregPathF32, LogregPath<ffi::F32>, SPARSESTAT_BIND_LOGREG_PATH(ffi::F32));
