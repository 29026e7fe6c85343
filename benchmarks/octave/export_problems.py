"""Write seeded Kronecker-sparse problems to a .mat file for the authors' MATLAB/Octave KroSBL code.

Used once to make tests/sbl/fixtures/octave_reference.json (see README.md beside this file); the problems
are regenerated in the test from the same seeds, so only the reference's numbers are committed.

    python benchmarks/octave/export_problems.py OUT.mat
"""

import sys

import numpy as np
from scipy.io import savemat

from sparsestat.datasets import make_kronecker_sparse

# (name, factor shapes, support sizes, snr_db, kron_values, seed, n_problems): the reference code is written
# for three factors with N_1 = N_2 = N_3 (its N^3 bookkeeping), the paper's 3-factor setting
SETS = [
    ("k3_25db", [(8, 15), (12, 15), (15, 15)], [3, 3, 3], 25.0, True, 610, 10),
    ("k3_15db", [(8, 15), (12, 15), (15, 15)], [3, 3, 3], 15.0, True, 612, 10),
]


def main(out):
    data = {"names": np.array([s[0] for s in SETS], dtype=object)}
    for name, shapes, ks, snr, kv, seed, nprob in SETS:
        p = make_kronecker_sparse(shapes, ks, snr, kron_values=kv, n_problems=nprob, random_state=seed)
        for i in range(len(shapes)):
            data[f"{name}_A{i + 1}"] = np.asarray(p.factors[i])  # (B, M_i, N)
        data[f"{name}_y"] = p.y
        data[f"{name}_x"] = p.coef
        data[f"{name}_nv"] = np.asarray(p.noise_var)
    savemat(out, data)


if __name__ == "__main__":
    main(sys.argv[1])
