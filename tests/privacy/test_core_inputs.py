"""privacy.nldp and privacy.ldp_iht refuse bad input with named errors before compiling."""

import jax
import numpy as np
import pytest

from sparsestat.privacy import ldp_iht, nldp, nldp_calibration

X = np.random.default_rng(0).standard_normal((20, 3))
Y = X[:, 0]
IHT = dict(unit_sigma=1.0, x_clip=1.0, y_clip=1.0, n_nonzero_coefs=1)


@pytest.mark.parametrize("kw, match", [
    (dict(unit_sigma=0.0), "unit_sigma must be"),
    (dict(unit_sigma=float("nan")), "unit_sigma must be"),
    (dict(n_nonzero_coefs=0), "n_nonzero_coefs must be"),
    (dict(x=X[:, 0]), "x must be"),
    (dict(y=Y[:5]), "x must be"),
    (dict(y=np.full(20, np.inf)), "must be finite"),
])
def test_ldp_iht_bad_input(kw, match):
    args = dict(x=X, y=Y) | IHT | kw
    with pytest.raises(ValueError, match=match):
        ldp_iht(jax.random.key(0), args.pop("x"), args.pop("y"), **args)


def test_nldp_bad_input():
    with pytest.raises(TypeError, match="calibration must be an NLDPCalibration"):
        nldp(jax.random.key(0), X, Y, None, x_clip=1.0, y_clip=1.0)
    cal = nldp_calibration(3, epsilon=4.0, delta=1e-6, x_clip_l2=2.0, x_clip=1.0, y_clip=1.0)
    with pytest.raises(ValueError, match="x must be"):
        nldp(jax.random.key(0), X, Y[:5], cal, x_clip_l2=2.0, x_clip=1.0, y_clip=1.0)
    with pytest.raises(ValueError, match="must be finite"):
        nldp(jax.random.key(0), np.full((20, 3), np.nan), Y, cal, x_clip_l2=2.0, x_clip=1.0, y_clip=1.0)
