"""Screenshots of every tab at desktop (1400 px) and phone (400 px) width, for a person to look at.

    .venv/bin/python scripts/screenshots.py [OUT_DIR]

Starts `python app.py` on a free port and drives Debian's headless chromium with Selenium.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TABS = ["Images", "Texts", "Series", "Fine-tune", "About"]


def full_page(driver, path: Path) -> None:
    h = driver.execute_script("return document.documentElement.scrollHeight")
    w = driver.execute_script("return window.innerWidth")
    height = min(max(h, 800), 6000)
    if w < 500:  # an emulated phone viewport (devserver.chromium): make it as tall as the page
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": w, "height": height, "deviceScaleFactor": 1, "mobile": True})
    else:
        driver.set_window_size(w, height)
    time.sleep(0.5)
    driver.save_screenshot(str(path))


def main() -> None:
    from selenium.webdriver.common.by import By

    from siamese_demo.devserver import chromium, start_app, stop

    out = Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp())
    out.mkdir(parents=True, exist_ok=True)
    proc, url = start_app()
    try:
        for width in (1400, 400):
            d = chromium(width, 2000, hide_scrollbars=True)
            d.get(url)
            time.sleep(4)
            for tab in TABS:
                buttons = [b for b in d.find_elements(By.CSS_SELECTOR, "button[role='tab']") if b.text.strip() == tab]
                if buttons:
                    d.execute_script("arguments[0].click();", buttons[0])
                    time.sleep(1.5)
                name = tab.lower().replace(" ", "_")
                full_page(d, out / f"{width}_{name}.png")
                if width < 500:  # back to a phone screen's height before the next tab is measured
                    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                      {"width": width, "height": 1400, "deviceScaleFactor": 1, "mobile": True})
                else:
                    d.set_window_size(width, 2000)
            d.quit()
    finally:
        stop(proc)
    print(out)


if __name__ == "__main__":
    main()
