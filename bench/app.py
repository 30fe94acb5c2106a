"""App benchmark: server-side render time of every page (AppTest, median of 10) and, in a real browser,
the time from pressing Run to the chart being drawn for the yield-curve and expected-move seeds.

    python bench/app.py              # both parts (the browser part needs Debian's chromium)
    python bench/app.py --no-browser

Targets (issue 5): every page under 500 ms server-side; run-to-chart under 1.5 s on sample data.
Runs on a fresh sqlite file in a temporary folder and the bundled sample data; prints a table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REPEATS = 10
PAGES = [
    ("registry", "views/registry.py", {}),
    ("model", "views/model.py", {"slug": "yield-curve-10y-2y"}),
    ("artifact", "views/artifact.py", {"slug": "<published>"}),
    ("artifacts", "views/artifacts.py", {}),
    ("econ-lab", "views/econ_lab.py", {}),
    ("derivatives-lab", "views/derivatives_lab.py", {}),
    ("workspace", "views/workspace.py", {}),
    ("account", "views/account.py", {}),
]
RUN_CASES = [
    ("yield-curve-10y-2y", "start", ["1996-01-0{}", "1997-02-0{}"]),
    ("expected-move", "confidence", ["0.6{}", "0.7{}"]),
]


def configure(folder: Path) -> None:
    for name in ("FRED_API_KEY", "MASSIVE_API_KEY", "POLYGON_API_KEY", "SUPABASE_URL", "SUPABASE_ANON_KEY", "REDIS_URL", "KV_URL"):
        os.environ.pop(name, None)
    os.environ["AUSTER_DB_PATH"] = str(folder / "auster.db")
    os.environ["AUSTER_DATA_MODE"] = "sample"


def publish_one() -> str:
    """A published artifact to render (one run of the yield-curve seed by a guest)."""
    import services

    svc = services.build()
    user = svc.auth.guest()
    outcome = svc.runs.run_model(user, "yield-curve-10y-2y", {})
    slug = svc.publishing.publish(user, outcome.run_id, title="Benchmark artifact").slug
    svc.close()
    return slug


def bench_pages(artifact_slug: str) -> list[tuple[str, float, float]]:
    """``(page, median ms, first ms)`` per page; the user is a guest with one run."""
    from streamlit.testing.v1 import AppTest

    import services

    svc = services.build()
    user = svc.auth.guest()
    svc.runs.run_model(user, "yield-curve-10y-2y", {})
    rows = []
    for name, path, query in PAGES:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.session_state["auster.user"] = user
        at.run()
        at.query_params.update({k: artifact_slug if v == "<published>" else v for k, v in query.items()})
        started = time.perf_counter()
        at.switch_page(path).run()
        first = (time.perf_counter() - started) * 1000
        times = []
        for _ in range(REPEATS):
            started = time.perf_counter()
            at.run()
            times.append((time.perf_counter() - started) * 1000)
        if at.exception:
            raise RuntimeError(f"{name}: {at.exception[0].value}")
        rows.append((name, statistics.median(times), first))
    svc.close()
    return rows


def bench_browser(folder: Path, repeats: int = 5) -> list[tuple[str, float, float, float]]:
    """``(slug, first s, median s, max s)`` from pressing Run to the chart drawn, in Chromium."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM_ARGS, start_app, stop_app
    from tests.e2e.test_journey import VISIBLE_CHARTS

    chromium = shutil.which("chromium")
    if chromium is None:
        print("browser part skipped: Debian's chromium is not installed (apt-get install -y chromium)")
        return []
    base, process = start_app(folder / "browser.db", folder / "streamlit.log")
    rows = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(base)  # register the pages (a first visit straight to /model shows "Page not found")
            page.get_by_role("heading", name="Model registry").wait_for()
            for slug, field, patterns in RUN_CASES:
                times = []
                for i in range(repeats + 1):
                    value = patterns[i % len(patterns)].format(i % 10)
                    page.goto(f"{base}/model?slug={slug}&{field}={value}")  # a new session: a new guest, fresh limits
                    page.get_by_role("button", name="Run model").wait_for()
                    page.wait_for_timeout(300)
                    started = time.perf_counter()
                    page.get_by_role("button", name="Run model").click()
                    page.locator("[data-testid='stExpander']").filter(has_text="Done in").first.wait_for(timeout=60_000)
                    page.wait_for_function(f"({VISIBLE_CHARTS}) > 0", timeout=60_000)
                    times.append(time.perf_counter() - started)
                rows.append((slug, times[0], statistics.median(times[1:]), max(times[1:])))
            browser.close()
    finally:
        stop_app(process)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-browser", action="store_true", help="only the server-side page renders")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="auster-bench-") as tmp:
        folder = Path(tmp)
        configure(folder)
        slug = publish_one()
        print(f"Server-side render per page (AppTest, median of {REPEATS} reruns; target < 500 ms)")
        print(f"{'page':<18}{'median ms':>12}{'first ms':>12}")
        for name, median, first in bench_pages(slug):
            flag = "" if median < 500 else "  over target"
            print(f"{name:<18}{median:>12.1f}{first:>12.1f}{flag}")
        if not args.no_browser:
            print("\nBrowser: press Run -> chart drawn (Chromium; first run, then median and max of 5; target < 1.5 s)")
            print(f"{'model':<22}{'first s':>10}{'median s':>10}{'max s':>10}")
            for name, first, median, worst in bench_browser(folder):
                flag = "" if median < 1.5 else "  over target"
                print(f"{name:<22}{first:>10.2f}{median:>10.2f}{worst:>10.2f}{flag}")


if __name__ == "__main__":
    main()
