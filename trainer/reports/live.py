"""A sweep's own report, rewritten as its runs land so a person can watch it fill.

Rewrites are throttled: one waits until ten times the last rewrite's duration has passed
(a 200-run sweep's report takes about a second to write, its runs take longer), and the
last one is always written. Runs already read are kept, so a rewrite reads only what
changed. A report that cannot be written never stops the sweep: the error is kept in
`error` for the caller to show.
"""
import time
from pathlib import Path

REPORT_DIR = "report"


class LiveReport:
    """SWEEP_DIR/report/report.html, kept up to date while the sweep runs."""

    def __init__(self, sweep_dir):
        from trainer.reports.page import Report
        self.report = Report([Path(sweep_dir)], Path(sweep_dir) / REPORT_DIR)
        self.next_at, self.error = 0.0, None

    @property
    def page(self):
        """The path of report.html."""
        from trainer.reports.page import PAGE
        return self.report.out / PAGE

    def update(self, final=False):
        now = time.perf_counter()
        if not final and now < self.next_at:
            return
        try:
            self.report.write(live=not final)
            self.error = None
        except Exception as e:  # noqa: BLE001 - the sweep's runs matter more than its page
            self.error = f"{type(e).__name__}: {e}"
        took = time.perf_counter() - now
        self.next_at = time.perf_counter() + 10 * took
