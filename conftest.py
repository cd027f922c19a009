"""pytest's set-up for the whole repository, wherever pytest is started from:

- the notebooks' outputs are compared by tests/nbval_numbers.py's rule (words exactly, printed readings within
  each cell's tolerance); pytester runs pytest on the small notebooks of tests/test_nbval_numbers.py;
- `make test`'s two pytest-xdist workers split the suite in two halves (below).
"""

pytest_plugins = ["tests.nbval_numbers", "pytester"]


# Measured with `make test PYTEST_ARGS="--durations=0 -v"` (six notebooks; the browser test runs each one down to its
# last slider; every package compiled to bytecode at install), summed per worker: the browser test with the four full
# runs (on a stand-in of 1,000 digits) 356 s on one, nbval with the unit and the other full-run tests 353 s.
BROWSER_WORKER = (
    "tests/test_browser.py::",
    "tests/test_full_run.py::test_full_run_executes_on_a_stand_in_for_the_training_split",
)


class TwoHalves:
    """The browser test, which runs every notebook again in JupyterLab (down to its last slider), with the full runs
    on one worker; the notebooks under nbval (each one's cells in order, in one kernel) and the unit tests on the
    other. The two take about as long (``BROWSER_WORKER``). (xdist's --dist loadgroup would
    say the same with marks, but it cannot rename test ids under pytest 9.2, so its groups come apart.)"""

    @staticmethod
    def pytest_xdist_make_scheduler(config, log):
        from xdist.scheduler import LoadScopeScheduling

        class Scheduling(LoadScopeScheduling):
            def _split_scope(self, nodeid: str) -> str:
                return "browser" if nodeid.startswith(BROWSER_WORKER) else "notebooks-and-unit-tests"

        return Scheduling(config, log)


def pytest_configure(config):
    if config.pluginmanager.hasplugin("xdist"):  # its hook exists only then
        config.pluginmanager.register(TwoHalves(), "two-halves")
