"""Phone emulation and layout checks for the browser tests of the page shell.

Chromium's mobile emulation (``is_mobile``, ``has_touch``) at the two sizes issue 14 names:
390×844 (iPhone 12/13/14) and 360×800 (a common Android size). ``check_layout`` saves a
screenshot under ``var/screenshots/phone/<size>/`` and returns what is wrong with the page
as plain strings, so an assertion names every offender at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.conftest import ROOT

SCREENSHOTS = ROOT / "var" / "screenshots" / "phone"


@dataclass(frozen=True)
class Phone:
    name: str
    width: int
    height: int


PHONES = [Phone("390x844", 390, 844), Phone("360x800", 360, 800)]
PHONE_IDS = [phone.name for phone in PHONES]


def phone_page(browser: Any, phone: Phone, **context_options: Any) -> Any:
    context = browser.new_context(
        locale="zh-CN",
        viewport={"width": phone.width, "height": phone.height},
        screen={"width": phone.width, "height": phone.height},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        **context_options,
    )
    return context.new_page()


def phone_login(browser: Any, base_url: str, phone: Phone, username: str, **context_options: Any) -> Any:
    from officehub.demo import DEMO_PASSWORD

    page = phone_page(browser, phone, **context_options)
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.tap("button[type=submit]")
    page.wait_for_url(f"{base_url}/", timeout=15000)
    return page


# Everything is measured in the page: offenders come back as readable strings.
LAYOUT = """(width) => {
  const describe = (el) => {
    const text = (el.getAttribute("aria-label") || el.value || el.textContent || "").trim().replace(/\\s+/g, " ").slice(0, 24);
    const cls = typeof el.className === "string" && el.className.trim() ? "." + el.className.trim().split(/\\s+/).join(".") : "";
    return `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}${cls} "${text}"`;
  };
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && style.visibility !== "hidden";
  };
  // Inside a box that clips or scrolls sideways, overflow moves that box's content only.
  const clipped = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== "visible") return true;
    }
    return false;
  };
  const offscreen = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (!shown(el) || clipped(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.left < -1 || r.right > width + 1) offscreen.push(`${describe(el)} spans ${Math.round(r.left)}..${Math.round(r.right)}`);
  }
  const small = [];
  const targets = "button, .button, select, textarea, .mainnav a, "
    + "input:not([type=hidden]):not([type=checkbox]):not([type=radio])";
  for (const el of document.querySelectorAll(targets)) {
    if (!shown(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.height < 39.5 || r.width < 39.5) small.push(`${describe(el)} is ${Math.round(r.width)}×${Math.round(r.height)}`);
  }
  const nav = document.querySelector(".mainnav");
  let bar = null;
  if (nav) {
    const r = nav.getBoundingClientRect();
    bar = {
      position: getComputedStyle(nav).position, top: r.top, bottom: r.bottom, left: r.left, right: r.right,
      // What the bar shows: the primary links and 更多 (the others sit in 更多's panel).
      links: [...nav.querySelectorAll(":scope > a, :scope > details > summary")].filter(shown).map((a) => {
        const box = a.getBoundingClientRect();
        const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
        return {
          nav: a.dataset.nav, left: box.left, right: box.right, top: box.top, bottom: box.bottom,
          reachable: Boolean(hit && a.contains(hit)),
        };
      }),
    };
  }
  return {
    scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, innerHeight: window.innerHeight,
    offscreen, small, bar,
  };
}"""

# Whether an element is inside the viewport, above the bottom bar, and is what a tap at its
# centre would hit (nothing fixed lies over it).
REACHABLE = """(el) => {
  const r = el.getBoundingClientRect();
  const nav = document.querySelector(".mainnav");
  const floor = nav && getComputedStyle(nav).position === "fixed" ? nav.getBoundingClientRect().top : window.innerHeight;
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return {
    inside: r.left >= 0 && r.right <= window.innerWidth && r.top >= 0 && r.bottom <= floor + 0.5,
    hit: Boolean(hit && (el === hit || el.contains(hit))),
    box: [Math.round(r.left), Math.round(r.top), Math.round(r.right), Math.round(r.bottom)], floor,
  };
}"""


def screenshot(page: Any, phone: Phone, name: str) -> None:
    directory = SCREENSHOTS / phone.name
    directory.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(directory / f"{name}.png"))
    page.screenshot(path=str(directory / f"{name}-full.png"), full_page=True)


def check_layout(page: Any, phone: Phone, name: str, *, shell: bool = True) -> list[str]:
    """Save the screenshots and list what breaks the phone layout on this page."""
    page.wait_for_load_state("load")
    screenshot(page, phone, name)
    found = page.evaluate(LAYOUT, phone.width)
    problems: list[str] = []
    if found["innerWidth"] != phone.width:
        problems.append(f"{name}: the page was zoomed out to {found['innerWidth']} px (content wider than the screen)")
    if found["scrollWidth"] > min(found["innerWidth"], phone.width):
        problems.append(f"{name}: scrolls sideways ({found['scrollWidth']} > {phone.width})")
    problems += [f"{name}: off screen: {item}" for item in found["offscreen"]]
    problems += [f"{name}: target under 40 px: {item}" for item in found["small"]]
    bar = found["bar"]
    if shell:
        if bar is None:
            problems.append(f"{name}: no navigation")
        else:
            at_bottom = abs(bar["bottom"] - phone.height) <= 1 and bar["left"] == 0 and bar["right"] == phone.width
            if bar["position"] != "fixed" or not at_bottom:
                problems.append(f"{name}: the navigation is not a bottom bar: {bar}")
            for link in bar["links"]:
                on_screen = link["left"] >= 0 and link["right"] <= phone.width and link["bottom"] <= phone.height + 0.5
                if not (link["reachable"] and on_screen):
                    problems.append(f"{name}: bottom bar item {link['nav']} not tappable: {link}")
    elif bar is not None:
        problems.append(f"{name}: navigation shown to an anonymous visitor")
    return problems


def reachable(page: Any, selector: str, *, scroll: bool = True) -> dict[str, Any]:
    """Scroll the element to the middle of the screen as a user would (unless ``scroll`` is
    false: then it must be reachable where it is), then measure it (see REACHABLE)."""
    locator = page.locator(selector).first
    if scroll:
        locator.evaluate("(el) => el.scrollIntoView({block: 'center', inline: 'nearest'})")
    result: dict[str, Any] = locator.evaluate(REACHABLE)
    return result
