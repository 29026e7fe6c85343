"""Sparse linear regression under local differential privacy (LDP).

Each user holds one pair (x_i, y_i), randomises it on their device and sends the result; the server
never sees raw data. Non-interactive estimator of Zhu, Ding, Aggarwal, Xu & Wang (ICLR 2024), its
public-unlabelled-X variant, and the sequentially interactive LDP-IHT (Wang & Xu 2019) with the
rectified sensitivity.

**LDP is very expensive.** At d = 50 the private-covariance estimator needs 1e8-5e9 users before its
covariance is usable (4e9-2e11 at d = 200); at n <= 1e6, d >= 50 no LDP estimator clearly beats
returning zero. :func:`required_users` gives the number up front; ``fit`` warns below it.

The algorithms by their papers' names: :func:`nldp` (Zhu et al. 2024) and :func:`ldp_iht` (Wang & Xu
2019), pure functions with explicit keys; :class:`LDPSparseRegression` and
:class:`InteractiveLDPSparseRegression` are the scikit-learn shells over them.

The protocol, one module per stage: :mod:`.calibration` (epsilon, delta -> noise scales; the
mechanisms and sensitivities themselves in :mod:`.mechanisms`), :mod:`.release` (what each user sends),
:mod:`.aggregation` (the server's sums, streamed and sharded), :mod:`.estimation` (the server's
estimate and the LDP-IHT step); :mod:`.planning` (:func:`required_users`). ``protocol`` is a deprecated
alias of the stage modules, kept for one release.
"""

from ..exceptions import PrivacyWarning
from . import aggregation, calibration, estimation, mechanisms, release
from .calibration import NLDPCalibration, iht_unit_sigma, nldp_calibration
from .estimation import default_threshold
from .estimators import InteractiveLDPSparseRegression, LDPSparseRegression, PrivacyRecord
from .ldp_iht import LDPIHTResult, ldp_iht
from .mechanisms import gaussian_delta, gaussian_sigma, laplace_scale
from .nldp import NLDPResult, nldp
from .planning import required_users

__all__ = [
    "LDPSparseRegression",
    "InteractiveLDPSparseRegression",
    "PrivacyRecord",
    "PrivacyWarning",
    "nldp",
    "NLDPResult",
    "ldp_iht",
    "LDPIHTResult",
    "nldp_calibration",
    "NLDPCalibration",
    "iht_unit_sigma",
    "required_users",
    "default_threshold",
    "gaussian_sigma",
    "gaussian_delta",
    "laplace_scale",
    "mechanisms",
    "calibration",
    "release",
    "aggregation",
    "estimation",
]


def __getattr__(name):
    # ``sparsestat.privacy.protocol``: the deprecated alias is imported (and warns) only when asked for
    if name == "protocol":
        import importlib

        return importlib.import_module(".protocol", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
