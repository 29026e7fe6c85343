"""Kronecker-structured sparse recovery problems and the IRS-MIMO uplink channel of He & Joseph (2024).

Both generators draw from ``numpy.random.default_rng(random_state)`` and return numpy arrays. The
measurement model is y = (H_1 kron ... kron H_I) x + n in row-major (``numpy.kron``) order: with
X = x.reshape(N_1, ..., N_I), y.reshape(M_1, ..., M_I) = X x_1 H_1 ... x_I H_I, computed by the one
Kronecker apply of :mod:`sparsestat.linalg.modes` (its numpy form: no device, float64 whatever JAX's
x64 flag says).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validation import check_int, check_nonnegative, check_random_state, check_scalar_arg
from ..linalg.modes import kron_matvec, kron_vectors

__all__ = ["KroneckerProblem", "IRSProblem", "make_kronecker_sparse", "irs_mimo_channel", "ula_response",
           "angular_dictionary"]


class KroneckerProblem(NamedTuple):
    """A Kronecker-sparse recovery problem (leading batch axis when ``n_problems`` is given).

    factors : tuple of arrays (M_i, N_i), or (B, M_i, N_i) per problem
    y : measurements (M,) or (B, M)
    coef : the true sparse vector (N,) or (B, N)
    noise_var : noise variance (scalar or (B,))
    supports : tuple of per-factor support indices (K_i,) or (B, K_i)
    """

    factors: tuple
    y: np.ndarray
    coef: np.ndarray
    noise_var: np.ndarray
    supports: tuple


def _gauss(rng, shape, complex_):
    if complex_:
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2.0)
    return rng.standard_normal(shape)


def make_kronecker_sparse(factor_shapes, support_sizes, snr_db, *, kron_values: bool = True,
                          complex: bool = False, n_problems: int | None = None, shared_factors: bool = False,
                          random_state=None) -> KroneckerProblem:
    """The synthetic problems of He & Joseph (2024), Sec. VI: Gaussian factors, Kronecker support.

    Parameters
    ----------
    factor_shapes : sequence of (M_i, N_i)
        Shapes of the factors H_i (at least two).
    support_sizes : sequence of int
        K_i, the number of non-zero indices along each factor (1 <= K_i <= N_i).
    snr_db : float
        Signal-to-noise ratio 10 log10(mean|Hx|^2 / sigma^2).
    kron_values : bool
        True: x = x_1 kron ... kron x_I with N(0, 1) (CN(0, 1) if complex) non-zeros in each x_i.
        False: i.i.d. N(0, 0.05) values on the Cartesian product support.
    complex : bool
        Complex Gaussian factors, values and noise.
    n_problems : int, optional
        Draw a batch of independent problems (leading axis on every output).
    shared_factors : bool
        With ``n_problems``: one set of factors for the whole batch (2-D factors).
    random_state : int, Generator or None

    Returns
    -------
    KroneckerProblem(factors, y, coef, noise_var, supports)
    """
    shapes = [tuple(int(v) for v in s) for s in factor_shapes]
    if len(shapes) < 2 or any(len(s) != 2 or min(s) < 1 for s in shapes):
        raise ValueError(f"factor_shapes must be at least two (M_i, N_i) pairs of positive ints, got {factor_shapes}")
    ks = [int(k) for k in support_sizes]
    if len(ks) != len(shapes):
        raise ValueError(f"support_sizes must have {len(shapes)} entries (one per factor), got {len(ks)}")
    for i, (k, s) in enumerate(zip(ks, shapes)):
        if not 1 <= k <= s[1]:
            raise ValueError(f"support_sizes[{i}] must be in [1, {s[1]}], got {k}")
    snr_db = float(check_scalar_arg(snr_db, "snr_db"))
    is_complex = bool(complex)
    vdtype = np.complex128 if is_complex else np.float64
    rng = check_random_state(random_state)
    batch = n_problems is not None
    B = check_int(n_problems, "n_problems", lower=1) if batch else 1

    def draw_factors():
        return tuple(_gauss(rng, s, is_complex) for s in shapes)

    shared = draw_factors() if (batch and shared_factors) else None
    F, Y, X, NV, S = [], [], [], [], []
    for _ in range(B):
        facs = shared if shared is not None else draw_factors()
        sup = tuple(np.sort(rng.choice(s[1], k, replace=False)) for s, k in zip(shapes, ks))
        if kron_values:
            parts = []
            for s, sp in zip(shapes, sup):
                v = np.zeros(s[1], dtype=vdtype)
                v[sp] = _gauss(rng, len(sp), is_complex)
                parts.append(v)
            x = kron_vectors(parts, xp=np)
        else:
            masks = []
            for s, sp in zip(shapes, sup):
                m = np.zeros(s[1])
                m[sp] = 1.0
                masks.append(m)
            mask = kron_vectors(masks, xp=np) > 0
            x = np.zeros(mask.size, dtype=vdtype)
            x[mask] = np.sqrt(0.05) * _gauss(rng, int(mask.sum()), is_complex)
        y0 = kron_matvec(facs, x, xp=np)
        nv = float(np.mean(np.abs(y0) ** 2) / 10 ** (snr_db / 10))
        y = y0 + np.sqrt(nv) * _gauss(rng, y0.shape, is_complex)
        F.append(facs)
        Y.append(y)
        X.append(x)
        NV.append(nv)
        S.append(sup)
    if not batch:
        return KroneckerProblem(F[0], Y[0], X[0], np.float64(NV[0]), S[0])
    if shared is not None:
        factors = shared
    else:
        factors = tuple(np.stack([f[i] for f in F]) for i in range(len(shapes)))
    supports = tuple(np.stack([s[i] for s in S]) for i in range(len(shapes)))
    return KroneckerProblem(factors, np.stack(Y), np.stack(X), np.asarray(NV), supports)


class IRSProblem(NamedTuple):
    """IRS-MIMO uplink channel-estimation problem (leading batch axis when ``n_problems`` is given).

    factors : (Phi (K2, G), X^T A_MS^* (K1, G), A_BS (N_BS, G)); the first two are per problem in a batch
    y : (M,) measurements, M = K2 K1 N_BS, index (k, t, b) row-major
    coef : (G^3,) true sparse vector x = c x_Delta kron e_{d_MS} kron x_BS
    noise_var : noise variance
    cascaded : (K2, N_BS, N_MS) true cascaded channels H_k = H_2 diag(theta_k) H_1
    irs_configs : (K2, N_IRS) IRS reflection vectors theta_k
    pilots : (N_MS, K1) pilot matrix X
    dictionaries : (A_IRS, A_MS, A_BS) angular dictionaries (n x G)
    """

    factors: tuple
    y: np.ndarray
    coef: np.ndarray
    noise_var: np.ndarray
    cascaded: np.ndarray
    irs_configs: np.ndarray
    pilots: np.ndarray
    dictionaries: tuple


def ula_response(n: int, psi) -> np.ndarray:
    """Uniform-linear-array response n^{-1/2} [exp(j pi psi k)]_{k<n} (columns for a vector of psi)."""
    psi = np.asarray(psi, dtype=float)
    k = np.arange(n)
    return np.exp(1j * np.pi * np.multiply.outer(k, psi)) / np.sqrt(n)


def angular_dictionary(n: int, grid_size: int) -> np.ndarray:
    """A_n = [a_n(psi_g)]_{g<G} on the uniform grid psi_g = -1 + 2 g / G."""
    return ula_response(n, -1.0 + 2.0 * np.arange(grid_size) / grid_size)


def irs_mimo_channel(snr_db, *, n_ms: int = 6, n_bs: int = 16, n_irs: int = 256, grid_size: int = 18,
                     n_paths: int = 3, n_pilots: int = 3, n_configs: int = 6, min_config_gain: float = 0.01,
                     n_problems: int | None = None, random_state=None) -> IRSProblem:
    """IRS-aided MIMO uplink channel estimation as in the authors' ``PC-KroSBL/main.m`` (He & Joseph 2024).

    ULAs at the MS (``n_ms``), BS (``n_bs``) and IRS (``n_irs``); all angles on a ``grid_size`` grid. The
    MS-IRS channel has one MS angle of departure and ``n_paths`` adjacent IRS angles of arrival with CN(0, 1)
    gains; the IRS-BS channel has one IRS angle of departure and ``n_paths`` adjacent BS angles of arrival.
    QPSK pilots X (``n_ms`` x ``n_pilots``), ``n_configs`` random +-1/sqrt(n_irs) IRS configurations
    (a configuration whose cascaded gain is below ``min_config_gain`` times its mean is redrawn; 0 disables).
    Y_k = H_2 diag(theta_k) H_1 X + W_k with CN(0, sigma^2) noise, sigma^2 = mean|y_0|^2 / 10^(snr/10).

    The measurements follow y = (Phi kron X^T A_MS^* kron A_BS) x + w with Phi[k, g] =
    theta_k^T (a_IRS(psi_0) o conj(a_IRS(psi_g))) and a 3 n_paths-sparse x of length G^3 (blocks of adjacent
    indices, circular in the first factor). Returns an :class:`IRSProblem`.
    """
    snr_db = float(check_scalar_arg(snr_db, "snr_db"))
    for name, v in (("n_ms", n_ms), ("n_bs", n_bs), ("n_irs", n_irs), ("grid_size", grid_size),
                    ("n_paths", n_paths), ("n_pilots", n_pilots), ("n_configs", n_configs)):
        check_int(v, name, lower=1)
    if n_paths > grid_size:
        raise ValueError(f"n_paths must be <= grid_size ({grid_size}), got {n_paths}")
    rho = check_nonnegative(min_config_gain, "min_config_gain")
    if rho >= 1:
        raise ValueError(f"min_config_gain must be in [0, 1), got {rho}")
    rng = check_random_state(random_state)
    batch = n_problems is not None
    B = check_int(n_problems, "n_problems", lower=1) if batch else 1
    G, L = grid_size, n_paths
    A_irs = angular_dictionary(n_irs, G)
    A_ms = angular_dictionary(n_ms, G)
    A_bs = angular_dictionary(n_bs, G)
    a0 = A_irs[:, 0]
    cg = lambda shape: (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2.0)
    out = {k: [] for k in ("Phi", "XA", "y", "x", "nv", "H", "theta", "X")}
    for _ in range(B):
        d_ms = rng.integers(G)
        a_start = rng.integers(G - L + 1)
        d_irs = rng.integers(G)
        b_start = rng.integers(G - L + 1)
        alpha = cg(L)
        beta = cg(L)
        a_idx = a_start + np.arange(L)
        b_idx = b_start + np.arange(L)
        v_irs = A_irs[:, a_idx] @ alpha
        H1 = np.sqrt(n_ms * n_irs / L) * np.outer(v_irs, A_ms[:, d_ms].conj())
        H2 = np.sqrt(n_bs * n_irs / L) * np.outer(A_bs[:, b_idx] @ beta, A_irs[:, d_irs].conj())
        X = (rng.choice([-1.0, 1.0], (n_ms, n_pilots)) + 1j * rng.choice([-1.0, 1.0], (n_ms, n_pilots))) / np.sqrt(
            2.0 * n_ms)
        w_eff = A_irs[:, d_irs].conj() * v_irs
        mean_gain = np.sum(np.abs(w_eff) ** 2) / n_irs
        thetas = []
        for _k in range(n_configs):
            while True:
                th = rng.choice([-1.0, 1.0], n_irs) / np.sqrt(n_irs)
                if rho == 0 or np.abs(th @ w_eff) ** 2 >= rho * mean_gain:
                    break
            thetas.append(th)
        theta = np.stack(thetas)
        Hk = np.stack([H2 @ (th[:, None] * H1) for th in theta])            # (K2, N_BS, N_MS)
        Y0 = np.einsum("kbm,mt->ktb", Hk, X)                                  # (K2, K1, N_BS)
        y0 = Y0.reshape(-1)
        nv = float(np.mean(np.abs(y0) ** 2) / 10 ** (snr_db / 10))
        y = y0 + np.sqrt(nv) * cg(y0.shape)
        Phi = theta @ (a0[:, None] * A_irs.conj())                            # (K2, G)
        XA = X.T @ A_ms.conj()                                                # (K1, G)
        x_delta = np.zeros(G, complex)
        x_delta[(d_irs - a_idx) % G] = alpha
        e_ms = np.zeros(G)
        e_ms[d_ms] = 1.0
        x_bs = np.zeros(G, complex)
        x_bs[b_idx] = beta
        c = n_irs * np.sqrt(n_ms * n_bs) / L
        x = c * np.kron(x_delta, np.kron(e_ms, x_bs))
        for key, val in (("Phi", Phi), ("XA", XA), ("y", y), ("x", x), ("nv", nv), ("H", Hk), ("theta", theta),
                         ("X", X)):
            out[key].append(val)
    if not batch:
        return IRSProblem((out["Phi"][0], out["XA"][0], A_bs), out["y"][0], out["x"][0], np.float64(out["nv"][0]),
                          out["H"][0], out["theta"][0], out["X"][0], (A_irs, A_ms, A_bs))
    st = lambda k: np.stack(out[k])
    return IRSProblem((st("Phi"), st("XA"), A_bs), st("y"), st("x"), np.asarray(out["nv"]), st("H"), st("theta"),
                      st("X"), (A_irs, A_ms, A_bs))
