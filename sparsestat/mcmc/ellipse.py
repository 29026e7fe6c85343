"""Deprecated alias (kept for one release): the shrinking-bracket slice is in
:mod:`~sparsestat.mcmc.shrinking_bracket`, the t auxiliary's helpers in :mod:`~sparsestat.mcmc.t_auxiliary`,
``MCMCInfo`` in :mod:`~sparsestat.mcmc.states`. Importing this module warns."""

import warnings

from .shrinking_bracket import EllipseResult, shrink_on_ellipse
from .states import MCMCInfo
from .t_auxiliary import draw_aux_scale, gamma_draw, log_aux, scale_mul, whiten

warnings.warn("sparsestat.mcmc.ellipse is deprecated and will be removed in the next release: import from "
              "sparsestat.mcmc.shrinking_bracket, .t_auxiliary or .states", DeprecationWarning, stacklevel=2)

__all__ = ["EllipseResult", "shrink_on_ellipse", "scale_mul", "whiten", "log_aux", "draw_aux_scale", "MCMCInfo",
           "gamma_draw"]
