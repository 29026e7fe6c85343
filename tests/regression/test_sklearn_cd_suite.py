"""scikit-learn's own coordinate-descent tests against sparsestat (issue 22): the installed
``sklearn/linear_model/tests/test_coordinate_descent.py`` (read at test time, not copied), its
``Lasso``, ``ElasticNet``, ``LassoCV`` and ``ElasticNetCV`` rebound to sparsestat's by
``sklearn_cd_plugin.py``, test bodies untouched. The failures that remain must be exactly the
deliberate differences listed here (each with its reason; also in docs/modules/regression.md)."""

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

DELIBERATE = {
    "test_enet_copy_X_False_check_input_False": "expects X centred in place with copy_X=False; sparsestat never "
                                                "modifies the caller's X (it is copied to the device)",
    "test_lassoCV_does_not_set_precompute[True-True]": "monkeypatches scikit-learn's internal module",
    "test_lassoCV_does_not_set_precompute[auto-False]": "monkeypatches scikit-learn's internal module",
    "test_lassoCV_does_not_set_precompute[False-False]": "monkeypatches scikit-learn's internal module",
    "test_lasso_dual_gap": "compares two rounding-level gaps (~1e-15) at rtol 1e-7",
    "test_1d_multioutput_lasso_and_multitask_lasso_cv": "compares to MultiTaskLassoCV at its tol 1e-4 to 7 "
                                                        "decimals: sparsestat's coef_ is 5e-9 from the optimum, "
                                                        "MultiTaskLassoCV's 1.2e-4",
    "test_1d_multioutput_enet_and_multitask_enet_cv": "same, against MultiTaskElasticNetCV",
    "test_elasticnet_precompute_gram_weighted_samples": "two fits of one problem (X and its centred copy) "
                                                        "agree to the gap tolerance, not to rtol 1e-7 in coef_",
}


@pytest.mark.slow
def test_sklearn_coordinate_descent_suite(tmp_path):
    import sklearn

    suite = Path(sklearn.__file__).parent / "linear_model" / "tests" / "test_coordinate_descent.py"
    if not suite.exists():
        pytest.skip("this scikit-learn installation ships without its tests")
    junit = tmp_path / "junit.xml"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-m", "pytest", str(suite), "-p", "tests.regression.sklearn_cd_plugin",
                           "-q", "-o", "addopts=", "-p", "no:cacheprovider", "-n", "2", f"--junitxml={junit}"],
                          capture_output=True, text=True, cwd=str(ROOT), env=env, timeout=1800)
    assert junit.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    failed, passed = set(), 0
    for case in ET.parse(junit).getroot().iter("testcase"):
        if any(c.tag in ("failure", "error") for c in case):
            failed.add(case.get("name"))
        elif not any(c.tag == "skipped" for c in case):
            passed += 1
    unexpected = failed - set(DELIBERATE)
    assert not unexpected, f"new failures of scikit-learn's tests: {sorted(unexpected)}\n{proc.stdout[-3000:]}"
    assert passed > 250, proc.stdout[-3000:]
    assert len(failed) <= len(DELIBERATE)
