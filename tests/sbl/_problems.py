"""Small SBL problems shared by tests of several folders (one shape: their programs compile once)."""

import numpy as np


def small_kron_problem():
    """A 4x6 (x) 4x6 Kronecker dictionary, a 2 x 2-sparse coefficient grid and 16 noisy observations:
    returns ([H1, H2], y)."""
    rng = np.random.default_rng(1)
    H1, H2 = rng.standard_normal((4, 6)), rng.standard_normal((4, 6))
    g1, g2 = np.zeros(6), np.zeros(6)
    g1[[1, 2]] = [1.0, 0.4]
    g2[[2, 3]] = [1.0, -0.7]
    return [H1, H2], np.kron(H1, H2) @ np.kron(g1, g2) + 0.02 * rng.standard_normal(16)
