"""pytest plugin: run scikit-learn's installed ``linear_model/tests/test_coordinate_descent.py`` with
its ``Lasso``, ``ElasticNet``, ``LassoCV`` and ``ElasticNetCV`` rebound to sparsestat's (test bodies
untouched; scikit-learn's own conftest supplies ``global_random_seed``). Used by
``test_sklearn_cd_suite.py`` in a subprocess: ``python -m pytest <that file> -p tests.regression.sklearn_cd_plugin``."""

import sparsestat.regression as ss

REBOUND = ("Lasso", "ElasticNet", "LassoCV", "ElasticNetCV")


def pytest_collection_modifyitems(session, config, items):
    done = set()
    for item in items:
        mod = getattr(item, "module", None)
        if mod is None or id(mod) in done:
            continue
        done.add(id(mod))
        for name in REBOUND:
            if hasattr(mod, name):
                setattr(mod, name, getattr(ss, name))
