"""One process of a distributed job that goes wrong on purpose (started by the tests).

``python _faults.py raise``: process 1 raises before a collective that process 0 enters.
``python _faults.py crash``: process 1 dies without any clean-up (``os._exit``), the same way.
``python _faults.py mismatch``: the processes hold blocks of different widths, then of different dtypes,
then give an estimator data with different numbers of features.
"""

import os
import sys

import numpy as np

import sparsestat.distributed as dist


def main(mode):
    dist.initialize()
    k = dist.process_index()
    if mode in ("raise", "crash"):
        if k == 1:
            if mode == "crash":
                os._exit(3)
            raise RuntimeError("simulated failure in process 1")
        try:
            dist.allgather_blocks(np.ones((2, 2)))
        except dist.DistributedError as exc:
            print(f"caught DistributedError: {exc}")
            sys.exit(4)
        print("no error: the collective returned")
        return 0
    if mode == "mismatch":
        for name, block in (("width", np.ones((2, 3 + k))),
                            ("dtype", np.ones((2, 3), np.float64 if k == 0 else np.float32))):
            try:
                dist.allgather_blocks(block, "the test blocks")
                print(f"{name}: no error")
            except ValueError as exc:
                print(f"{name}: ValueError: {exc}")
        from sparsestat.privacy import LDPSparseRegression

        X = np.ones((10, 3 + k))
        try:
            LDPSparseRegression(1.0, x_clip_l2=1.0, x_clip=1.0, y_clip=1.0, distributed=True).fit(X, np.ones(10))
            print("estimator: no error")
        except ValueError as exc:
            print(f"estimator: ValueError: {exc}")
        return 0
    raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
