"""A visitor in headless Chromium (Debian chromium + chromium-driver, Selenium): one comparison
per tab, checking the rendered score and decision."""
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "examples"
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="Debian chromium + chromium-driver not installed "
                                "(scripts/test.sh installs them)")


@pytest.fixture(scope="module")
def page():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    sys.path.insert(0, str(ROOT))
    from siamese_demo.ui import build_demo

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo = build_demo(warm=False)
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--window-size=1400,2400", f"--user-data-dir={tempfile.mkdtemp()}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.get(url)
    yield driver
    driver.quit()
    demo.close()


def _wait(driver, cond, timeout=90):
    end = time.time() + timeout
    while time.time() < end:
        try:
            got = cond()
            if got:
                return got
        except Exception:  # noqa: BLE001 - element not there yet
            pass
        time.sleep(0.3)
    driver.save_screenshot(str(Path(tempfile.gettempdir()) / "siamese_browser_failure.png"))
    raise AssertionError("timed out waiting for the page")


def _tab(driver, name):
    from selenium.webdriver.common.by import By

    btn = _wait(driver, lambda: [b for b in driver.find_elements(By.CSS_SELECTOR, "button[role='tab']")
                                 if b.text.strip() == name][0])
    driver.execute_script("arguments[0].click();", btn)
    time.sleep(0.5)


def _visible_panel(driver):
    from selenium.webdriver.common.by import By

    return [p for p in driver.find_elements(By.CSS_SELECTOR, "[role='tabpanel']") if p.is_displayed()][0]


def _compare_and_read(driver):
    from selenium.webdriver.common.by import By

    panel = _visible_panel(driver)
    btn = [b for b in panel.find_elements(By.TAG_NAME, "button") if b.text.strip() == "Compare"][0]
    driver.execute_script("arguments[0].scrollIntoView(); arguments[0].click();", btn)

    def result():
        text = _visible_panel(driver).text
        return text if ("✅ Same" in text or "❌ Different" in text) and "similarity score" in text else None

    return _wait(driver, result)


def _score(text):
    # the table row after the header: | score | distance | threshold | confidence |
    lines = text.splitlines()
    i = next(k for k, ln in enumerate(lines) if "similarity score" in ln)
    return float(lines[i + 1].split()[0]) if lines[i + 1].split() else float(lines[i + 4])


def test_image_tab(page):
    from selenium.webdriver.common.by import By

    _tab(page, "Image pairs")
    inputs = _wait(page, lambda: [i for i in _visible_panel(page).find_elements(By.CSS_SELECTOR, "input[type='file']")])
    inputs[0].send_keys(str(EX / "images" / "latin_c01_a.png"))
    inputs = _visible_panel(page).find_elements(By.CSS_SELECTOR, "input[type='file']")
    inputs[1 if len(inputs) > 1 else 0].send_keys(str(EX / "images" / "latin_c01_b.png"))
    time.sleep(1.5)
    text = _compare_and_read(page)
    assert "✅ Same" in text


def test_text_tab(page):
    from selenium.webdriver.common.by import By

    _tab(page, "Text pairs")
    boxes = _wait(page, lambda: _visible_panel(page).find_elements(By.TAG_NAME, "textarea"))
    boxes[0].send_keys("A man is playing a guitar.")
    boxes[1].send_keys("The stock market fell sharply on Monday.")
    text = _compare_and_read(page)
    assert "❌ Different" in text


def test_series_tab(page):
    from selenium.webdriver.common.by import By

    _tab(page, "Time-series pairs")
    boxes = _wait(page, lambda: _visible_panel(page).find_elements(By.TAG_NAME, "textarea"))
    series = " ".join(str(v) for v in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] * 6)
    boxes[0].send_keys(series)
    boxes[1].send_keys(series)
    text = _compare_and_read(page)
    assert "✅ Same" in text


def test_finetune_tab_runs_on_a_sample(page):
    """As a visitor: pick the time-series sample, check it, set 2 epochs, start, read the report."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    _tab(page, "Fine-tune")
    panel = _visible_panel(page)
    radio = _wait(page, lambda: [lab for lab in panel.find_elements(By.TAG_NAME, "label")
                                 if lab.text.strip() == "Time-series pairs"][0])
    page.execute_script("arguments[0].click();", radio)
    _wait(page, lambda: "GunPoint" in _visible_panel(page).text)
    check = [b for b in panel.find_elements(By.TAG_NAME, "button") if b.text.strip() == "Check the data"][0]
    page.execute_script("arguments[0].click();", check)
    _wait(page, lambda: "Duplicates of training items" in _visible_panel(page).text)
    settings = [b for b in panel.find_elements(By.TAG_NAME, "button") if b.text.strip().startswith("Settings")][0]
    page.execute_script("arguments[0].click();", settings)
    epochs = _wait(page, lambda: [i for i in panel.find_elements(By.CSS_SELECTOR, "input[type='number']")
                                  if i.get_attribute("aria-label") and "Epochs" in i.get_attribute("aria-label")][0])
    epochs.send_keys(Keys.CONTROL, "a")
    epochs.send_keys("2", Keys.TAB)
    time.sleep(0.5)
    start = [b for b in panel.find_elements(By.TAG_NAME, "button") if b.text.strip() == "Start fine-tuning"][0]
    page.execute_script("arguments[0].scrollIntoView(); arguments[0].click();", start)
    text = _wait(page, lambda: (lambda t: t if "Finished" in t and "Base vs fine-tuned" in t else None)(
        _visible_panel(page).text), timeout=180)
    assert "fine-tuned" in text and "test ROC AUC" in text
