"""pytest's set-up for the whole repository, wherever pytest is started from:

- the notebooks' outputs are compared by tests/nbval_numbers.py's rule (words exactly, printed readings within
  each cell's tolerance); pytester runs pytest on the small notebooks of tests/test_nbval_numbers.py;
- `make test`'s two pytest-xdist workers split the suite in two halves (below).
"""

pytest_plugins = ["tests.nbval_numbers", "pytester"]


# The tests that run whole notebooks again outside nbval: in JupyterLab (the browser test), and without CI
# (the full-run test). They share one worker.
WHOLE_NOTEBOOK_RUNS = ("test_browser.py", "test_full_run.py")


class TwoHalves:
    """The browser and full-run tests, which run notebooks again, on one worker; the notebooks under nbval (each
    one's cells in order, in one kernel) and the unit tests on the other. The two take about as long (with five
    notebooks, in a fresh clone: the full-run tests on the nbval worker made it the slower by about 3 minutes).
    (xdist's --dist loadgroup would say the same with marks, but it cannot rename test ids under pytest 9.2,
    so its groups come apart.)"""

    @staticmethod
    def pytest_xdist_make_scheduler(config, log):
        from xdist.scheduler import LoadScopeScheduling

        class Scheduling(LoadScopeScheduling):
            def _split_scope(self, nodeid: str) -> str:
                whole = nodeid.split("::")[0].endswith(WHOLE_NOTEBOOK_RUNS)
                return "browser-and-full-runs" if whole else "notebooks-and-unit-tests"

        return Scheduling(config, log)


def pytest_configure(config):
    if config.pluginmanager.hasplugin("xdist"):  # its hook exists only then
        config.pluginmanager.register(TwoHalves(), "two-halves")
