"""A visitor in headless Chromium (Debian chromium + chromium-driver, Selenium), at desktop (1400 px)
and phone (400 px) width: a comparison per tab, the answer cleared when an input changes, the series
examples, a one-against-many search, every tab reachable on a phone, and a fine-tune on a sample.
Screenshots of each step are saved under the system temp folder (siamese_browser/) to look at."""
import shutil
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "examples"
SHOTS = Path(tempfile.gettempdir()) / "siamese_browser"
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="Debian chromium + chromium-driver not installed "
                                "(scripts/test.sh installs them)")
TABS = ["Images", "Texts", "Series", "Fine-tune", "About"]


@pytest.fixture(scope="module")
def app_url():
    from conftest import launch_app

    SHOTS.mkdir(exist_ok=True)
    yield from launch_app()


def _driver(url: str, width: int):
    from siamese_demo.devserver import chromium

    driver = chromium(width)
    driver.get(url)
    assert driver.execute_script("return window.innerWidth") == width
    return driver


@pytest.fixture(scope="module")
def page(app_url):
    driver = _driver(app_url, 1400)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def phone(app_url):
    driver = _driver(app_url, 400)
    yield driver
    driver.quit()


def _wait(driver, cond, timeout=90, shot="failure"):
    end = time.time() + timeout
    while time.time() < end:
        try:
            got = cond()
            if got:
                return got
        except Exception:  # noqa: BLE001 - element not there yet
            pass
        time.sleep(0.3)
    driver.save_screenshot(str(SHOTS / f"{shot}.png"))
    raise AssertionError(f"timed out waiting for the page (screenshot {SHOTS / shot}.png)")


def _tab(driver, name):
    from selenium.webdriver.common.by import By

    btn = _wait(driver, lambda: [b for b in driver.find_elements(By.CSS_SELECTOR, "button[role='tab']")
                                 if b.text.strip() == name and b.is_displayed()][0])
    driver.execute_script("arguments[0].click();", btn)
    time.sleep(0.5)


def _visible_panel(driver):
    from selenium.webdriver.common.by import By

    return [p for p in driver.find_elements(By.CSS_SELECTOR, "[role='tabpanel']") if p.is_displayed()][0]


def _button(driver, text):
    from selenium.webdriver.common.by import By

    return [b for b in _visible_panel(driver).find_elements(By.TAG_NAME, "button") if b.text.strip() == text][0]


def _click(driver, element):
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", element)


def _verdict(text):
    return "[same]" in text or "[different]" in text


def _set_number(field, value) -> None:
    """Type a new value into a number box (select all, type, leave the field)."""
    from selenium.webdriver.common.keys import Keys

    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(str(value), Keys.TAB)


def _type_texts(driver, first: str, second: str):
    """On the Texts tab: replace both texts; returns the two text boxes."""
    from selenium.webdriver.common.by import By

    _tab(driver, "Texts")
    boxes = _wait(driver, lambda: _visible_panel(driver).find_elements(By.TAG_NAME, "textarea"))
    for box, text in zip(boxes, (first, second)):
        box.clear()
        box.send_keys(text)
    return boxes


def _compare_and_read(driver, shot):
    _click(driver, _button(driver, "Compare"))
    text = _wait(driver, lambda: (lambda t: t if _verdict(t) and "sure" in t else None)(_visible_panel(driver).text),
                 shot=shot)
    driver.save_screenshot(str(SHOTS / f"{shot}.png"))
    return text


def _two_file_inputs(driver, shot="file_inputs"):
    """The visible tab's two image inputs. A box re-renders after an upload, and for a moment only the
    other input is in the page: wait until both are there again."""
    from selenium.webdriver.common.by import By

    def both():
        found = _visible_panel(driver).find_elements(By.CSS_SELECTOR, "input[type='file']")
        return found if len(found) >= 2 else None

    return _wait(driver, both, shot=shot)


def _upload_two(driver, a, b):
    _two_file_inputs(driver, "upload_first")[0].send_keys(str(a))
    time.sleep(0.5)
    _two_file_inputs(driver, "upload_second")[1].send_keys(str(b))
    time.sleep(1.5)


def test_image_tab_answer_then_stale_on_change(page):
    _tab(page, "Images")
    _upload_two(page, EX / "images" / "latin_c01_a.png", EX / "images" / "latin_c01_b.png")
    text = _compare_and_read(page, "1400_image_result")
    assert "[same]" in text and "Same character" in text
    from selenium.webdriver.common.by import By

    # the heatmaps follow the decision (the explanation step)
    _wait(page, lambda: len([i for i in _visible_panel(page).find_elements(By.CSS_SELECTOR, "img")
                             if "What matched" in (i.get_attribute("alt") or "") or i.size["height"] > 100]) >= 2,
          shot="1400_image_heatmaps")
    _two_file_inputs(page)[-1].send_keys(str(EX / "images" / "latin_c02_a.png"))
    _wait(page, lambda: not _verdict(_visible_panel(page).text) and "press **Compare**" not in
          _visible_panel(page).text and "changed" in _visible_panel(page).text, shot="1400_image_stale")


def test_text_tab_answer_then_stale_on_typing(page):
    boxes = _type_texts(page, "A man is playing a guitar.", "The stock market fell sharply on Monday.")
    text = _compare_and_read(page, "1400_text_result")
    assert "[different]" in text and "Different meanings" in text
    boxes[1].send_keys(" Again.")
    _wait(page, lambda: not _verdict(_visible_panel(page).text), shot="1400_text_stale")


def test_series_examples_are_there_and_run(page):
    from selenium.webdriver.common.by import By

    _tab(page, "Series")
    example = _wait(page, lambda: [e for e in _visible_panel(page).find_elements(By.CSS_SELECTOR, "button, td, tr")
                                   if e.text.strip() == "GunPoint: same class"][0], shot="1400_series_examples")
    _click(page, example)
    _wait(page, lambda: len(_visible_panel(page).find_elements(By.TAG_NAME, "textarea")[0].get_attribute("value")) > 50)
    text = _compare_and_read(page, "1400_series_result")
    assert "[same]" in text and "Same pattern" in text


def test_image_search_returns_a_ranked_list(page):
    from selenium.webdriver.common.by import By

    _tab(page, "Images")
    inputs = _wait(page, lambda: _visible_panel(page).find_elements(By.CSS_SELECTOR, "input[type='file']"))
    inputs[0].send_keys(str(EX / "gallery" / "query_korean_c03.png"))
    time.sleep(1.0)
    acc = [b for b in _visible_panel(page).find_elements(By.CSS_SELECTOR, "button, span")
           if b.text.strip().startswith("Find the best match")][0]
    _click(page, acc)
    time.sleep(0.5)
    _click(page, _button(page, "Search"))
    text = _wait(page, lambda: (lambda t: t if "korean_c" in t and ("[match]" in t or "[no match]" in t) else None)(
        _visible_panel(page).text), shot="1400_search")
    page.save_screenshot(str(SHOTS / "1400_search.png"))
    assert "Best match: korean_c03.png" in text
    # the ranking decided at the saved threshold: unticking it marks the ranking stale
    box = [lab for lab in _visible_panel(page).find_elements(By.TAG_NAME, "label")
           if lab.text.strip() == "Use the model's saved threshold"][0]
    _click(page, box)
    _wait(page, lambda: "The threshold changed" in _visible_panel(page).text
          and "Best match: korean_c03.png" not in _visible_panel(page).text, shot="1400_search_stale")


def test_every_tab_is_reachable_on_a_phone(phone):
    from selenium.webdriver.common.by import By

    for name in TABS:
        _tab(phone, name)  # a visible tab button, not hidden behind an overflow menu
        assert _visible_panel(phone).is_displayed()
        width = phone.execute_script("return document.documentElement.scrollWidth")
        assert width <= 420, f"{name}: the page is {width} px wide at 400 px"
        phone.save_screenshot(str(SHOTS / f"400_{name.lower()}.png"))
    assert not [b for b in phone.find_elements(By.CSS_SELECTOR, "button[aria-label='More tabs']") if b.is_displayed()]


def test_phone_compare_sits_under_the_inputs_and_answers(phone):
    boxes = _type_texts(phone, "A woman is slicing an onion.", "A woman is cutting an onion.")
    compare = _button(phone, "Compare")
    assert compare.location["y"] - boxes[1].location["y"] < 250  # right under the second input
    text = _compare_and_read(phone, "400_text_result")
    assert "[same]" in text


def test_finetune_tab_runs_on_a_sample(page):
    """As a visitor: pick the time-series sample, check it, set 2 epochs, start, read the report."""
    from selenium.webdriver.common.by import By

    _tab(page, "Fine-tune")
    panel = _visible_panel(page)
    radio = _wait(page, lambda: [lab for lab in panel.find_elements(By.TAG_NAME, "label")
                                 if lab.text.strip() == "Time-series pairs"][0])
    page.execute_script("arguments[0].click();", radio)
    _wait(page, lambda: "GunPoint" in _visible_panel(page).text)
    check = [b for b in panel.find_elements(By.TAG_NAME, "button") if b.text.strip() == "Check the data"][0]
    page.execute_script("arguments[0].click();", check)
    _wait(page, lambda: "Duplicates of training items" in _visible_panel(page).text)
    settings = [b for b in panel.find_elements(By.TAG_NAME, "button") if b.text.strip().startswith("Advanced settings")][0]
    page.execute_script("arguments[0].click();", settings)
    epochs = _wait(page, lambda: [i for i in panel.find_elements(By.CSS_SELECTOR, "input[type='number']")
                                  if i.get_attribute("aria-label") and "Epochs" in i.get_attribute("aria-label")][0])
    _set_number(epochs, 2)
    time.sleep(0.5)
    cancel = lambda: [b for b in _visible_panel(page).find_elements(By.TAG_NAME, "button")  # noqa: E731
                      if b.text.strip() in ("Cancel", "Cancelling…")][0]
    assert not cancel().is_enabled()  # nothing to cancel before a run
    start = [b for b in panel.find_elements(By.TAG_NAME, "button") if b.text.strip() == "Start fine-tuning"][0]
    page.execute_script("arguments[0].scrollIntoView(); arguments[0].click();", start)
    text = _wait(page, lambda: (lambda t: t if "Finished" in t and "Base vs fine-tuned" in t else None)(
        _visible_panel(page).text), timeout=180, shot="1400_finetune")
    page.save_screenshot(str(SHOTS / "1400_finetune.png"))
    assert "fine-tuned" in text and "test ROC AUC" in text and "Download the model" in text
    assert "Improved on the base" in text or "without improving on the base" in text  # says which, plainly
    _wait(page, lambda: not cancel().is_enabled(), shot="1400_finetune_cancel_off")  # over: nothing to cancel

    # a long run, cancelled: the button says so until the run has stopped
    _set_number(epochs, 200)
    patience = [i for i in panel.find_elements(By.CSS_SELECTOR, "input[type='number']")
                if "Early-stopping patience" in (i.get_attribute("aria-label") or "")][0]
    _set_number(patience, 0)  # no early stop: the run goes on until cancelled
    time.sleep(0.5)
    page.execute_script("arguments[0].scrollIntoView(); arguments[0].click();", start)
    _wait(page, lambda: cancel().is_enabled() and "Training" in _visible_panel(page).text,
          shot="1400_finetune_run2")  # active while the run is on
    _wait(page, lambda: _click(page, cancel()) or True)  # (again if the button was just redrawn)
    # it says "Cancelling…" (disabled) until the run stops, often under a second
    _wait(page, lambda: "cancelled" in _visible_panel(page).text.lower() and cancel().text.strip() == "Cancel"
          and not cancel().is_enabled(), timeout=120, shot="1400_finetune_cancelled")


def test_input_error_replaces_the_result_on_its_tab_without_a_toast(page):
    from selenium.webdriver.common.by import By

    boxes = _type_texts(page, "A man is playing a guitar.", "A man plays the guitar.")
    assert "[same]" in _compare_and_read(page, "1400_text_before_error")
    boxes[1].clear()
    boxes[1].send_keys(" ")  # the second text is now empty
    _click(page, _button(page, "Compare"))
    text = _wait(page, lambda: _visible_panel(page).text if "[error]" in _visible_panel(page).text else None,
                 shot="1400_text_error")
    page.save_screenshot(str(SHOTS / "1400_text_error.png"))
    assert "second text" in text and not _verdict(text)  # the message, in place of the old verdict
    assert not page.find_elements(By.CSS_SELECTOR, ".toast-body, .toast-wrap .toast")  # not as a toast
    _tab(page, "Images")
    assert "[error]" not in _visible_panel(page).text  # shown once, on its own tab


def _choose_model(driver, name: str) -> None:
    """Pick ``name`` in the visible tab's model dropdown (type it, take the listed option)."""
    from selenium.webdriver.common.by import By

    box = _wait(driver, lambda: [i for i in _visible_panel(driver).find_elements(By.CSS_SELECTOR, "input[role='listbox'], "
                                                                                 "input[aria-label='Encoder (model)']")
                                 if i.is_displayed()][0])
    from selenium.webdriver.common.keys import Keys

    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", box)
    box.click()  # a real click: the list opens on focus
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(name)
    option = _wait(driver, lambda: [o for o in driver.find_elements(By.CSS_SELECTOR, "[role='option']")
                                    if o.text.strip() == name and o.is_displayed()][0], shot="1400_face_dropdown")
    option.click()
    _wait(driver, lambda: f"`{name}`" in _visible_panel(driver).text or name in _visible_panel(driver).text)
    time.sleep(0.5)


def test_face_model_compares_face_crops_and_says_when_there_is_no_face(page):
    from selenium.webdriver.common.by import By

    _tab(page, "Images")
    _choose_model(page, "face-efficientnet")
    assert "Face verification" in _visible_panel(page).text  # what the model is for, next to the picker
    _upload_two(page, EX / "photos" / "astronaut.jpg", EX / "photos" / "astronaut_mirrored_darker.jpg")
    text = _compare_and_read(page, "1400_face_same")
    assert "Same person" in text and "compared the two face crops" in text
    _wait(page, lambda: len([i for i in _visible_panel(page).find_elements(By.CSS_SELECTOR, "img")
                             if "What matched" in (i.get_attribute("alt") or "")
                             or i.size.get("height", 0) > 100]) >= 4, shot="1400_face_heatmaps")
    page.save_screenshot(str(SHOTS / "1400_face_heatmaps.png"))
    _two_file_inputs(page)[1].send_keys(str(EX / "photos" / "chelsea_cat.jpg"))
    time.sleep(1.5)
    _click(page, _button(page, "Compare"))
    text = _wait(page, lambda: (lambda t: t if "No reliable answer" in t else None)(_visible_panel(page).text),
                 shot="1400_face_no_face")
    assert "No face was found in the second image" in text


def test_signature_example_picks_the_signature_model(page):
    """A signature example fills both images and picks signature-efficientnet; Compare answers about signers."""
    from selenium.webdriver.common.by import By

    _tab(page, "Images")
    example = _wait(page, lambda: [e for e in _visible_panel(page).find_elements(By.CSS_SELECTOR, "button, td, tr")
                                   if e.text.strip() == "one signer, twice"][0], shot="1400_signature_examples")
    _click(page, example)
    _wait(page, lambda: "Signature verification" in _visible_panel(page).text, shot="1400_signature_model")
    text = _compare_and_read(page, "1400_signature_result")
    assert "[same]" in text and "Same signer" in text


def test_photo_example_picks_the_model_it_is_for(page):
    """A photo example picks its model (the cat and the coffee cup: the ImageNet photo model), so the first
    click answers instead of warning that the handwriting model does not know photos."""
    from selenium.webdriver.common.by import By

    _tab(page, "Images")
    example = _wait(page, lambda: [e for e in _visible_panel(page).find_elements(By.CSS_SELECTOR, "button, td, tr")
                                   if e.text.strip() == "a cat and a coffee cup"][0], shot="1400_photo_examples")
    _click(page, example)
    _wait(page, lambda: any(e.get_attribute("value") == "image-efficientnet-lite0"
                            for e in _visible_panel(page).find_elements(By.CSS_SELECTOR, "input")),
          shot="1400_photo_model")  # the picker shows it
    text = _compare_and_read(page, "1400_photo_result")
    assert "[different]" in text and "outside what this model knows" not in text
