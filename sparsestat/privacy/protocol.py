"""Deprecated alias (kept for one release): the protocol now lives in one module per stage.

- :mod:`~sparsestat.privacy.calibration` -- epsilon, delta -> noise scales (``nldp_calibration``,
  ``iht_sigma``, ``check_clip``);
- :mod:`~sparsestat.privacy.release` -- what each user sends (``release_nldp``, ``release_iht``,
  ``user_keys``);
- :mod:`~sparsestat.privacy.aggregation` -- the server's sums (``aggregate``, ``stream_nldp``,
  ``stream_iht_round``, ``simulate_aggregate``);
- :mod:`~sparsestat.privacy.estimation` -- the server's estimate (``server_estimate``,
  ``default_threshold``, ``iht_step``);
- :func:`sparsestat.privacy.nldp` and :func:`sparsestat.privacy.ldp_iht` -- the two estimators' cores
  (``iht_groups`` is in :mod:`~sparsestat.privacy.ldp_iht`).

Importing this module warns with a ``DeprecationWarning``; import from the modules above instead.
"""

import warnings

from .aggregation import NLDPSums, aggregate, simulate_aggregate, stream_iht_round, stream_nldp
from .calibration import NLDPCalibration, check_clip, iht_sigma, nldp_calibration
from .estimation import (STABILIZERS, THRESHOLDS, ServerEstimate, default_threshold, iht_step, server_estimate,
                         triu_to_symmetric)
from .ldp_iht import iht_groups
from .release import NLDPMessage, release_iht, release_nldp, user_keys

warnings.warn("sparsestat.privacy.protocol is deprecated and will be removed in the next release: import "
              "from sparsestat.privacy.calibration, .release, .aggregation, .estimation or use "
              "sparsestat.privacy.nldp / ldp_iht", DeprecationWarning, stacklevel=2)

__all__ = [
    "NLDPCalibration",
    "NLDPMessage",
    "NLDPSums",
    "ServerEstimate",
    "nldp_calibration",
    "user_keys",
    "release_nldp",
    "aggregate",
    "stream_nldp",
    "triu_to_symmetric",
    "default_threshold",
    "server_estimate",
    "iht_groups",
    "iht_sigma",
    "release_iht",
    "iht_step",
    "simulate_aggregate",
    "check_clip",
    "stream_iht_round",
    "THRESHOLDS",
    "STABILIZERS",
]
