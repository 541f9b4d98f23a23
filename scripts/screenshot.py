"""Developer tool: screenshot a page of a running app in headless Chromium.

    python scripts/screenshot.py URL OUT.png [WIDTHxHEIGHT] [wait_seconds]
"""
import sys
import time

from selenium import webdriver


def main():
    url, out = sys.argv[1], sys.argv[2]
    size = sys.argv[3] if len(sys.argv) > 3 else "1280x800"
    wait = float(sys.argv[4]) if len(sys.argv) > 4 else 4
    opts = webdriver.ChromeOptions()
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--no-first-run",
                f"--window-size={size.replace('x', ',')}", "--lang=ja"]:
        opts.add_argument(arg)
    opts.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(options=opts)
    try:
        width, height = (int(v) for v in size.split("x"))
        if width < 500:  # desktop windows cannot be this narrow: emulate a phone
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                   {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": True})
        driver.get(url)
        time.sleep(wait)
        driver.save_screenshot(out)
        for entry in driver.get_log("browser"):
            if not any(word in entry["message"] for word in ("tile", "gsi.go.jp", "openstreetmap")):
                print(entry)
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
