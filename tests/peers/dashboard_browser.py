#!/usr/bin/env python3
"""The dashboard in a real browser: headless Chromium from Debian, driven over WebDriver
(chromedriver) by Selenium, against a running `linevisor run` on the demo line.

As a viewer, an operator and an admin it logs in, sees every drive, watches values change live,
commands a drive and reads the acknowledgement, reads a refused command's reason, plans and
applies a config that touches one drive and sees the rest untouched; a viewer can change
nothing, through the page or with the page's own cookie and CSRF token. The browser console
must stay free of errors: the only ones allowed are the network lines Chromium writes for the
requests this script provokes to be refused (listed in EXPECTED_REFUSALS).

Prints one JSON line per check; exits 1 with the reason on the first failure.
Run by runtime/cli/tests/dashboard.rs; by hand:
  python3 tests/peers/dashboard_browser.py --base http://127.0.0.1:7010 --viewer V --operator O \
      --admin A --drives 10 --shots docs
"""

import argparse
import json
import os
import sys

os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium fetch a driver or a browser

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = os.environ.get("LINEVISOR_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("LINEVISOR_CHROMEDRIVER", "/usr/bin/chromedriver")
WAIT_S = 20  # guards a hang only: every wait ends as soon as the page shows what it waits for

# Requests this script makes to be refused, as Chromium's console reports them.
EXPECTED_REFUSALS = [
    ("/api/v1/drives/labeler/commands", "422"),  # set_velocity over the drive's limit
    ("/api/v1/drives/labeler/commands", "403"),  # the viewer's own fetch with its cookie
]


# Overview columns after the drive's name (td elements, 1-based).
VELOCITY, CYCLES, RESTARTS = 2, 4, 8


def near(text, want):
    try:
        return abs(float(text) - want) < 1
    except ValueError:
        return False


def check(name, ok, detail=""):
    print(json.dumps({"check": name, "ok": bool(ok), "detail": str(detail)[:500]}), flush=True)
    if not ok:
        sys.exit(f"dashboard check failed: {name}: {detail}")


def viewport(d, width, height, mobile=False):
    """The page's own size (the window's chrome not counted), as on an HMI panel or a tablet."""
    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})


def browser(width, height):
    o = webdriver.ChromeOptions()
    o.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              f"--window-size={width},{height}", "--no-first-run", "--disable-extensions",
              "--disable-background-networking", "--disable-component-update"):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=o)


class Page:
    def __init__(self, d, base):
        self.d, self.base, self.console = d, base, []

    def wait(self, what, cond):
        try:
            return WebDriverWait(self.d, WAIT_S, poll_frequency=0.1).until(lambda d: cond())
        except TimeoutException:
            self.collect()
            check(what, False, f"not within {WAIT_S} s; console: {self.console[-5:]}")

    def all(self, css):
        return self.d.find_elements(By.CSS_SELECTOR, css)

    def one(self, css):
        found = self.all(css)
        return found[0] if found else None

    def text(self, css):
        el = self.one(css)
        return el.text if el else ""

    def go(self, fragment):
        self.d.execute_script("location.hash = arguments[0]", fragment)

    def collect(self):
        self.console.extend(self.d.get_log("browser"))

    def login(self, token, role, keyboard=False):
        self.d.get(self.base + "/")
        self.wait("login form shown", lambda: self.one("#token"))
        self.one("#token").send_keys(token)
        if keyboard:
            self.one("#token").send_keys(Keys.ENTER)
        else:
            self.one("form.login button[type=submit]").click()
        self.wait(f"logged in as {role}", lambda: role in self.text("#who"))

    def logout(self):
        self.one("#logout").click()
        self.wait("logged out", lambda: self.one("#token"))

    def cell(self, drive, index):
        return self.text(f'tr[data-drive="{drive}"] td:nth-of-type({index})')


def overview_sees_every_drive(p, drives):
    p.go("#/")
    p.wait("every drive listed", lambda: len(p.all("tr[data-drive]")) == drives)
    check("overview lists every drive", True, f"{drives} drives")


def as_viewer(p, args):
    p.login(args.viewer, "viewer")
    overview_sees_every_drive(p, args.drives)
    cycles = p.cell("labeler", CYCLES)
    p.wait("cycles change live", lambda: p.cell("labeler", CYCLES) not in ("", cycles))
    check("a value changes live (labeler cycles)", True, f"{cycles} -> {p.cell('labeler', CYCLES)}")
    p.go("#/drive/labeler")
    p.wait("drive page drawn", lambda: p.one('button[data-command="enable"]'))
    buttons = p.all("button[data-command]")
    check("viewer: every command control disabled", buttons and all(not b.is_enabled() for b in buttons),
          f"{len(buttons)} controls")
    check("viewer: told why", "viewer" in p.text("section.panel .note"))
    # The page's own cookie and CSRF token, sent by a script of the page: refused by role.
    answer = p.d.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch('/api/v1/session').then(r => r.json()).then(s => fetch('/api/v1/drives/labeler/commands', {
            method: 'POST', headers: {'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf},
            body: JSON.stringify({command: 'enable'})})).then(async r => done([r.status, await r.json()]));
    """)
    check("viewer: the endpoint refuses the page's own request", answer[0] == 403
          and answer[1].get("error") == "forbidden", answer)
    p.go("#/changes")
    p.wait("changes page drawn", lambda: p.one("#apply-button"))
    check("viewer: apply disabled", not p.one("#apply-button").is_enabled())
    p.logout()


def command(p, name, value=None):
    """Sends a command from the drive page; returns the result line once the drive answered."""
    before = p.text("#command-result")
    if value is None:
        p.one(f'button[data-command="{name}"]').click()
    else:
        field = p.one("#set-velocity")
        field.clear()
        field.send_keys(str(value))
        p.one('button[data-command="set_velocity"]').click()
    p.wait(f"{name} answered", lambda: p.text("#command-result")[:1] in ("✓", "✗")
           and p.text("#command-result") != before)
    return p.text("#command-result")


def as_operator(p, args):
    p.login(args.operator, "operator")
    overview_sees_every_drive(p, args.drives)
    p.go("#/drive/labeler")
    p.wait("drive page drawn", lambda: p.one('button[data-command="enable"]'))
    check("operator: commands enabled", p.one('button[data-command="enable"]').is_enabled())
    result = command(p, "enable")
    check("enable acknowledged", result.startswith("✓ enable acknowledged"), result)
    p.wait("state badge follows", lambda: "operation enabled" in p.text("h1 .badge"))
    result = command(p, "set_velocity", 120)
    check("set velocity acknowledged", result.startswith("✓ set velocity acknowledged"), result)
    p.wait("velocity changes live", lambda: near(p.text('dd[data-value="velocity"]'), 120))
    check("velocity reaches 120 live", True, p.text('dd[data-value="velocity"]'))
    result = command(p, "set_velocity", 99999)
    check("a refused command shows its reason", result.startswith("✗ set velocity refused")
          and "limit" in result, result)
    # Charts with 10 s of points to show, then the screenshot of the drive page.
    p.wait("trend charts drawn", lambda: len(p.all(".chart canvas")) == 4)
    p.wait("trend charts filled", lambda: int(p.one(".chart").get_attribute("data-points") or 0) >= 20)
    p.d.save_screenshot(os.path.join(args.shots, "dashboard-drive.png"))
    p.go("#/")
    p.wait("overview shows the new velocity", lambda: near(p.cell("labeler", VELOCITY), 120))
    check("overview follows the drive live", True, p.cell("labeler", VELOCITY))
    p.d.save_screenshot(os.path.join(args.shots, "dashboard-overview.png"))
    p.go("#/changes")
    p.wait("changes page drawn", lambda: p.one("#apply-button"))
    check("operator: apply disabled", not p.one("#apply-button").is_enabled())
    p.logout()


UNLABELLED = """
    return [...document.querySelectorAll('input, select, textarea, button')]
      .filter((e) => !e.hidden && e.type !== 'hidden')
      .filter((e) => e.tagName === 'BUTTON'
        ? !e.textContent.trim() && !e.getAttribute('aria-label')
        : !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
      .map((e) => e.outerHTML.slice(0, 100));"""


def on_a_tablet(p, args):
    """Every page on a tablet in portrait: nothing wider than the screen (tables scroll in their
    own box), every control labelled; then back to the HMI panel's size."""
    viewport(p.d, 800, 1280, mobile=True)
    for page, drawn in (("#/", "tr[data-drive]"), ("#/drive/labeler", ".chart canvas"),
                        ("#/changes", "#plan-button"), ("#/journal", "#journal-table tbody tr")):
        p.go(page)
        p.wait(f"{page} drawn on a tablet", lambda: p.one(drawn))
        width = p.d.execute_script("return [document.documentElement.scrollWidth, innerWidth]")
        check(f"{page} fits a tablet's width", width[0] <= width[1], width)
        check(f"{page}: every control labelled", not p.d.execute_script(UNLABELLED),
              p.d.execute_script(UNLABELLED))
    viewport(p.d, 1366, 768)


def as_admin(p, args):
    p.login(args.admin, "admin", keyboard=True)
    on_a_tablet(p, args)
    p.go("#/changes")
    p.wait("running config loaded", lambda: "cycle_ms = 20" in (p.one("#config-text").get_attribute("value") or ""))
    p.d.execute_script("""
        const t = document.getElementById('config-text');
        t.value = t.value.replace('cycle_ms = 20', 'cycle_ms = 40');
        t.dispatchEvent(new Event('input'));""")
    p.one("#plan-button").click()
    p.wait("plan shown", lambda: p.one("#plan-summary"))
    summary = p.text("#plan-summary")
    check("the plan touches one drive", summary.startswith(f"Touches 1 of {args.drives} drives"), summary)
    row = p.text('#plan-touched tr[data-drive="labeler"]')
    check("labeler is reconfigured on cycle_ms", "reconfigure" in row and "cycle_ms" in row, row)
    untouched = p.text("#plan-untouched")
    check("the rest is listed untouched", f"Untouched ({args.drives - 1})" in untouched
          and "labeler" not in untouched, untouched)
    check("the text diff shows the edit", "+ cycle_ms = 40" in p.text("pre.diff"))
    p.one("#apply-button").click()
    p.wait("confirmation asked", lambda: p.one("dialog[open] #confirm-ok"))
    check("the confirmation names the touched drive", "labeler (reconfigure)" in p.text("dialog[open]"))
    p.one("#confirm-ok").click()
    p.wait("apply answered", lambda: p.text("#apply-result")[:1] in ("✓", "✗"))
    result = p.text("#apply-result")
    check("the change is applied to labeler only", result.startswith("✓")
          and "labeler (reconfigure)" in result and result.count("(") == 1, result)
    p.go("#/")
    p.wait("overview drawn", lambda: len(p.all("tr[data-drive]")) == args.drives)
    p.wait("labeler restarted once", lambda: p.cell("labeler", RESTARTS) == "1")
    others = {r.get_attribute("data-drive"): r.find_element(By.CSS_SELECTOR, f"td:nth-of-type({RESTARTS})").text
              for r in p.all("tr[data-drive]") if r.get_attribute("data-drive") != "labeler"}
    check("every other drive untouched (0 restarts)", all(v == "0" for v in others.values()), others)
    # A bus restart from the Changes page: its drive sees a comm loss, never a restart.
    p.go("#/changes")
    p.wait("restart targets listed", lambda: p.one('#restart-target option[value="buses/sim-serial-tmcl"]'))
    p.d.execute_script("document.getElementById('restart-target').value = 'buses/sim-serial-tmcl'")
    p.one("#restart-target").find_element(By.XPATH, "..").find_element(By.CSS_SELECTOR, "button").click()
    p.wait("restart confirmation asked", lambda: p.one("dialog[open] #confirm-ok"))
    p.one("#confirm-ok").click()
    p.wait("restart answered", lambda: p.text("#restart-result")[:1] in ("✓", "✗"))
    result = p.text("#restart-result")
    check("a bus restart is confirmed", result.startswith("✓ Restart of bus sim-serial-tmcl done"), result)
    p.logout()


def console_clean(p):
    p.collect()
    bad = []
    for e in p.console:
        if e["level"] not in ("SEVERE", "WARNING"):
            continue
        msg = e["message"]
        expected = e.get("source") == "network" and any(
            path in msg and f"status of {code}" in msg for path, code in EXPECTED_REFUSALS)
        if not expected:
            bad.append(msg)
    check("browser console has no errors", not bad, bad)


def main():
    a = argparse.ArgumentParser()
    a.add_argument("--base", required=True)
    a.add_argument("--viewer", required=True)
    a.add_argument("--operator", required=True)
    a.add_argument("--admin", required=True)
    a.add_argument("--drives", type=int, required=True)
    a.add_argument("--shots", required=True)
    args = a.parse_args()
    d = browser(1366, 768)
    viewport(d, 1366, 768)
    try:
        p = Page(d, args.base)
        as_viewer(p, args)
        p.collect()
        as_operator(p, args)
        p.collect()
        as_admin(p, args)
        console_clean(p)
    finally:
        d.quit()
    print(json.dumps({"check": "all", "ok": True}), flush=True)


if __name__ == "__main__":
    main()
