// cd_path: the whole elastic-net problem, along a grid of penalties, solved in one native call.
//
//     min_w  1/2 sum_i om_i (yc_i - sum_j w_j (x_ji - xm_j))^2 + l1_a sum_j v_j |w_j| + l2_a / 2 |w|^2
//
// (w >= 0 if positive) for each grid point a in turn, warm-started at the previous solution; X is read
// in place from its transposed copy XT (p, n) (a Design's storage), the centring (xm) and the sample
// weights (om, summing to 1) stay implicit: the state is t = om o r, so the gradient of coordinate j is
// x_j . t - xm_j sum(t), as in cd_epoch_rows. Each grid point is certified by the duality gap of
// sparsestat.regression.datafits.quadratic_primal_dual (scikit-learn's gaps: the rescaled residual for
// l1 > 0, the elastic net's own dual for l1 = 0), the best dual value seen being kept, and stops at
// gap <= target or after max_iter epochs.
//
// The algorithm is the working-set coordinate descent of sparsestat.regression.working_set without its
// per-operation overhead: a certificate (p dot products) scores the features; the working set is the
// support plus up to max(nnz, P0) of the largest KKT violators (skglm's growth); blocks of kAnderson
// cyclic CD epochs on it, each block followed by an Anderson extrapolation of its iterates (skglm's
// AndersonCD, kept when it lowers the objective; its residual is also a dual candidate, celer's dual
// extrapolation), by the CG support step where the block made little progress, and by the subproblem's
// gap, until that gap is below 0.3 x the outer gap; then the full certificate again. A batch of problems
// sharing X (cross-validation folds, several targets) runs on threads, one problem each; a problem with
// many weight-0 rows inside (a fold as a mask) runs on a compact copy of its weighted rows.

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
constexpr int64_t kCompactMax = int64_t{1} << 24;  // entries of a problem's compact copy of X
constexpr int kAnderson = 5;         // inner_cd.ANDERSON_K: epochs per block, iterates extrapolated
constexpr int kCgIters = 3;          // inner_cd.CG_ITERS
constexpr int kCgItersIll = 20;      // inner_cd.CG_ITERS_ILL, once the support holds half the samples or more
// A block of epochs that leaves more than kSlow of the subproblem's gap is followed by the CG step. In
// the JAX solver a CG iteration costs a fraction of an epoch's per-operation overhead, so it runs after
// every block; natively it costs two epochs' arithmetic over the support, and only pays where CD stalls
// (100-alpha paths, tol 1e-6: 25 / 121 / 1020 ms at 100x200 / 200x500 / 500x2000 with 0.95, against
// 42 / 173 / 1203 ms with 0.5 and 37 / 151 / 1006 ms without it, which at tol 1e-12 hit max_iter).
constexpr double kSlow = 0.95;

template <typename T>
struct Problem {
  const T* x;    // (p, n), row j = feature j
  const T* xm;   // (p,)
  const T* om;   // (n,)
  const T* yc;   // (n,)
  const T* v;    // (p,) per-feature l1 factors
  int64_t n, p;  // n: the rows up to the last one with weight (padding and held-out rows past it are skipped)
  int64_t ld;    // XT's row stride
  bool positive;
  // per-feature step 1 / sum_i om_i (x_ji - xm_j)^2 (0: an empty column) and c_j = sum_i om_i (x_ji -
  // xm_j), computed when the feature first enters a working set (a single fit touches few of them)
  mutable std::vector<T> inv_L, c;
  mutable std::vector<char> known;
  std::vector<T> inv_om;
  T om0 = 0;  // > 0: every weight (of the n rows) equals om0, and the updates skip the om stream
  const T* col(int64_t j) const { return x + j * ld; }
  // t -= d om o (x_j - xm_j)
  void Update(T d, int64_t j, T* t) const {
    if (om0 > 0)
      AxpyC(d * om0, col(j), xm[j], t, n);
    else
      AxpyOm(d, col(j), xm[j], om, t, n);
  }
  // Update(d, j, t), then returns col(k) . t (the next coordinate's product, in the same pass)
  T UpdateDot(T d, int64_t j, T* t, int64_t k) const {
    return om0 > 0 ? AxpyDot(d * om0, col(j), xm[j], static_cast<const T*>(nullptr), t, col(k), n)
                   : AxpyDot(d, col(j), xm[j], om, t, col(k), n);
  }
  void Ensure(int64_t j) const {
    if (known[j]) return;
    T L;
    Stats(col(j), xm[j], om, n, &c[j], &L);
    inv_L[j] = L > 0 ? T(1) / L : T(0);
    known[j] = 1;
  }
};

// primal and dual of quadratic_primal_dual over the features J (all of them: the certificate; the
// working set: the subproblem), from corr_j = x_j . t - xm_j sum(t), R2 = <r, r>_om, ry = <r, yc>_om.
template <typename T>
void PrimalDual(const Problem<T>& P, const int64_t* J, int64_t nJ, const T* corr, const T* w, T l1, T l2, T R2, T ry,
                T* primal, T* dual) {
  T dn = 0, pen = 0, ww = 0, ss = 0;
  for (int64_t k = 0; k < nJ; ++k) {
    const int64_t j = J ? J[k] : k;
    const T a = (corr[k] - l2 * w[j]) / P.v[j];
    dn = std::max(dn, P.positive ? a : std::abs(a));
    pen += P.v[j] * std::abs(w[j]);
    ww += w[j] * w[j];
    const T s = P.positive ? std::max(corr[k], T(0)) : std::abs(corr[k]);
    ss += s * s;
  }
  const T c = dn > l1 ? l1 / dn : T(1);
  *primal = T(0.5) * R2 + l1 * pen + T(0.5) * l2 * ww;
  if (l1 > 0 || !(l2 > 0))
    *dual = c * ry - T(0.5) * c * c * (R2 + l2 * ww);
  else
    *dual = ry - T(0.5) * R2 - ss / (T(2) * l2);
}

template <typename T>
struct State {
  std::vector<T> w, t;
  T St;
  // the last full certificate's correlations, valid for (w, t) while `fresh`: a path's next grid point
  // starts from them instead of a pass over X (the residual does not depend on the penalty)
  std::vector<T> corr;
  bool fresh = false;
  bool stale = false;  // corr is the previous grid point's (a predicted start): good enough to pick a working set
};

// t = om o (yc - X_c w), exactly (no drift from the incremental updates)
template <typename T>
void Residual(const Problem<T>& P, State<T>& S) {
  std::vector<T> r(P.yc, P.yc + P.n);
  for (int64_t j = 0; j < P.p; ++j)
    if (S.w[j] != 0) {
      const T* xj = P.col(j);
      const T d = S.w[j], m = P.xm[j];
      for (int64_t i = 0; i < P.n; ++i) r[i] -= d * (xj[i] - m);
    }
  S.St = 0;
  for (int64_t i = 0; i < P.n; ++i) {
    S.t[i] = P.om[i] * r[i];
    S.St += S.t[i];
  }
}

// R2 = <r, r>_om = sum t^2 / om and ry = <r, yc>_om = t . yc of the residual held as t = om o r
template <typename T>
void ResidualSums(const Problem<T>& P, const std::vector<T>& t, T* R2, T* ry) {
  T a = 0, b = 0;
  for (int64_t i = 0; i < P.n; ++i) {
    a += t[i] * t[i] * P.inv_om[i];
    b += t[i] * P.yc[i];
  }
  *R2 = a;
  *ry = b;
}

template <typename T>
void Corr(const Problem<T>& P, const State<T>& S, const int64_t* J, int64_t nJ, T* corr) {
  for (int64_t k = 0; k < nJ; ++k) {
    const int64_t j = J ? J[k] : k;
    corr[k] = Dot(P.col(j), S.t.data(), P.n) - P.xm[j] * S.St;
  }
}

// One cyclic CD epoch over J. A coordinate that moves updates t and computes the next coordinate's
// product x_k . t in the same pass (AxpyDot: the same value as Dot after the update, bitwise).
template <typename T>
void Epoch(const Problem<T>& P, State<T>& S, const int64_t* J, int64_t nJ, T l1, T l2) {
  T St = 0;
  for (int64_t i = 0; i < P.n; ++i) St += S.t[i];
  T* t = S.t.data();
  auto next = [&](int64_t k) {   // the first coordinate from k on with a step (k == nJ: none)
    while (k < nJ && !(P.inv_L[J[k]] > 0)) ++k;
    return k;
  };
  int64_t k = next(0);
  T dot = k < nJ ? Dot(P.col(J[k]), t, P.n) : T(0);
  while (k < nJ) {
    const int64_t j = J[k];
    const int64_t k2 = next(k + 1);
    const T wj = S.w[j];
    const T nw = CoordinateUpdate(wj, dot - P.xm[j] * St, P.inv_L[j], l1 * P.v[j], l2, P.positive);
    const T d = nw - wj;
    if (d != 0) {
      if (k2 < nJ) {
        dot = P.UpdateDot(d, j, t, J[k2]);
      } else {
        P.Update(d, j, t);
      }
      St -= d * P.c[j];
      S.w[j] = nw;
    } else if (k2 < nJ) {
      dot = Dot(P.col(J[k2]), t, P.n);
    }
    k = k2;
  }
  S.St = St;
}

// Anderson extrapolation of the working set's last kAnderson iterates (rows of hist, skglm's AndersonCD):
// the combination sum_k c_k w^k (k >= 1), sum_k c_k = 1, minimising |sum_k c_k (w^k - w^{k-1})|.
// Writes it to acc; false when the (ridge-regularised) system is singular.
template <typename T>
bool Extrapolate(const std::vector<T>& hist, int64_t nJ, bool positive, std::vector<T>& acc) {
  constexpr int K = kAnderson - 1;  // differences
  double G[K][K], z[K];
  double tr = 0;
  for (int a = 0; a < K; ++a)
    for (int b = 0; b <= a; ++b) {
      double s = 0;
      for (int64_t q = 0; q < nJ; ++q)
        s += (double(hist[(a + 1) * nJ + q]) - hist[a * nJ + q]) * (double(hist[(b + 1) * nJ + q]) - hist[b * nJ + q]);
      G[a][b] = G[b][a] = s;
    }
  for (int a = 0; a < K; ++a) tr += G[a][a];
  if (!(tr > 0)) return false;
  for (int a = 0; a < K; ++a) G[a][a] += 1e-12 * tr / K;
  for (int a = 0; a < K; ++a) {  // Cholesky, lower triangle in place
    for (int b = 0; b < a; ++b) {
      double s = G[a][b];
      for (int k = 0; k < b; ++k) s -= G[a][k] * G[b][k];
      G[a][b] = s / G[b][b];
    }
    double s = G[a][a];
    for (int k = 0; k < a; ++k) s -= G[a][k] * G[a][k];
    if (!(s > 0)) return false;
    G[a][a] = std::sqrt(s);
  }
  for (int a = 0; a < K; ++a) {
    double s = 1;
    for (int k = 0; k < a; ++k) s -= G[a][k] * z[k];
    z[a] = s / G[a][a];
  }
  for (int a = K - 1; a >= 0; --a) {
    double s = z[a];
    for (int k = a + 1; k < K; ++k) s -= G[k][a] * z[k];
    z[a] = s / G[a][a];
  }
  double sz = 0;
  for (int a = 0; a < K; ++a) sz += z[a];
  if (!(std::abs(sz) > 0) || !std::isfinite(sz)) return false;
  acc.assign(nJ, T(0));
  for (int64_t q = 0; q < nJ; ++q) {
    double e = 0;
    for (int a = 0; a < K; ++a) e += z[a] / sz * hist[(a + 1) * nJ + q];
    acc[q] = static_cast<T>(e);
    if (positive && acc[q] < 0) return false;
  }
  return true;
}

// The working set's coordinates and residual, a candidate iterate of the inner loop.
template <typename T>
struct Iterate {
  std::vector<T> wJ, t;
  T St;
};

// t of the iterate whose working-set coordinates are wJ, from the state's (w, t): an update per moved
// coordinate (the support changes little between candidates)
template <typename T>
void MoveTo(const Problem<T>& P, const State<T>& S, const std::vector<int64_t>& ws, Iterate<T>& I) {
  I.t = S.t;
  T St = S.St;
  for (size_t q = 0; q < ws.size(); ++q) {
    const int64_t j = ws[q];
    const T d = I.wJ[q] - S.w[j];
    if (d != 0) {
      P.Update(d, j, I.t.data());
      St -= d * P.c[j];
    }
  }
  I.St = St;
}

template <typename T>
void Store(const Iterate<T>& I, const std::vector<int64_t>& ws, State<T>& S) {
  for (size_t q = 0; q < ws.size(); ++q) S.w[ws[q]] = I.wJ[q];
  S.t = I.t;
  S.St = I.St;
}

// 1/2 R2 + penalty of an iterate (the working set holds every nonzero)
template <typename T>
T Objective(const Problem<T>& P, const std::vector<int64_t>& ws, const std::vector<T>& wJ, const std::vector<T>& t,
            T l1, T l2) {
  T R2, ry;
  ResidualSums(P, t, &R2, &ry);
  T pen = 0, ww = 0;
  for (size_t q = 0; q < ws.size(); ++q) {
    pen += P.v[ws[q]] * std::abs(wJ[q]);
    ww += wJ[q] * wJ[q];
  }
  return T(0.5) * R2 + l1 * pen + T(0.5) * l2 * ww;
}

// The subproblem's (primal, dual) at an iterate.
template <typename T>
std::pair<T, T> SubPD(const Problem<T>& P, const std::vector<int64_t>& ws, const std::vector<T>& wJ,
                      const std::vector<T>& t, T St, T l1, T l2, std::vector<T>& corr, std::vector<T>& wfull) {
  const int64_t nJ = static_cast<int64_t>(ws.size());
  for (int64_t q = 0; q < nJ; ++q) {
    corr[q] = Dot(P.col(ws[q]), t.data(), P.n) - P.xm[ws[q]] * St;
    wfull[ws[q]] = wJ[q];
  }
  T R2, ry, primal, dual;
  ResidualSums(P, t, &R2, &ry);
  PrimalDual(P, ws.data(), nJ, corr.data(), wfull.data(), l1, l2, R2, ry, &primal, &dual);
  return {primal, dual};
}

// The conjugate-gradient support step of sparsestat.regression.inner_cd._support_cg_step: `iters` CG
// iterations on the smooth quadratic the subproblem equals inside the current orthant (signs and zeros
// fixed), cut back to the orthant's boundary (the first coordinate reaching 0 lands on 0). Writes the
// candidate's working-set coordinates to out.
template <typename T>
void SupportStep(const Problem<T>& P, const State<T>& S, const std::vector<int64_t>& ws, T l1, T l2, int iters,
                 std::vector<T>& out) {
  std::vector<int64_t> sup;
  std::vector<size_t> pos;
  for (size_t q = 0; q < ws.size(); ++q)
    if (S.w[ws[q]] != 0) {
      sup.push_back(ws[q]);
      pos.push_back(q);
    }
  const int64_t m = static_cast<int64_t>(sup.size()), n = P.n;
  out.resize(ws.size());
  for (size_t q = 0; q < ws.size(); ++q) out[q] = S.w[ws[q]];
  if (m == 0) return;
  std::vector<T> tmp(n);
  auto hvp = [&](const std::vector<T>& d, std::vector<T>& o) {  // (Z_S Z_S^T + l2) d
    std::fill(tmp.begin(), tmp.end(), T(0));
    for (int64_t k = 0; k < m; ++k)  // tmp = om o (X_S,c d)
      if (d[k] != 0) P.Update(-d[k], sup[k], tmp.data());
    T st = 0;
    for (int64_t i = 0; i < n; ++i) st += tmp[i];
    for (int64_t k = 0; k < m; ++k) o[k] = Dot(P.col(sup[k]), tmp.data(), n) - P.xm[sup[k]] * st + l2 * d[k];
  };
  std::vector<T> r(m), x(m, T(0)), pdir(m), Ap(m);
  for (int64_t k = 0; k < m; ++k) {  // r = -gradient of the orthant's quadratic at w
    const int64_t j = sup[k];
    const T wj = S.w[j];
    r[k] = (Dot(P.col(j), S.t.data(), n) - P.xm[j] * S.St) - l1 * P.v[j] * (wj > 0 ? T(1) : T(-1)) - l2 * wj;
  }
  pdir = r;
  T rs = 0;
  for (int64_t k = 0; k < m; ++k) rs += r[k] * r[k];
  for (int it = 0; it < iters && rs > 0; ++it) {
    hvp(pdir, Ap);
    T pAp = 0;
    for (int64_t k = 0; k < m; ++k) pAp += pdir[k] * Ap[k];
    if (!(pAp > 0)) break;
    const T a = rs / pAp;
    T rs_new = 0;
    for (int64_t k = 0; k < m; ++k) {
      x[k] += a * pdir[k];
      r[k] -= a * Ap[k];
      rs_new += r[k] * r[k];
    }
    const T beta = rs_new / rs;
    for (int64_t k = 0; k < m; ++k) pdir[k] = r[k] + beta * pdir[k];
    rs = rs_new;
  }
  for (int64_t k = 0; k < m; ++k)
    if (!std::isfinite(x[k])) return;  // a breakdown proposes no step
  T tstar = 1;  // the largest step <= 1 keeping every sign
  for (int64_t k = 0; k < m; ++k) {
    const T wj = S.w[sup[k]];
    if (wj * x[k] < 0) tstar = std::min(tstar, -wj / x[k]);
  }
  for (int64_t k = 0; k < m; ++k) {
    const T wj = S.w[sup[k]];
    const bool cross = wj * x[k] < 0;
    out[pos[k]] = (cross && -wj / x[k] <= tstar) ? T(0) : wj + tstar * x[k];
  }
}

// One grid point from the current state. Returns (gap, epochs).
template <typename T>
std::pair<T, int64_t> SolveOne(const Problem<T>& P, State<T>& S, T l1, T l2, T target, int64_t max_iter) {
  const int64_t p = P.p;
  int64_t n_eff = 0;
  for (int64_t i = 0; i < P.n; ++i) n_eff += P.om[i] > 0;
  std::vector<T>& corr = S.corr;
  corr.resize(p);
  std::vector<T> sub_corr, wfull(p, T(0)), acc;
  std::vector<int64_t> ws;
  std::vector<std::pair<T, int64_t>> viol;
  std::vector<T> hist;
  Iterate<T> cand;
  T best = -std::numeric_limits<T>::infinity();
  T gap = std::numeric_limits<T>::infinity();
  int64_t it = 0;
  // a predicted start (PredictStart) skips the first certificate: its working set comes from the
  // previous point's correlations, and its round aims at the target
  bool predicted = S.stale && max_iter > 0;
  S.stale = false;
  while (true) {
    if (!predicted) {
      // the certificate on the full problem, on the exact residual (no drift from the incremental updates)
      if (!S.fresh) {
        Residual(P, S);
        Corr(P, S, nullptr, p, corr.data());
      }
      S.fresh = true;  // until the working set moves (w, t)
      T R2, ry, primal, dual;
      ResidualSums(P, S.t, &R2, &ry);
      PrimalDual(P, nullptr, p, corr.data(), S.w.data(), l1, l2, R2, ry, &primal, &dual);
      if (std::isfinite(dual)) best = std::max(best, dual);
      gap = primal - best;
      if (gap <= target || it >= max_iter) break;
    }

    // the working set: the support, then the largest violators
    ws.clear();
    viol.clear();
    int64_t inert = 0;  // features outside the support whose gradient is exactly 0 (padding, empty columns)
    for (int64_t j = 0; j < p; ++j) {
      if (S.w[j] != 0) {
        ws.push_back(j);
        continue;
      }
      inert += corr[j] == 0;
      const T a = l1 * P.v[j];
      const T d = P.positive ? corr[j] - a : std::abs(corr[j]) - a;
      if (d > 0) viol.emplace_back(d, j);  // (an empty column's corr is 0: never a violator)
    }
    const int64_t nnz = static_cast<int64_t>(ws.size());
    const int64_t nviol = static_cast<int64_t>(viol.size());
    const int64_t k = std::min(std::max(nnz, kP0), nviol);
    if (k < nviol)
      std::nth_element(viol.begin(), viol.begin() + k, viol.end(),
                       [](const std::pair<T, int64_t>& a, const std::pair<T, int64_t>& b) { return a.first > b.first; });
    for (int64_t q = 0; q < k; ++q) ws.push_back(viol[q].second);
    if (ws.empty()) {
      if (!predicted) break;  // nothing can move: the gap is rounding
      predicted = false;      // a predicted start with nothing to solve: certify it first
      continue;
    }
    S.fresh = false;
    std::sort(ws.begin(), ws.end());
    for (const int64_t j : ws) P.Ensure(j);
    const int64_t nJ = static_cast<int64_t>(ws.size());
    T sub_target = predicted ? target : static_cast<T>(kInnerRatio) * std::max(gap, target);
    predicted = false;
    // every feature that can move is in the working set (small p): the subproblem is the problem, so
    // aim at the target in this round (rounds would only restart the extrapolation and the slow-block
    // test; diabetes, p = 10, alpha 1e-5: a warm start took 95 epochs against 80 from zero)
    if (nJ + inert == p) sub_target = std::min(sub_target, static_cast<T>(kInnerRatio) * target);

    // blocks of kAnderson CD epochs on the working set, Anderson extrapolation, the CG support step,
    // then the subproblem's gap against the best dual value seen (the extrapolated point's included)
    sub_corr.resize(nJ);
    hist.resize(static_cast<size_t>(kAnderson * nJ));
    T sub_best = -std::numeric_limits<T>::infinity();
    T prev_gap = std::numeric_limits<T>::infinity();
    bool slow = false;
    while (it < max_iter) {
      int done = 0;
      for (; done < kAnderson && it < max_iter; ++done, ++it) {
        Epoch(P, S, ws.data(), nJ, l1, l2);
        for (int64_t q = 0; q < nJ; ++q) hist[done * nJ + q] = S.w[ws[q]];
      }
      T cur_obj = Objective(P, ws, std::vector<T>(hist.begin() + (done - 1) * nJ, hist.begin() + done * nJ), S.t,
                            l1, l2);
      // the state's subproblem (primal, dual), where already known (the extrapolated point was kept)
      std::pair<T, T> pd;
      bool pd_known = false;
      if (done == kAnderson && Extrapolate(hist, nJ, P.positive, acc)) {
        cand.wJ = acc;
        MoveTo(P, S, ws, cand);
        const T acc_obj = Objective(P, ws, cand.wJ, cand.t, l1, l2);
        const auto cpd = SubPD(P, ws, cand.wJ, cand.t, cand.St, l1, l2, sub_corr, wfull);  // dual extrapolation
        if (std::isfinite(cpd.second)) sub_best = std::max(sub_best, cpd.second);
        if (acc_obj < cur_obj) {
          Store(cand, ws, S);
          cur_obj = acc_obj;
          pd = cpd;
          pd_known = true;
        }
      }
      if (slow) {  // CD converging slowly (ill-conditioned): a CG step on the support, kept if it helps
        int64_t nnz_ws = 0;
        for (int64_t q = 0; q < nJ; ++q) nnz_ws += S.w[ws[q]] != 0;
        // 20 iterations once the support holds half the samples; on a support of m <= 20 features, m
        // (CG is exact after m iterations in exact arithmetic: a small ill-conditioned problem, e.g.
        // diabetes at alpha 1e-5, is then solved instead of crawled)
        const int64_t iters = 2 * nnz_ws >= n_eff ? kCgItersIll : std::max<int64_t>(kCgIters, std::min<int64_t>(nnz_ws, kCgItersIll));
        SupportStep(P, S, ws, l1, l2, static_cast<int>(iters), cand.wJ);
        MoveTo(P, S, ws, cand);
        if (Objective(P, ws, cand.wJ, cand.t, l1, l2) < cur_obj) {
          Store(cand, ws, S);
          pd_known = false;
        }
      }
      if (!pd_known) {
        std::vector<T> wJ(nJ);
        for (int64_t q = 0; q < nJ; ++q) wJ[q] = S.w[ws[q]];
        pd = SubPD(P, ws, wJ, S.t, S.St, l1, l2, sub_corr, wfull);
        if (std::isfinite(pd.second)) sub_best = std::max(sub_best, pd.second);
      }
      for (int64_t q = 0; q < nJ; ++q) wfull[ws[q]] = 0;
      const T sub_gap = pd.first - sub_best;
      if (sub_gap <= sub_target) break;
      // a block that cut the subproblem's gap by less than kSlow asks for the CG step after the next
      slow = sub_gap > static_cast<T>(kSlow) * prev_gap;
      prev_gap = sub_gap;
    }
  }
  return {gap, it};
}

// The next grid point's start, predicted from the last two solutions: on a fixed support with fixed
// signs the Lasso's solution is affine in l1 (the path is piecewise linear; with l2 = (1 - rho) l1 / rho
// it is smooth), so w + r (w - w_prev), r = (l1 - l1_1) / (l1_1 - l1_2), with coefficients that would
// change sign set to 0 (entering and leaving ones are left to the solver). Taken when its objective at
// the new penalty is below the current point's; its working set is then picked from the previous
// point's correlations (`stale`) instead of a pass over X. The tail of a path, where the support is
// stable and CD slow, gains the most (100-alpha paths: 500x2000 tol 1e-4 125 -> 81 ms i.i.d., 243 ->
// 128 ms correlated; 200x500 tol 1e-6 76 -> 59 ms, 87 -> 56 ms).
template <typename T>
void PredictStart(const Problem<T>& P, State<T>& S, const T* w1, const T* w2, T l1, T l1_1, T l1_2, T l2) {
  const T den = l1_1 - l1_2;
  if (!(den != 0)) return;
  const T r = (l1 - l1_1) / den;
  State<T> C{S.w, std::vector<T>(P.n), T(0)};
  bool moved = false;
  for (int64_t j = 0; j < P.p; ++j) {
    const T w = w1[j];
    if (w == 0 || w2[j] == 0) continue;  // entering or leaving: left to the solver
    const T c = w + r * (w - w2[j]);
    C.w[j] = (c > 0) == (w > 0) ? c : T(0);
    moved |= C.w[j] != w;
  }
  if (!moved) return;
  if (!S.fresh) Residual(P, S);
  Residual(P, C);
  const auto objective = [&](const State<T>& X) {  // Objective over X's support
    std::vector<int64_t> sup;
    std::vector<T> wS;
    for (int64_t j = 0; j < P.p; ++j)
      if (X.w[j] != 0) {
        sup.push_back(j);
        wS.push_back(X.w[j]);
      }
    return Objective(P, sup, wS, X.t, l1, l2);
  };
  if (objective(C) < objective(S)) {
    S.w.swap(C.w);
    S.t.swap(C.t);
    S.St = C.St;
    S.fresh = false;
    S.stale = true;
  }
}

// Problem b of a batch: its statistics, then its grid points in order.
template <typename T>
void SolvePath(const T* x, int64_t n, int64_t p, const T* xm, const T* om, const T* yc, const T* v, const T* l1,
               const T* l2, int64_t A, const T* w0, T target, int64_t max_iter, bool positive, T* W, T* gap,
               int32_t* n_iter) {
  int64_t n_used = n;  // rows past the last weighted one hold t = 0 and never change it: skip them
  while (n_used > 0 && !(om[n_used - 1] > 0)) --n_used;
  // many rows without weight inside (a cross-validation fold as a weight mask): solve on a compact copy
  // of the weighted rows (p n_w entries, bounded), so that the epochs never read them
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < n_used; ++i)
    if (om[i] > 0) rows.push_back(i);
  const int64_t nw = static_cast<int64_t>(rows.size());
  std::vector<T> xc, omc, ycc;
  if (10 * nw < 9 * n_used && p * nw <= kCompactMax) {
    xc.resize(static_cast<size_t>(p * nw));
    for (int64_t j = 0; j < p; ++j)
      for (int64_t k = 0; k < nw; ++k) xc[j * nw + k] = x[j * n + rows[k]];
    omc.resize(nw);
    ycc.resize(nw);
    for (int64_t k = 0; k < nw; ++k) {
      omc[k] = om[rows[k]];
      ycc[k] = yc[rows[k]];
    }
    x = xc.data();
    om = omc.data();
    yc = ycc.data();
    n = n_used = nw;
  }
  Problem<T> P{x, xm, om, yc, v, n_used, p, n, positive, {}, {}, {}, {}};
  P.inv_L.resize(p);
  P.c.resize(p);
  P.known.assign(p, 0);
  P.inv_om.resize(P.n);
  for (int64_t i = 0; i < P.n; ++i) P.inv_om[i] = P.om[i] > 0 ? T(1) / P.om[i] : T(0);
  P.om0 = P.n > 0 ? P.om[0] : T(0);
  for (int64_t i = 1; i < P.n && P.om0 > 0; ++i)
    if (P.om[i] != P.om0) P.om0 = 0;
  State<T> S{std::vector<T>(w0, w0 + p), std::vector<T>(P.n), T(0)};
  for (int64_t j = 0; j < p; ++j)
    if (S.w[j] != 0) {
      P.Ensure(j);
      if (!(P.inv_L[j] > 0)) S.w[j] = 0;  // an empty column never enters the model
    }
  for (int64_t a = 0; a < A; ++a) {
    if (a >= 2) PredictStart(P, S, W + (a - 1) * p, W + (a - 2) * p, l1[a], l1[a - 1], l1[a - 2], l2[a]);
    const auto res = SolveOne(P, S, l1[a], l2[a], target, max_iter);
    std::copy(S.w.begin(), S.w.end(), W + a * p);
    gap[a] = res.first;
    n_iter[a] = static_cast<int32_t>(res.second);
  }
}

// cd_path over a batch of B problems sharing XT (p, n): per-problem arguments have a leading B. The
// problems run on up to min(B, 4, cores) threads (each its own problem: results do not depend on it).
template <ffi::DataType D>
ffi::Error CdPath(ffi::Buffer<D> XT, ffi::Buffer<D> xm_b, ffi::Buffer<D> om_b, ffi::Buffer<D> yc_b, ffi::Buffer<D> v_b,
                  ffi::Buffer<D> l1_b, ffi::Buffer<D> l2_b, ffi::Buffer<D> w0_b, ffi::Buffer<D> target_b,
                  ffi::Buffer<ffi::S32> max_iter_b, bool positive, ffi::ResultBuffer<D> W_out,
                  ffi::ResultBuffer<D> gap_out, ffi::ResultBuffer<ffi::S32> it_out) {
  using T = ffi::NativeType<D>;
  const auto xd = XT.dimensions();
  const auto ld = l1_b.dimensions();
  if (xd.size() != 2 || ld.size() != 2) return ffi::Error::InvalidArgument("cd_path: XT and l1 must be 2-D");
  const int64_t p = xd[0], n = xd[1], B = ld[0], A = ld[1];
  const auto sz = [](int64_t a, int64_t b) { return static_cast<size_t>(a * b); };
  if (xm_b.element_count() != sz(B, p) || v_b.element_count() != sz(B, p) || w0_b.element_count() != sz(B, p) ||
      om_b.element_count() != sz(B, n) || yc_b.element_count() != sz(B, n) || l2_b.element_count() != sz(B, A) ||
      target_b.element_count() != sz(B, 1) || max_iter_b.element_count() != 1)
    return ffi::Error::InvalidArgument("cd_path: inconsistent shapes");
  const int64_t max_iter = max_iter_b.typed_data()[0];
  auto run = [&](int64_t b) {
    SolvePath<T>(XT.typed_data(), n, p, xm_b.typed_data() + b * p, om_b.typed_data() + b * n,
                 yc_b.typed_data() + b * n, v_b.typed_data() + b * p, l1_b.typed_data() + b * A,
                 l2_b.typed_data() + b * A, A, w0_b.typed_data() + b * p, target_b.typed_data()[b], max_iter, positive,
                 W_out->typed_data() + b * A * p, gap_out->typed_data() + b * A, it_out->typed_data() + b * A);
  };
  ForEachProblem(B, run);
  return ffi::Error::Success();
}

}  // namespace

#define SPARSESTAT_BIND_CD_PATH(D)             \
  ffi::Ffi::Bind()                             \
      .Arg<ffi::Buffer<D>>() /* XT */          \
      .Arg<ffi::Buffer<D>>() /* xm (B, p) */   \
      .Arg<ffi::Buffer<D>>() /* om (B, n) */   \
      .Arg<ffi::Buffer<D>>() /* yc (B, n) */   \
      .Arg<ffi::Buffer<D>>() /* v (B, p) */    \
      .Arg<ffi::Buffer<D>>() /* l1 (B, A) */   \
      .Arg<ffi::Buffer<D>>() /* l2 (B, A) */   \
      .Arg<ffi::Buffer<D>>() /* w0 (B, p) */   \
      .Arg<ffi::Buffer<D>>() /* target (B) */  \
      .Arg<ffi::Buffer<ffi::S32>>() /* max_iter */ \
      .Attr<bool>("positive")                  \
      .Ret<ffi::Buffer<D>>() /* W (B, A, p) */ \
      .Ret<ffi::Buffer<D>>() /* gap (B, A) */  \
      .Ret<ffi::Buffer<ffi::S32>>() /* n_iter (B, A) */

XLA_FFI_DEFINE_HANDLER_SYMBOL(SparsestatCdPathF64, CdPath<ffi::F64>, SPARSESTAT_BIND_CD_PATH(ffi::F64));
XLA_FFI_DEFINE_HANDLER_SYMBOL(SparsestatCdPathF32, CdPath<ffi::F32>, SPARSESTAT_BIND_CD_PATH(ffi::F32));
