"""Convert run_reference.m's output (.mat) into the committed JSON fixture (NMSE in dB per problem)."""

import json
import sys

import numpy as np
from scipy.io import loadmat

from export_problems import SETS


def main(inp, out):
    r = loadmat(inp)
    fix = {"source": "YanbinHe/JournalKroSBL KroSBL_f/functions under GNU Octave, R_max = 150, known noise",
           "methods": ["svd", "am", "ksbl"], "sets": {}}
    for name, shapes, ks, snr, kv, seed, nprob in SETS:
        if f"{name}_err" not in r:  # a run stopped before this set
            continue
        err = np.asarray(r[f"{name}_err"])  # (problems run so far, 3): the first rows of the seeded batch
        srr = np.asarray(r[f"{name}_srr"])
        fix["sets"][name] = {
            "factor_shapes": shapes, "support_sizes": ks, "snr_db": snr, "kron_values": kv, "random_state": seed,
            "n_problems": nprob,
            "nmse_db": {m: [round(float(10 * np.log10(v)), 4) for v in err[:, j]]
                        for j, m in enumerate(fix["methods"])},
            "support_recovery": {m: [round(float(v), 4) for v in srr[:, j]] for j, m in enumerate(fix["methods"])},
        }
    with open(out, "w") as f:
        json.dump(fix, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
