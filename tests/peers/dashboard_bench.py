#!/usr/bin/env python3
"""What the dashboard costs a running line: `linevisor run` on 100 simulated drives at a 10 ms
cycle (four simulated Modbus segments, the line of the isolation benchmark), watched by headless
Chromium from Debian over WebDriver (Selenium).

Phases, each --seconds long (default 30), side by side, in this order:
  no_tabs           nobody watching;
  five_streams      what five dashboards ask of the server without a browser on this machine
                    (five live streams read in full, each page's GETs once): the server's own
                    cost, apart from the browsers' rendering competing for the same two cores;
  five_tabs         one browser, five tabs: the overview and four drive pages (live charts);
                    the tabs share one live stream (docs/dashboard.md);
  no_tabs_again     nobody watching again (the machine is shared: its load drifts);
  five_browsers     five separate browsers on the overview: five independent live streams,
                    as five HMI panels would open them.
Each browser phase is followed by the same with the browsers reniced to 19 (`_niced`): the
browsers render on the same two cores as the line, and their bursts of CPU can delay the
process as a whole; at the lowest priority they cannot, while the server's work is unchanged.
Per phase: linevisor's CPU and the browsers' (user + system, % of one core, from /proc) and the
drives' missed cycles (GET /api/v1/line, summed, read outside the CPU window).
Then first paint: a fresh browser at 1366x768 loads the overview, 5 times: first contentful
paint, and the time until every drive's row is drawn (a MutationObserver installed before the
page loads).

Prints one JSON line per figure: {"bench":"dashboard","metric":...,"value":...,"unit":...}.
Run (release build, loopback only):
  cargo build --release -p linevisor
  python3 tests/peers/dashboard_bench.py --linevisor target/release/linevisor
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

os.environ.setdefault("SE_OFFLINE", "true")

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = os.environ.get("LINEVISOR_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("LINEVISOR_CHROMEDRIVER", "/usr/bin/chromedriver")
TICK = os.sysconf("SC_CLK_TCK")


def emit(metric, value, unit):
    print(json.dumps({"bench": "dashboard", "metric": metric, "value": round(value, 3), "unit": unit}),
          flush=True)


def line_config(drives, segments=4):
    s = '[line]\nname = "bench"\ncycle_ms = 10\n'
    for b in range(segments):
        s += f'\n[[bus]]\nid = "sim{b}"\ntype = "simulated"\nprotocol = "modbus"\n'
    for i in range(drives):
        s += (f'\n[[drive]]\nid = "d{i:03}"\nbus = "sim{i % segments}"\naddress = {i // segments + 1}\n'
              'profile = { name = "linevisor-sim-servo", version = "1.0" }\nrestart = "adopt"\n')
    return s


def start(binary, config):
    p = subprocess.Popen([binary, "run", config, "--logs", "--listen", "127.0.0.1:0"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for line in p.stderr:
        if line.startswith("linevisor: API on http://"):
            api = line.strip().removeprefix("linevisor: API on ")
            break
    else:
        sys.exit("linevisor run ended before its API listened")
    threading.Thread(target=lambda: [None for _ in p.stderr], daemon=True).start()
    return p, api


def line(api):
    with urllib.request.urlopen(f"{api}/api/v1/line", timeout=10) as r:
        return json.load(r)


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def browser_cpu_s():
    """CPU seconds of every Chromium process now running (the browsers' own cost)."""
    total = 0.0
    for pid in chromium_pids():
        try:
            total += cpu_s(pid)
        except OSError:
            continue
    return total


def chromium_pids():
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"chromium" in f.read().split(b"\0")[0]:
                    yield pid
        except OSError:
            continue


def renice_browsers(niceness):
    for pid in chromium_pids():
        try:
            os.setpriority(os.PRIO_PROCESS, int(pid), niceness)
        except OSError:
            continue


def missed(api):
    return sum(d.get("missed", 0) for d in line(api)["drives"])


def phase(name, api, pid, seconds):
    m0 = missed(api)
    c0, b0, t0 = cpu_s(pid), browser_cpu_s(), time.monotonic()
    time.sleep(seconds)
    c1, b1, t1 = cpu_s(pid), browser_cpu_s(), time.monotonic()
    m1 = missed(api)
    cpu = 100 * (c1 - c0) / (t1 - t0)
    emit(f"{name}_cpu_percent_of_one_core", cpu, "%")
    emit(f"{name}_browser_cpu_percent_of_one_core", 100 * (b1 - b0) / (t1 - t0), "%")
    emit(f"{name}_missed_cycles", m1 - m0, "count")
    return cpu


def browser(width=1366, height=768):
    o = webdriver.ChromeOptions()
    o.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              f"--window-size={width},{height}", "--no-first-run", "--disable-extensions",
              "--disable-background-networking", "--disable-component-update"):
        o.add_argument(a)
    d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=o)
    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    return d


def drawn(d, css, n=1):
    WebDriverWait(d, 60, poll_frequency=0.1).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, css)) >= n)


def five_tabs(api, drives):
    d = browser()
    d.get(f"{api}/#/")
    drawn(d, "tr[data-drive]", drives)
    for drive in ("d000", "d025", "d050", "d075"):
        d.switch_to.new_window("tab")
        d.get(f"{api}/#/drive/{drive}")
        drawn(d, ".chart canvas", 4)
    return [d]


def five_browsers(api, drives):
    ds = []
    for _ in range(5):
        d = browser()
        d.get(f"{api}/#/")
        drawn(d, "tr[data-drive]", drives)
        ds.append(d)
    return ds


class Streams:
    """What five dashboards ask of the server, without a browser: five live streams read to the
    end of each message, and each 'page' loaded once (the line, two drives' setup and trend)."""

    def __init__(self, api, n=5):
        self.stop = threading.Event()
        self.bytes = 0
        for path in ("/api/v1/line", "/api/v1/drives/d000/setup", "/api/v1/drives/d000/trend"):
            for _ in range(n):
                urllib.request.urlopen(api + path, timeout=10).read()
        self.threads = [threading.Thread(target=self.read, args=(api,), daemon=True) for _ in range(n)]
        for t in self.threads:
            t.start()

    def read(self, api):
        with urllib.request.urlopen(api + "/api/v1/live", timeout=10) as r:
            while not self.stop.is_set():
                line = r.readline()
                if not line:
                    return
                self.bytes += len(line)

    def quit(self):
        self.stop.set()


def five_streams(api, drives):
    return [Streams(api)]


OBSERVE = """
new MutationObserver((_, obs) => {
  if (document.querySelectorAll('tr[data-drive]').length >= %d) {
    window.__drawn = performance.now();
    obs.disconnect();
  }
}).observe(document, {childList: true, subtree: true});
"""


def first_paint(api, drives, runs=5):
    fcp, table = [], []
    for _ in range(runs):
        d = browser()
        try:
            d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": OBSERVE % drives})
            d.get(f"{api}/")
            WebDriverWait(d, 30, poll_frequency=0.05).until(lambda d: d.execute_script("return window.__drawn"))
            fcp.append(d.execute_script(
                "return performance.getEntriesByName('first-contentful-paint')[0].startTime"))
            table.append(d.execute_script("return window.__drawn"))
        finally:
            d.quit()
    emit("first_contentful_paint_1366x768_median_ms", statistics.median(fcp), "ms")
    emit("first_contentful_paint_1366x768_max_ms", max(fcp), "ms")
    emit("overview_drawn_1366x768_median_ms", statistics.median(table), "ms")
    emit("overview_drawn_1366x768_max_ms", max(table), "ms")


def main():
    a = argparse.ArgumentParser()
    a.add_argument("--linevisor", required=True, help="the linevisor binary (a release build)")
    a.add_argument("--seconds", type=float, default=30)
    a.add_argument("--drives", type=int, default=100)
    args = a.parse_args()
    with tempfile.TemporaryDirectory() as dir:
        config = os.path.join(dir, "line.toml")
        with open(config, "w") as f:
            f.write(line_config(args.drives))
        proc, api = start(args.linevisor, config)
        try:
            deadline = time.monotonic() + 60
            while any(d["state"] in ("initializing", "offline", "unavailable") for d in line(api)["drives"]):
                if time.monotonic() > deadline:
                    sys.exit("the drives did not start within 60 s")
                time.sleep(0.5)
            time.sleep(5)  # past start-up: parameter downloads, first polls
            emit("drives", args.drives, "count")
            emit("seconds_per_phase", args.seconds, "s")
            run = lambda name: phase(name, api, proc.pid, args.seconds)  # noqa: E731
            cpu = {"no_tabs": run("no_tabs")}
            for name, open_them in (("five_streams", five_streams), ("five_tabs", five_tabs),
                                    ("five_browsers", five_browsers)):
                if name == "five_browsers":
                    cpu["no_tabs_again"] = run("no_tabs_again")
                ds = open_them(api, args.drives)
                try:
                    time.sleep(3)  # every tab live
                    cpu[name] = run(name)
                    if name != "five_streams":
                        renice_browsers(19)
                        cpu[f"{name}_niced"] = run(f"{name}_niced")
                finally:
                    for d in ds:
                        d.quit()
            base = (cpu["no_tabs"] + cpu["no_tabs_again"]) / 2
            for name in cpu:
                if name.startswith("five_"):
                    emit(f"{name}_extra_cpu_percent_of_one_core", cpu[name] - base, "%")
                    emit(f"{name}_extra_cpu_relative_percent", 100 * (cpu[name] - base) / base, "%")
            first_paint(api, args.drives)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
