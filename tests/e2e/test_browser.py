"""The web page in a real headless Chromium (Debian's ``chromium``), against a real server.

The project's set-up installs the browser (``make browser``); without it these tests skip, unless
``ONCOCLASS_REQUIRE_BROWSER=1`` (CI) makes a missing browser a failure. Screenshots are written to
``test-artifacts/``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TEXT = (
    "Kinase assays were performed in triplicate. The BRAF V600E variant showed constitutive kinase "
    "activation and transformed fibroblasts. Unrelated sentences follow about cohorts and survival."
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        if os.environ.get("ONCOCLASS_REQUIRE_BROWSER") == "1":
            pytest.fail(
                "Chromium is required (ONCOCLASS_REQUIRE_BROWSER=1) but not installed: run `make browser`"
            )
        pytest.skip("Chromium/ChromeDriver not installed (run `make browser`)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-quic", "--window-size=1280,1700",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _wait(driver, condition, timeout: float = 60.0):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def test_classify_a_variant_in_the_page(browser, server, default_model) -> None:
    from selenium.webdriver.common.by import By

    with server(default_model) as live:
        browser.get(live.url + "/")
        _wait(browser, lambda d: "Model " in d.find_element(By.ID, "model-line").text)
        browser.find_element(By.ID, "gene").send_keys("BRAF")
        browser.find_element(By.ID, "variation").send_keys("V600E")
        browser.find_element(By.ID, "text").send_keys(TEXT)
        browser.find_element(By.ID, "submit").click()
        _wait(browser, lambda d: d.find_element(By.ID, "result").is_displayed())
        bars = browser.find_elements(By.CSS_SELECTOR, "#chart .bar-row")
        assert len(bars) == 6  # the five likeliest classes and the other four folded into one
        assert "4 other classes" in bars[-1].text
        assert "Calibrated: of the variants" in browser.find_element(By.ID, "calibration-note").text
        values = [float(b.find_element(By.CLASS_NAME, "bar-value").text.rstrip("%")) for b in bars]
        assert sum(values) == pytest.approx(100.0, abs=0.6)
        assert "Gain-of-function" in browser.find_element(By.ID, "chart").text
        assert browser.find_elements(By.CSS_SELECTOR, "#toward li")
        # Words and phrases are marked inside the sentences, not whole sentences.
        marks = [m.text for m in browser.find_elements(By.CSS_SELECTOR, "#highlighted mark")]
        assert marks and all(0 < len(m) < 40 and "." not in m for m in marks), marks
        assert "Model default-" in browser.find_element(By.ID, "model-used").text
        ARTIFACTS.mkdir(exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "page.png"))
        # A word in a negation's scope is the model's term "neg_response": marked as the text's word.
        marked = browser.execute_script(
            "const box = document.createElement('div');"
            "markPhrases(box, 'was not associated with response', new Map([['neg_response', -0.5]]));"
            "return [...box.querySelectorAll('mark')].map((m) => m.textContent);"
        )
        assert marked == ["response"]


def test_the_page_shows_the_stores_evidence_for_a_variant_without_text(
    browser, server, default_model, synth_kb, synth_files
) -> None:
    import pandas as pd
    from selenium.webdriver.common.by import By

    known = pd.read_csv(synth_files["training_variants"], dtype=str).iloc[0]
    with server(default_model, "--kb", str(synth_kb)) as live:
        browser.get(live.url + "/")
        _wait(browser, lambda d: "Model " in d.find_element(By.ID, "model-line").text)
        browser.find_element(By.ID, "gene").send_keys(known["Gene"])
        browser.find_element(By.ID, "variation").send_keys(known["Variation"])
        browser.find_element(By.ID, "submit").click()
        _wait(browser, lambda d: d.find_element(By.ID, "result").is_displayed())
        assert "evidence store" in browser.find_element(By.ID, "text-source").text
        items = browser.find_elements(By.CSS_SELECTOR, "#evidence li")
        assert items and known["Variation"] in items[0].text
        ARTIFACTS.mkdir(exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "page-evidence.png"))


def test_a_maf_uploaded_in_the_page_comes_back_annotated(browser, server, default_model, tmp_path) -> None:
    from selenium.webdriver.common.by import By

    maf = tmp_path / "cohort.maf"
    maf.write_text("#version 2.4\nHugo_Symbol\tVariant_Classification\tHGVSp_Short\n"
                   "BRAF\tMissense_Mutation\tp.V600E\nKRAS\tIntron\t\n", encoding="utf-8")  # fmt: skip
    with server(default_model) as live:
        browser.get(live.url + "/")
        browser.find_element(By.ID, "annotate-file").send_keys(str(maf))
        browser.find_element(By.ID, "annotate-submit").click()
        _wait(browser, lambda d: d.find_element(By.ID, "annotate-link").is_displayed())
        assert "2 rows" in browser.find_element(By.ID, "annotate-summary").text
        link = browser.find_element(By.ID, "annotate-link")
        assert link.get_attribute("download") == "cohort.oncoclass.maf"
        assert link.get_attribute("href").startswith("blob:")


def test_the_page_explains_service_errors_in_words(browser, server, default_model) -> None:
    from selenium.webdriver.common.by import By

    with server(default_model, ONCOCLASS_API_KEY="s3cret") as live:
        browser.get(live.url + "/")
        browser.find_element(By.ID, "gene").send_keys("BRAF")
        browser.find_element(By.ID, "variation").send_keys("V600E")
        browser.find_element(By.ID, "submit").click()
        error = _wait(
            browser,
            lambda d: (
                d.find_element(By.ID, "error") if d.find_element(By.ID, "error").is_displayed() else None
            ),
        )
        assert "API key" in error.text
        ARTIFACTS.mkdir(exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "page-error.png"))


def test_the_report_renders_in_chromium(browser, tmp_path, synth_files) -> None:
    from selenium.webdriver.common.by import By

    from oncoclass import api
    from oncoclass.config import EvaluateConfig, InputSpec

    spec = InputSpec(path=str(synth_files["training_variants"]), text=str(synth_files["training_text"]))
    report = api.evaluate(EvaluateConfig(input=spec, recipes=("lr", "nb"), folds=3))
    out = api.write_report(report, tmp_path / "report.html", title="report in a browser")
    browser.get(out.resolve().as_uri())
    images = browser.find_elements(By.TAG_NAME, "img")
    assert len(images) == 7  # counts, reliability, comparison; per recipe: confusion, coverage–accuracy
    loaded = "return arguments[0].complete && arguments[0].naturalWidth"
    for image in images:
        assert browser.execute_script(loaded, image) > 100
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "report.png"))


def test_the_api_docs_render_every_operation(browser, server, lr_model) -> None:
    """/docs uses the Swagger UI shipped in the package (version 5: it reads the OpenAPI 3.1 schema
    FastAPI writes), under the page's Content-Security-Policy."""
    from selenium.webdriver.common.by import By

    with server(lr_model) as live:
        browser.get(live.url + "/docs")
        _wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) >= 5)
        paths = {e.text for e in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")}
        assert {"/predict", "/predict/batch", "/explain", "/model", "/health"} <= paths
        assert "Unable to render" not in browser.page_source
        ARTIFACTS.mkdir(exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "docs.png"))


def test_a_curator_reviews_in_the_page_and_the_correction_reaches_export_and_training(
    browser, server, fast_model, synth_files, tmp_path, cli
) -> None:
    """The whole loop: an admin queues three statements, a curator signs in on /review, accepts two
    with the keyboard and corrects one, and the correction is in the export and the next model."""
    import json

    import pandas as pd
    from selenium.webdriver.common.by import By

    from oncoclass.kb.store import open_store
    from oncoclass.review.users import add_user

    kb = tmp_path / "kb.sqlite"
    statements = tmp_path / "new.csv"
    pd.DataFrame(
        {
            "gene": ["BRAF", "TP53", "EGFR"],
            "variation": ["V600E", "R175H", "T790M"],
            "text": ["BRAF V600E activates MEK.", "R175H abolishes DNA binding.", "T790M resists."],
        }
    ).to_csv(statements, index=False)
    assert cli(["review", "add", "-m", fast_model, "-i", statements, "--kb", kb]).returncode == 0
    with open_store(kb) as store:
        _, token = add_user(store, "ada", "curator")
    with server(fast_model, "--kb", str(kb)) as live:
        browser.get(live.url + "/review")
        browser.find_element(By.ID, "token").send_keys(token)
        browser.find_element(By.ID, "signin").click()
        _wait(browser, lambda d: d.find_element(By.ID, "item").is_displayed())
        assert "Signed in as ada (curator)" in browser.find_element(By.ID, "who").text
        ARTIFACTS.mkdir(exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "review-page.png"))
        body = browser.find_element(By.TAG_NAME, "body")
        corrected = None
        for step in range(3):
            meta = browser.find_element(By.ID, "item-meta").text
            assert browser.find_elements(By.CSS_SELECTOR, "#choices button.choice")
            if step == 1:  # correct this one to the label ranked second (key 2)
                second = browser.find_elements(By.CSS_SELECTOR, "#choices button.choice")[1]
                corrected = second.get_attribute("data-label")
                body.send_keys("2")
            else:
                body.send_keys("a")
            _wait(browser, lambda d, meta=meta: d.find_element(By.ID, "empty").is_displayed()
                  or d.find_element(By.ID, "item-meta").text != meta)  # fmt: skip
        _wait(browser, lambda d: d.find_element(By.ID, "empty").is_displayed())
        browser.get(live.url + "/review/dashboard")
        _wait(browser, lambda d: d.find_element(By.ID, "stats").is_displayed())
        assert "3 reviewed" in browser.find_element(By.ID, "reviewed").text
        assert "ada" in browser.find_element(By.ID, "by-curator").text
        browser.save_screenshot(str(ARTIFACTS / "review-dashboard.png"))
    out = tmp_path / "reviewed.tsv"
    assert cli(["kb", "export", "--reviewed", "--kb", kb, "--out", out]).returncode == 0
    export = pd.read_csv(out, sep="\t", dtype=str, keep_default_na=False)
    assert len(export) == 3 and corrected in set(export["label"])
    assert (export["label"] != export["model_prediction"]).sum() == 1
    model = tmp_path / "next-model"
    trained = cli(["train", "-m", "fast", "-i", synth_files["training_variants"], "--text",
                       synth_files["training_text"], "--kb", kb, "--reviewed", "-o", model])  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    assert json.loads((model / "metadata.json").read_text())["training"]["reviewed_rows"] == 3
