"""Make docs/report-bptt.png: the report of the README's bptt sweep, as headless Chromium shows it.

    python scripts/report_screenshot.py [--runs-dir runs] [--workers 2] [--out docs/report-bptt.png]

Runs `train sweep configs/sweep-bptt.toml --name report-bptt` (running it again resumes:
finished runs are kept), which writes the sweep's report/report.html, then opens that page
in Debian's Chromium through playwright and captures everything from the top of the page to
the end of the sweep's charts. Needs the dev extra (playwright) and /usr/bin/chromium.
"""
import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRAIN = str(Path(sys.executable).with_name("train")) if Path(sys.executable).with_name("train").exists() \
    else "train"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs-dir", default=str(ROOT / "runs"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "docs" / "report-bptt.png"))
    args = ap.parse_args()
    cmd = [TRAIN, "sweep", str(ROOT / "configs" / "sweep-bptt.toml"), "--name", "report-bptt",
           "--runs-dir", args.runs_dir, "--workers", str(args.workers)]
    print("$", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True)
    page_path = Path(args.runs_dir) / "report-bptt" / "report" / "report.html"
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1360, "height": 900})
        page.goto(page_path.resolve().as_uri())
        drawn = ("document.querySelectorAll('.chart').length > 0 && document.querySelectorAll('.chart')"
                 ".length === document.querySelectorAll('.chart[data-rendered]').length")
        for _ in range(600):   # polled from outside: the page's CSP refuses wait_for_function's eval
            if page.evaluate(drawn):
                break
            time.sleep(0.05)
        box = page.locator("#sweep-section").bounding_box()
        page.screenshot(path=args.out, clip={"x": 0, "y": 0, "width": 1360, "height": box["y"] + box["height"]},
                        full_page=True)
        browser.close()
    print(args.out)


if __name__ == "__main__":
    main()
