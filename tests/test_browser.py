"""The web demo in a real headless browser (Debian's chromium driven by Playwright): upload a
photo, pick a style, press Stylize, and the stylized image appears beside the photo."""

from __future__ import annotations

import io
import os
import shutil
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

# the demo server is a child process, and chromium another
pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.subprocess]
sync_api = pytest.importorskip("playwright.sync_api", reason="the [dev] extra (CI installs it)")

CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "images" / "demo.png"


@pytest.fixture(scope="module")
def browser() -> object:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"chromium not found at {CHROMIUM} (.ci/run installs Debian's package)")
        pytest.skip(f"chromium not found at {CHROMIUM}: apt-get install chromium")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def test_a_person_stylizes_a_photo(browser: object, demo_url: str, tmp_path: Path) -> None:
    photo = tmp_path / "chelsea.jpg"
    from texture_nets.image import open_image

    open_image("builtin:chelsea").save(photo, quality=92)
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page.goto(demo_url)
    page.set_input_files("#photo input[type=file]", str(photo))
    page.wait_for_selector("#photo img", timeout=30_000)
    page.locator("#style input").fill("hokusai_great_wave")
    page.keyboard.press("Enter")
    page.click("#stylize-button")
    result = page.wait_for_selector("#result img", timeout=120_000)
    source = result.get_attribute("src")
    assert source
    url = source if source.startswith("http") else demo_url.rstrip("/") + "/" + source.lstrip("/")
    with urllib.request.urlopen(url, timeout=30) as response:
        stylized = Image.open(io.BytesIO(response.read())).convert("RGB")
    original = Image.open(photo).convert("RGB").resize(stylized.size)
    assert max(stylized.size) == 512  # the default output size
    difference = np.abs(np.asarray(stylized, np.float32) - np.asarray(original, np.float32))
    assert difference.mean() > 10  # painted, not the photo handed back
    page.wait_for_timeout(500)
    page.screenshot(path=str(tmp_path / "demo.png"))
    if os.environ.get("TEXTURE_NETS_SCREENSHOT"):  # refresh the README's picture
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))
