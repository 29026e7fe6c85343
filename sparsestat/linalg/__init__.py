"""The shared floor: jit-compiled linear algebra used by every method module.

Submodules: :mod:`~sparsestat.linalg.modes` (the one Kronecker apply: mode products, Kronecker
products of vectors), :mod:`~sparsestat.linalg.operators` (Dense, Kronecker, ColumnScaled),
:mod:`~sparsestat.linalg.kron` (vec/unvec, nearest Kronecker, factor-wise solves),
:mod:`~sparsestat.linalg.solve` (Cholesky with jitter, Woodbury, rank-one updates, least squares),
:mod:`~sparsestat.linalg.prox` (thresholds, prox maps, projections),
:mod:`~sparsestat.linalg.spectral` (||A||_2 estimates), :mod:`~sparsestat.linalg.losses` (the
logistic, Bernoulli and squared losses several modules share), :mod:`~sparsestat.linalg.sharding`
(multi-device helpers), :mod:`~sparsestat.linalg.precision` (scoped float64),
:mod:`~sparsestat.linalg.host` (fast aligned host-to-device copies),
:mod:`~sparsestat.linalg.native` (native CPU kernels called through XLA's FFI: coordinate-descent epochs),
:mod:`~sparsestat.linalg.ordering` (factorisations in turn, avoiding an XLA:CPU thread-pool deadlock),
:mod:`~sparsestat.linalg.shapes` (the size ladder compiled programs are built for) and
:mod:`~sparsestat.linalg.cache` (the persistent compilation cache and the bound on compiled programs).
"""

from . import (cache, host, kron, losses, modes, native, operators, ordering, precision, prox, shapes, sharding,
               solve, spectral)
from .cache import before_compiled_call, compiled_entry, ensure_compilation_cache
from .host import to_device
from .losses import (bernoulli_loglik, logistic_curvature, logistic_grad, logistic_loss, squared_grad,
                     squared_loss)
from .kron import KronEigh, kron_eigh, kron_eigh_solve, kron_shifted_solve, kron_solve, nearest_kronecker, unvec, vec
from .modes import kron_matvec, kron_vectors, mode_product, multi_mode
from .ordering import after, eigh_each
from .operators import ColumnScaled, Dense, Kronecker, LinearOperator
from .precision import enable_x64, precision_scope
from .prox import (firm_threshold, hard_threshold, keep_top_k, mcp_penalty, project_box, project_l1_ball,
                   project_l2_ball, prox_elastic_net, prox_l1, prox_mcp, prox_scad, scad_penalty,
                   soft_threshold, top_k_mask)
from .shapes import ladder, next_pow2
from .sharding import make_mesh, pad_axis, shard_leading_axis, sharded_batch, sharded_row_sum, sharded_vmap
from .solve import (CholeskyResult, WoodburyResult, cho_solve, chol_downdate, chol_update, cholesky, lstsq,
                    solve_triangular, spd_solve, woodbury_solve)
from .spectral import SingularTriplet, leading_singular_triplet, power_iteration, spectral_norm

__all__ = [
    "cache", "compiled_entry", "before_compiled_call", "ensure_compilation_cache",
    "shapes", "ladder", "next_pow2",
    "losses", "logistic_loss", "logistic_grad", "logistic_curvature", "bernoulli_loglik", "squared_loss",
    "squared_grad",
    "host", "kron", "modes", "native", "operators", "precision", "prox", "sharding", "solve", "spectral", "to_device",
    "ordering", "after", "eigh_each",
    "mode_product", "multi_mode", "kron_matvec", "kron_vectors",
    "Dense", "Kronecker", "ColumnScaled", "LinearOperator",
    "vec", "unvec", "nearest_kronecker", "KronEigh", "kron_eigh", "kron_eigh_solve",
    "kron_shifted_solve", "kron_solve",
    "CholeskyResult", "cholesky", "cho_solve", "solve_triangular", "spd_solve", "WoodburyResult",
    "woodbury_solve", "chol_update", "chol_downdate", "lstsq",
    "soft_threshold", "hard_threshold", "firm_threshold", "prox_l1", "prox_elastic_net", "mcp_penalty",
    "scad_penalty", "prox_mcp", "prox_scad", "keep_top_k", "top_k_mask", "project_l2_ball",
    "project_l1_ball", "project_box",
    "spectral_norm", "power_iteration", "SingularTriplet", "leading_singular_triplet",
    "make_mesh", "pad_axis", "shard_leading_axis", "sharded_vmap", "sharded_batch", "sharded_row_sum",
    "enable_x64", "precision_scope",
]
