"""App benchmark (issue 11's table): in Chromium, Run -> chart drawn and artifact link -> chart drawn; on
the server, the time of a widget change on a page that shows a result. Medians and maxima of 10.

    python bench/app.py                      # a free port
    python bench/app.py --port 8765          # or AUSTER_BENCH_PORT=8765 python bench/app.py
    python bench/app.py --pages              # also every page's server-side render (AppTest, median of 10)
    python bench/app.py --baseline main      # also the browser figures of another ref, interleaved (before/after)

Targets (issue 11, on a quiet machine): Run to chart under 1.5 s, artifact to chart under 2 s, a widget
change on a page with a result under 150 ms of server time. Runs on a fresh sqlite file in a temporary
folder and the bundled sample data; prints a table and the machine's load (``uptime``).

How each is measured:
- Run to chart: a new browser tab (a new Streamlit session, so a new guest) on the model page, ready
  (its empty chart frame drawn), then the time from pressing Run until this run's chart is drawn. Each
  run has other inputs (no cache hit).
- Artifact to chart: opening a published artifact's link until its chart is drawn, in a new tab of a
  browser that has loaded the app before ("warm") and in a fresh browser profile ("cold": the app's
  JavaScript and plotly.js are fetched and parsed again).
- Widget change, server time: the whole page's rerun in-process (AppTest) after changing a widget on a
  page with a result: the download picker under a model's result, and a lab's sidebar (the transform
  of a series) while a model's result is on the Models tab. In the browser the results panel is a
  fragment, so the picker reruns only the panel: these are upper bounds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The repository, not this folder: bench/queue.py would stand in for the standard library's queue (pyarrow imports it).
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

REPEATS = 10
THIS, BEFORE = "this checkout", "baseline"
SHOTS = ROOT / "test-output" / "bench"
TARGETS = {"run": 1.5, "artifact": 2.0, "widget": 0.150}
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
    ("yield-curve-10y-2y", "start", "19{:02d}-01-0{}", lambda i: (80 + i, 2 + i % 5)),
    ("expected-move", "confidence", "0.{:02d}{}", lambda i: (60 + i, 1 + i % 9)),
]
# Charts drawn and visible, not counting the empty frame that stands where a result's chart will be.
DRAWN = ("[...document.querySelectorAll('.js-plotly-plot')].filter(e => e.querySelector('.main-svg') && e.checkVisibility()"
         " && !(e._fullLayout && e._fullLayout.meta === 'placeholder')).length")
# The model page is ready: its empty chart frame is drawn (the charting library is loaded).
FRAME_DRAWN = "[...document.querySelectorAll('.js-plotly-plot')].filter(e => e.querySelector('.main-svg')).length"


def configure(folder: Path) -> None:
    for name in ("FRED_API_KEY", "MASSIVE_API_KEY", "POLYGON_API_KEY", "SUPABASE_URL", "SUPABASE_ANON_KEY", "REDIS_URL", "KV_URL"):
        os.environ.pop(name, None)
    os.environ["AUSTER_DB_PATH"] = str(folder / "auster.db")
    os.environ["AUSTER_DATA_MODE"] = "sample"
    # Every measured tab is a new visitor from 127.0.0.1, so a new guest: lift the per-address and per-hour guest caps.
    os.environ["AUSTER_GUESTS_PER_ADDRESS_HOUR"] = os.environ["AUSTER_GUESTS_PER_HOUR"] = "100000"


def publish_one() -> str:
    """A published artifact to open (one run of the yield-curve seed by a guest)."""
    import services

    svc = services.build()
    user = svc.auth.guest()
    outcome = svc.runs.run_model(user, "yield-curve-10y-2y", {})
    slug = svc.publishing.publish(user, outcome.run_id, title="Benchmark artifact").slug
    svc.close()
    return slug


def summary(times: list[float]) -> tuple[float, float]:
    return statistics.median(times), max(times)


def timed(action: Callable[[], None]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


# ----------------------------------------------------------------------------------------------
# Browser
# ----------------------------------------------------------------------------------------------


def bench_browser(folder: Path, artifact: str, port: int | None, baseline: Path | None = None) -> dict[str, dict[str, list[float]]]:
    """Seconds per repetition, per server: Run -> chart per model, artifact -> chart (warm and cold browser).

    With ``baseline`` (another checkout, e.g. before a change) a second server runs from it over a copy of
    the same database, and each repetition measures both servers one after the other, so the two columns
    share the machine's load."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM_ARGS, start_app, stop_app

    chromium = shutil.which("chromium")
    if chromium is None:
        print("browser part skipped: Debian's chromium is not installed (apt-get install -y chromium)")
        return {}
    servers: dict[str, tuple[str, subprocess.Popen]] = {}
    results: dict[str, dict[str, list[float]]] = {}
    try:
        servers[THIS] = start_app(folder / "auster.db", folder / "streamlit.log", port)
        if baseline is not None:
            (folder / BEFORE).mkdir()
            shutil.copy(folder / "auster.db", folder / BEFORE / "auster.db")
            servers[BEFORE] = start_app(folder / BEFORE / "auster.db", folder / BEFORE / "streamlit.log", None, root=baseline)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            contexts = {}
            for name, (base, _) in servers.items():
                contexts[name] = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = contexts[name].new_page()
                page.set_default_timeout(60_000)
                page.goto(base)  # the app's JavaScript in the browser cache, the services and model workers started
                page.get_by_role("heading", name="Model registry").wait_for()
                results[name] = {}

            def run_to_chart(name: str, slug: str, query: str) -> float:
                base, context = servers[name][0], contexts[name]
                context.clear_cookies()  # a new visitor (the session cookie would bring back the last guest and its daily quota)
                tab = context.new_page()
                tab.set_default_timeout(60_000)
                tab.goto(f"{base}/model?slug={slug}&{query}")
                tab.get_by_role("button", name="Run model").wait_for()
                tab.locator("[data-testid='stStatusWidget']").wait_for(state="detached")
                tab.wait_for_function(f"({FRAME_DRAWN}) > 0")  # the page as the analyst sees it, ready
                tab.wait_for_timeout(300)

                def run() -> None:
                    tab.get_by_role("button", name="Run model").click()
                    tab.locator("[data-testid='stExpander']").filter(has_text="Done in").first.wait_for()
                    tab.wait_for_function(f"({DRAWN}) > 0")

                try:
                    elapsed = timed(run)
                except Exception:
                    SHOTS.mkdir(parents=True, exist_ok=True)
                    tab.screenshot(path=str(SHOTS / "bench-run-failure.png"), full_page=True)
                    print(f"Run to chart failed on the {name} server ({slug}?{query}); screenshot in {SHOTS}")
                    raise
                tab.close()
                return elapsed

            def artifact_to_chart(name: str, fresh: bool) -> float:
                base = servers[name][0]
                holder = browser.new_context(viewport={"width": 1400, "height": 1000}) if fresh else contexts[name]
                tab = holder.new_page()
                tab.set_default_timeout(60_000)

                def open_artifact() -> None:
                    tab.goto(f"{base}/artifact?slug={artifact}")
                    tab.wait_for_function(f"({DRAWN}) > 0")

                elapsed = timed(open_artifact)
                tab.close()
                if fresh:
                    holder.close()
                return elapsed

            for slug, field, pattern, values in RUN_CASES:
                for i in range(REPEATS + 1):  # the first one warms this model's path and is not counted
                    for name in servers:
                        elapsed = run_to_chart(name, slug, f"{field}={pattern.format(*values(i))}")
                        if i:
                            results[name].setdefault(f"Run to chart: {slug}", []).append(elapsed)
            for label, fresh in (("warm browser", False), ("cold browser", True)):
                for _ in range(REPEATS):
                    for name in servers:
                        results[name].setdefault(f"Artifact to chart ({label})", []).append(artifact_to_chart(name, fresh))
            browser.close()
    except Exception:
        for log in sorted(folder.glob("**/streamlit.log")):
            print(f"--- end of {log.relative_to(folder)}:\n{log.read_text()[-3000:]}")
        raise
    finally:
        for _, process in servers.values():
            stop_app(process)
    return results


# ----------------------------------------------------------------------------------------------
# Server (AppTest)
# ----------------------------------------------------------------------------------------------


def bench_widgets() -> dict[str, list[float]]:
    """Seconds of the server's rerun after a widget change on a page with a result (AppTest, whole page)."""
    from streamlit.testing.v1 import AppTest

    results: dict[str, list[float]] = {}
    slug = "yield-curve-10y-2y"
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.query_params["slug"] = slug
    at.switch_page("views/model.py").run()
    at.button(key=f"{slug}.run").click().run()
    at.session_state[f"{slug}.result.downloads.open"] = True  # the picker is drawn once its expander is open
    at.run()
    options = len(at.selectbox(key=f"{slug}.result.download.pick").options)
    at.selectbox(key=f"{slug}.result.download.pick").set_value(1).run()  # the first change warms the caches
    results["Widget change, model page with a result (download picker)"] = [
        timed(lambda i=i: at.selectbox(key=f"{slug}.result.download.pick").set_value(i % options).run()) for i in range(REPEATS)
    ]
    lab = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    lab.run()
    lab.query_params.update({"series_ids": "CPIAUCSL,UNRATE", "start": "2000-01-03"})
    lab.switch_page("views/econ_lab.py").run()
    lab.selectbox(key="econ.models.model").set_value(slug).run()
    lab.button(key=f"{slug}.run").click().run()
    units = ["pc1", "lin"]
    for code in units:  # warm the two transforms' data
        lab.sidebar.selectbox(key="econ.units.CPIAUCSL").set_value(code).run()
    results["Widget change, Econ Lab with a model result (a series' transform)"] = [
        timed(lambda i=i: lab.sidebar.selectbox(key="econ.units.CPIAUCSL").set_value(units[i % 2]).run()) for i in range(REPEATS)
    ]
    if at.exception or lab.exception:
        raise RuntimeError(str((at.exception or lab.exception)[0].value))
    return results


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
        first = timed(lambda at=at, path=path: at.switch_page(path).run()) * 1000
        times = [timed(at.run) * 1000 for _ in range(REPEATS)]
        if at.exception:
            raise RuntimeError(f"{name}: {at.exception[0].value}")
        rows.append((name, statistics.median(times), first))
    svc.close()
    return rows


def load() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "uptime: not available"


def baseline_checkout(ref: str, folder: Path) -> Path:
    """The files of ``ref`` (a commit, branch or tag of this repository) in ``folder`` (``git archive``, no work tree)."""
    folder.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", ref], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def print_table(rows: dict[str, dict[str, list[float]]]) -> None:
    """The issue's table: median and maximum per measure, and the baseline's beside them when there is one."""
    compared = BEFORE in rows
    header = f"{'measure':<72}{'median':>10}{'max':>10}"
    if compared:
        header += f"{'before median':>16}{'before max':>12}{'after/before':>14}"
    print(header)
    for name, times in rows[THIS].items():
        median, worst = summary(times)
        widget = name.startswith("Widget")
        target = TARGETS["widget"] if widget else TARGETS["run"] if name.startswith("Run") else TARGETS["artifact"]
        scale, unit, digits = (1000, "ms", 0) if widget else (1, "s", 2)
        line = f"{name:<72}{median * scale:>{9 if unit == 's' else 8}.{digits}f}{unit}{worst * scale:>{9 if unit == 's' else 8}.{digits}f}{unit}"
        if compared and name in rows[BEFORE]:
            before, before_worst = summary(rows[BEFORE][name])
            line += f"{before * scale:>15.{digits}f}{unit}{before_worst * scale:>11.{digits}f}{unit}{median / before:>14.2f}"
        print(line + ("" if median < target else "  over target"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("AUSTER_BENCH_PORT") or 0) or None,
                        help="port of the app server the browser part starts (default: AUSTER_BENCH_PORT, else a free port)")
    parser.add_argument("--no-browser", action="store_true", help="only the server-side measures")
    parser.add_argument("--pages", action="store_true", help="also every page's server-side render time")
    parser.add_argument("--baseline", metavar="REF",
                        help="also measure the browser figures of this git ref (e.g. main), interleaved with this checkout's, in a second column")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="auster-bench-") as tmp:
        folder = Path(tmp)
        configure(folder)
        artifact = publish_one()
        baseline = baseline_checkout(args.baseline, folder / "baseline-checkout") if args.baseline and not args.no_browser else None
        print(f"load before: {load()}")
        rows: dict[str, dict[str, list[float]]] = {THIS: {}}
        if not args.no_browser:
            rows.update(bench_browser(folder, artifact, args.port, baseline))
        rows[THIS].update(bench_widgets())
        print(f"load after:  {load()}\n")
        print(f"Issue 11 (medians and maxima of {REPEATS}; targets: run {TARGETS['run']} s, artifact {TARGETS['artifact']} s, widget {TARGETS['widget'] * 1000:.0f} ms)")
        if baseline is not None:
            print(f"'before': {args.baseline}, measured in the same run, one repetition after the other (widget figures: this checkout only)")
        print_table(rows)
        if args.pages:
            print(f"\nServer-side render per page (AppTest, median of {REPEATS} reruns)")
            print(f"{'page':<18}{'median ms':>12}{'first ms':>12}")
            for name, median, first in bench_pages(artifact):
                print(f"{name:<18}{median:>12.1f}{first:>12.1f}")


if __name__ == "__main__":
    main()
