"""Draw the README's screenshots of the classify page and the held-out report from real data.

    ONCOCLASS_DATA=../shared/data .venv/bin/python docs/screenshots.py [--out docs]

The default recipe is trained on the oldest 80 % of the CIViC 2018-11 export (by evidence ID) and
reported on the newest 20 % (the README's time split, `benchmarks/accuracy.py`); the page is shown
the first item of that held-out set, whatever the model makes of it (no item is picked for looking
good). Needs Debian's Chromium and ChromeDriver (`make browser`). About three minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from accuracy import civic_time_split  # noqa: E402  (the benchmark's split, not a second one)

from oncoclass.data.detect import load_table  # noqa: E402
from oncoclass.data.tables import save_frame  # noqa: E402

EXPORT = "civic/2018-11-08-ClinicalEvidenceSummaries.tsv"


def oncoclass(*args: str | Path) -> None:
    exe = Path(sys.executable).with_name("oncoclass")
    subprocess.run([str(exe), *map(str, args)], check=True, stdout=subprocess.DEVNULL)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def chromium(profile: Path, height: int):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 f"--window-size=1280,{height}", f"--user-data-dir={profile}"):  # fmt: skip
        options.add_argument(flag)
    driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    data = Path(os.environ.get("ONCOCLASS_DATA", ROOT.parent / "shared" / "data"))
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        train, test = civic_time_split(load_table(data / EXPORT))
        save_frame(
            train.drop(columns=[c for c in train.columns if c.startswith("kept:")]), work / "train.csv"
        )
        save_frame(test, work / "test.csv")
        oncoclass("train", "-i", work / "train.csv", "-o", work / "model")
        oncoclass("report", "-m", work / "model", "-i", work / "test.csv", "-o", work / "report.html")

        port = free_port()
        exe = Path(sys.executable).with_name("oncoclass")
        server = subprocess.Popen(
            [str(exe), "serve", "--model", str(work / "model"), "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        browser = chromium(work / "profile", 1800)
        try:
            import httpx

            for _ in range(300):
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.3)
            first = test.iloc[0]
            browser.get(f"http://127.0.0.1:{port}/")
            wait = WebDriverWait(browser, 60)
            wait.until(lambda d: "Model " in d.find_element(By.ID, "model-line").text)
            for field, value in (("gene", first["gene"]), ("variation", first["variation"]),
                                 ("text", first["text"]), ("context", first["context"])):  # fmt: skip
                browser.find_element(By.ID, field).send_keys(value)
            browser.find_element(By.ID, "submit").click()
            wait.until(lambda d: d.find_element(By.ID, "result").is_displayed())
            height = browser.execute_script("return document.body.scrollHeight")
            browser.set_window_size(1280, height + 200)  # the whole result, highlights included
            browser.find_element(By.ID, "result").screenshot(str(args.out / "classify-page.png"))
            print(f"page: CIViC evidence item {first['id']} ({first['gene']} {first['variation']}), "
                  f"labelled {first['label']}")  # fmt: skip

            browser.get((work / "report.html").as_uri())
            matrix = browser.find_element(By.XPATH, "//img[@alt='confusion matrix']/ancestor::div[1]")
            browser.execute_script("arguments[0].scrollIntoView()", matrix)
            matrix.screenshot(str(args.out / "report.png"))
        finally:
            browser.quit()
            server.terminate()
            server.wait(timeout=30)
    print(f"written: {args.out / 'classify-page.png'}, {args.out / 'report.png'}")


if __name__ == "__main__":
    main()
