"""Calibration values (spec §5.2, 1e-4 relative), the classic refusal, delta(sigma) bracketing, Laplace
scales, default lambda and the required_users planner."""

import math

import numpy as np
import pytest

from sparsestat.privacy import mechanisms as mech
from sparsestat.privacy import calibration as calib
from sparsestat.privacy import estimation as estim
from sparsestat.privacy import required_users

DELTA = 1e-5
EPS4 = [0.5, 1.0, 2.0, 4.0]


def bounds(d):
    return dict(x_clip_l2=math.sqrt(d) + 2.5, x_clip=3.0, y_clip=3.0 * math.sqrt(1.25))


@pytest.mark.parametrize("eps,sigma", [(0.25, 13.285525), (0.5, 7.031827), (1, 3.730632), (2, 1.993812),
                                       (4, 1.081162), (8, 0.600229)])
def test_analytic_sigma_values(eps, sigma):
    assert mech.gaussian_sigma(1.0, eps, DELTA) == pytest.approx(sigma, rel=1e-6)


def test_analytic_sigma_scales_with_sensitivity():
    assert mech.gaussian_sigma(7.5, 1.0, DELTA) == pytest.approx(7.5 * 3.730632, rel=1e-6)


@pytest.mark.parametrize("eps,sigma", [(0.25, 19.379221), (0.5, 9.689611)])
def test_classic_values_and_closed_form(eps, sigma):
    s = mech.gaussian_sigma(1.0, eps, DELTA, calibration="classic")
    assert s == pytest.approx(sigma, rel=1e-6)
    for e, dl, sens in [(0.1, 1e-8, 2.0), (0.9, 1e-3, 0.5)]:
        assert mech.gaussian_sigma(sens, e, dl, "classic") == pytest.approx(
            sens * math.sqrt(2 * math.log(1.25 / dl)) / e, rel=1e-12)


@pytest.mark.parametrize("eps", [1.0, 2.0, 10.0])
def test_classic_refused_from_one(eps):
    with pytest.raises(ValueError, match="analytic"):
        mech.gaussian_sigma(1.0, eps, DELTA, calibration="classic")


def test_classic_refused_per_release_in_nldp():
    # private covariance: per-release epsilon = epsilon/2, so epsilon = 1.5 is allowed, 2 is refused
    cal = calib.nldp_calibration(50, epsilon=1.5, delta=DELTA, calibration="classic", **bounds(50))
    r = math.sqrt(50) + 2.5
    assert cal.sd_cov ** 2 == pytest.approx(32 * r ** 4 * math.log(2.5 / DELTA) / 1.5 ** 2, rel=1e-12)
    with pytest.raises(ValueError, match="per-release epsilon"):
        calib.nldp_calibration(50, epsilon=2.0, delta=DELTA, calibration="classic", **bounds(50))
    with pytest.raises(ValueError, match="per-release epsilon"):
        calib.nldp_calibration(50, epsilon=1.0, delta=DELTA, calibration="classic", public_covariance=True,
                               x_clip=3.0, y_clip=3.0)


def test_delta_of_slightly_smaller_sigma():
    s = mech.gaussian_sigma(1.0, 0.5, DELTA)
    assert mech.gaussian_delta(0.99 * s, 0.5) == pytest.approx(1.162e-5, rel=1e-3)
    s = mech.gaussian_sigma(1.0, 4.0, DELTA)
    assert mech.gaussian_delta(0.99 * s, 4.0) == pytest.approx(1.236e-5, rel=1e-3)


@pytest.mark.parametrize("eps", np.geomspace(0.1, 10, 7))
@pytest.mark.parametrize("delta", [1e-10, 1e-6, 1e-2])
def test_sigma_is_smallest(eps, delta):
    s = mech.gaussian_sigma(2.0, eps, delta)
    assert mech.gaussian_delta(s, eps, 2.0) <= delta
    assert mech.gaussian_delta(0.99 * s, eps, 2.0) > delta


def test_analytic_below_classic():
    for eps in [0.25, 0.5, 0.9]:
        ratio = mech.gaussian_sigma(1, eps, DELTA) / mech.gaussian_sigma(1, eps, DELTA, "classic")
        assert 0.68 < ratio < 0.9  # spec: 11-31% below classic


TABLE_50 = {
    "sigma1": [2555.42, 1346.81, 711.62, 378.73],
    "sigma2": [1984.83, 1046.09, 552.72, 294.17],
    "pub_sigma2": [1000.65, 530.88, 283.72, 153.85],
    "pub_lap_sd": [2846.0, 1423.0, 711.5, 355.8],
    "lam_pub": [3.0368, 1.6112, 0.8611, 0.4670],
    "lam_priv": [9.8199, 5.1755, 2.7346, 1.4554],
}
TABLE_200 = {
    "sigma1": [7726.09, 4071.96, 2151.51, 1145.07],
    "sigma2": [3969.67, 2092.17, 1105.45, 588.34],
    "pub_sigma2": [2001.29, 1061.76, 567.45, 307.70],
    "pub_lap_sd": [11384.2, 5692.1, 2846.0, 1423.0],
    "lam_pub": [6.9278, 3.6754, 1.9643, 1.0652],
}


@pytest.mark.parametrize("d,table", [(50, TABLE_50), (200, TABLE_200)])
def test_spec_table(d, table):
    b = bounds(d)
    for i, eps in enumerate(EPS4):
        priv = calib.nldp_calibration(d, epsilon=eps, delta=DELTA, **b)
        pub = calib.nldp_calibration(d, epsilon=eps, delta=DELTA, public_covariance=True, x_clip=3.0,
                                     y_clip=b["y_clip"])
        lap = calib.nldp_calibration(d, epsilon=eps, delta=0.0, public_covariance=True, x_clip=3.0,
                                     y_clip=b["y_clip"], mechanism="laplace")
        assert priv.sd_cov == pytest.approx(table["sigma1"][i], rel=1e-4)
        assert priv.sd_xy == pytest.approx(table["sigma2"][i], rel=1e-4)
        assert pub.sd_xy == pytest.approx(table["pub_sigma2"][i], rel=1e-4)
        # LDP-IHT sigma at theta = 0 equals the public-X sigma2
        assert calib.iht_sigma(d, 0.0, epsilon=eps, delta=DELTA, x_clip=3.0, y_clip=b["y_clip"]) == \
            pytest.approx(table["pub_sigma2"][i], rel=1e-4)
        # the spec prints these to one decimal (355.8 for 355.756): exact closed form, printed value to 0.05
        assert lap.sd_xy == pytest.approx(math.sqrt(2) * 2 * d * 3.0 * b["y_clip"] / eps, rel=1e-12)
        assert lap.sd_xy == pytest.approx(table["pub_lap_sd"][i], abs=0.05)
        lam = estim.default_threshold(1e6, d, (None, pub.sd_xy), b["y_clip"])
        assert lam == pytest.approx(table["lam_pub"][i], rel=1e-4)
        if "lam_priv" in table:
            lam = estim.default_threshold(1e6, d, (priv.sd_cov, priv.sd_xy), b["y_clip"])
            assert lam == pytest.approx(table["lam_priv"][i], rel=1e-4)


def test_laplace_private_covariance_scales():
    cal = calib.nldp_calibration(50, epsilon=1.0, delta=0.0, mechanism="laplace", **bounds(50))
    assert cal.scale_cov == pytest.approx(9343.7, rel=1e-4)
    assert cal.scale_xy == pytest.approx(2012.5, rel=1e-4)
    assert cal.calibration is None


REQ_50 = {
    "pub": [4.6112e7, 1.2979e7, 3.7077e6, 1.0906e6],
    "n_thr": [4.8215e8, 1.3393e8, 3.7390e7, 1.0591e7],
    "n_inv": [5.2241e9, 1.4511e9, 4.0512e8, 1.1475e8],
    "iht": [1.245e9, 3.504e8, 1.001e8, 2.943e7],
}
REQ_200 = {"pub": [2.3997e8, 6.7544e7, 1.9293e7, 5.6735e6], "n_inv": [1.9102e11, 5.3059e10, 1.4813e10, 4.1958e9]}


def test_required_users_values():
    smin = 1 / math.sqrt(5)
    for i, eps in enumerate(EPS4):
        b = bounds(50)
        assert required_users(50, 5, eps, DELTA, smin, public_X=True, **b) == pytest.approx(REQ_50["pub"][i],
                                                                                           rel=1e-4)
        n, det = required_users(50, 5, eps, DELTA, smin, return_details=True, **b)
        assert det["n_thr"] == pytest.approx(REQ_50["n_thr"][i], rel=1e-4)
        assert det["n_inv"] == pytest.approx(REQ_50["n_inv"][i], rel=1e-4)
        assert n == math.ceil(det["n_inv"])
        assert required_users(50, 5, eps, DELTA, smin, interactive=True, **b) == pytest.approx(
            REQ_50["iht"][i], rel=1e-3)
        b = bounds(200)
        assert required_users(200, 5, eps, DELTA, smin, public_X=True, **b) == pytest.approx(
            REQ_200["pub"][i], rel=1e-4)
        assert required_users(200, 5, eps, DELTA, smin, **b) == pytest.approx(REQ_200["n_inv"][i], rel=1e-4)


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), -float("inf"), True])
def test_bad_epsilon(bad):
    exc = TypeError if isinstance(bad, bool) else ValueError
    with pytest.raises(exc, match="epsilon"):
        mech.gaussian_sigma(1.0, bad, DELTA)


def test_bad_epsilon_string():
    with pytest.raises(TypeError, match="epsilon"):
        mech.gaussian_sigma(1.0, "1", DELTA)


@pytest.mark.parametrize("bad", [0.0, 1.0, -1e-5, 2.0, float("nan")])
def test_bad_delta_gaussian(bad):
    with pytest.raises(ValueError, match="delta"):
        mech.gaussian_sigma(1.0, 1.0, bad)


def test_bad_delta_laplace_and_others():
    with pytest.raises(ValueError, match="delta"):
        calib.nldp_calibration(5, epsilon=1.0, delta=1e-5, mechanism="laplace", x_clip_l2=1, x_clip=1, y_clip=1)
    with pytest.raises(ValueError, match="sensitivity"):
        mech.gaussian_sigma(0.0, 1.0, DELTA)
    with pytest.raises(ValueError, match="sensitivity"):
        mech.laplace_scale(float("inf"), 1.0)
    with pytest.raises(ValueError, match="calibration"):
        mech.gaussian_sigma(1.0, 1.0, DELTA, calibration="rdp")
    with pytest.raises(ValueError, match="mechanism"):
        calib.nldp_calibration(5, epsilon=1.0, delta=DELTA, mechanism="exponential", x_clip_l2=1, x_clip=1,
                               y_clip=1)


@pytest.mark.parametrize("name", ["x_clip", "y_clip", "x_clip_l2"])
@pytest.mark.parametrize("bad", [None, "auto", "data", 0.0, -1.0, float("inf")])
def test_clip_bounds_must_be_public_positive(name, bad):
    kw = dict(x_clip_l2=1.0, x_clip=1.0, y_clip=1.0)
    kw[name] = bad
    with pytest.raises(ValueError, match=name):
        calib.nldp_calibration(5, epsilon=1.0, delta=DELTA, **kw)


def test_required_users_validation():
    with pytest.raises(ValueError, match="k must"):
        required_users(10, 11, 1.0, DELTA, 0.5, x_clip=1, y_clip=1, public_X=True)
    with pytest.raises(ValueError, match="signal_min"):
        required_users(10, 2, 1.0, DELTA, 0.0, x_clip=1, y_clip=1, public_X=True)
    with pytest.raises(ValueError, match="x_clip_l2"):
        required_users(10, 2, 1.0, DELTA, 0.5, x_clip=1, y_clip=1)


def test_noise_ratios_between_dimensions_are_exact():
    for eps in EPS4:
        g = [calib.nldp_calibration(d, epsilon=eps, delta=DELTA, public_covariance=True, x_clip=3.0, y_clip=3.354)
             for d in (50, 200)]
        lap = [calib.nldp_calibration(d, epsilon=eps, delta=0.0, public_covariance=True, x_clip=3.0, y_clip=3.354,
                                      mechanism="laplace") for d in (50, 200)]
        pr = [calib.nldp_calibration(d, epsilon=eps, delta=DELTA, **bounds(d)) for d in (50, 200)]
        assert g[1].sd_xy / g[0].sd_xy == pytest.approx(2.0, rel=1e-9)
        assert lap[1].sd_xy / lap[0].sd_xy == pytest.approx(4.0, rel=1e-12)
        assert pr[1].sd_cov / pr[0].sd_cov == pytest.approx(3.02, abs=0.005)
