"""Rate slopes of the public-X pre-threshold noise (spec §6.1.5), on streamed users at d = 50."""

import numpy as np
import pytest

from sparsestat.experiments import privacy as exp


@pytest.mark.slow
def test_public_x_noise_slopes():
    grid = [10_000, 30_000, 100_000, 300_000, 1_000_000]
    eps_list = [0.5, 1.0, 2.0, 4.0]
    rows = []
    for seed in (0, 1, 2):
        coef, snaps = exp._stream_pass(50, grid, seed, 10_000, 1_000_000)
        from sparsestat.datasets.ldp import ldp_public_bounds
        from sparsestat.privacy import calibration as calib

        b = ldp_public_bounds(50)
        for n in grid:
            s = snaps[n]
            u_clean = np.linalg.solve(s["pub"], s["xy"] / n)
            for eps in eps_list:
                g = calib.nldp_calibration(50, epsilon=eps, delta=1e-5, x_clip=b.x_clip, y_clip=b.y_clip,
                                           public_covariance=True)
                lap = calib.nldp_calibration(50, epsilon=eps, delta=0.0, x_clip=b.x_clip, y_clip=b.y_clip,
                                             public_covariance=True, mechanism="laplace")
                for name, cal, z in (("g", g, s["zg"]), ("l", lap, s["zl"])):
                    u = np.linalg.solve(s["pub"], (s["xy"] + cal.scale_xy * z) / n)
                    rows.append((name, seed, n, eps, np.max(np.abs(u - u_clean))))

    def med(name, n, eps):
        return np.median([r[4] for r in rows if r[0] == name and r[2] == n and r[3] == eps])

    for eps in eps_list:
        slope = np.polyfit(np.log(grid), np.log([med("g", n, eps) for n in grid]), 1)[0]
        assert -0.60 <= slope <= -0.43, (eps, slope)
    slope_g = np.polyfit(np.log(eps_list), np.log([med("g", 1_000_000, e) for e in eps_list]), 1)[0]
    slope_l = np.polyfit(np.log(eps_list), np.log([med("l", 1_000_000, e) for e in eps_list]), 1)[0]
    assert -1.15 <= slope_g <= -0.80, slope_g
    assert -1.2 <= slope_l <= -0.85, slope_l
