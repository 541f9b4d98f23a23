"""Staff create an alert rule at /staff/alerts and send a test mail that a real SMTP server receives."""
from __future__ import annotations

import uuid

import pytest
from selenium.webdriver.common.by import By

from store.users import EDITOR, create_user
from tests.browser_helpers import app_errors, free_port, wait_until
from tests.smtp_helpers import SmtpSink

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"


def log_in(dash_duo, email: str, next_path: str) -> None:
    dash_duo.driver.get(f"{dash_duo.server_url}/login?next={next_path}")
    dash_duo.wait_for_element("input[name=email]", timeout=10).send_keys(email)
    dash_duo.find_element("input[name=password]").send_keys(PASSWORD)
    dash_duo.find_element("form button").click()


def pick(dash_duo, dropdown_id: str, text: str) -> None:
    dash_duo.find_element(f"#{dropdown_id}").click()
    option = wait_until(lambda: next((o for o in dash_duo.find_elements("[role='option']") if text in o.text), None),
                        what=f"option {text}")
    option.click()


def row_texts(dash_duo) -> list[str]:
    """The rule rows' texts in one go (the table re-renders under Selenium's feet)."""
    return dash_duo.driver.execute_script(
        "return [...document.querySelectorAll('.rule-row')].map(r => r.innerText)")


def test_create_a_rule_and_send_a_test_mail(dash_duo, dash_app, app_db, tmp_path_factory):
    from alerts.sender import pump_and_wait
    from worker import Job, JobRunner

    email = f"kaga-{uuid.uuid4().hex[:8]}@example.jp"
    with app_db.session() as s:
        create_user(s, email, PASSWORD, "kaga", EDITOR)
    smtp = SmtpSink().start()
    mail_job = JobRunner([Job("alerts-mail", 0.05, lambda: pump_and_wait(app_db, smtp.url, "alerts@ishikawa.example",
                                                                          wait_s=0.3))])
    try:
        dash_duo.driver.set_window_size(1280, 1300)
        dash_duo.start_server(dash_app, port=free_port())
        # without log-in the page only offers the log-in link
        dash_duo.driver.get(dash_duo.server_url + "/staff/alerts")
        dash_duo.wait_for_element("#staff-alerts-login", timeout=10)
        assert not dash_duo.find_elements("#staff-alerts-form")
        log_in(dash_duo, email, "/staff/alerts")
        dash_duo.wait_for_element("#staff-alerts-form", timeout=15)
        name = f"錦城小 積雪 {uuid.uuid4().hex[:4]}"
        dash_duo.find_element("#staff-alerts-name").send_keys(name)
        pick(dash_duo, "staff-alerts-sensor-id", "snow-kaga-01")
        dash_duo.find_element("#staff-alerts-threshold").send_keys("40")
        dash_duo.find_element("#staff-alerts-clear-threshold").send_keys("30")
        dash_duo.find_element("#staff-alerts-recipients").send_keys("duty@kaga.example.jp")
        dash_duo.find_element("#staff-alerts-save").click()
        dash_duo.wait_for_contains_text("#staff-alerts-message", "保存しました", timeout=10)
        row = wait_until(lambda: next((r for r in dash_duo.find_elements(".rule-row") if name in r.text), None),
                         what="rule row")
        assert "積雪深 > 40 / 解除 30" in row.text and email in row.text
        # preview, then a test mail to the address in the field
        dash_duo.find_element("#staff-alerts-preview").click()
        dash_duo.wait_for_contains_text("#staff-alerts-preview-subject", f"[{name}]", timeout=10)
        to = dash_duo.find_element("#staff-alerts-test-to")
        assert to.get_attribute("value") == email
        dash_duo.clear_input(to)
        to.send_keys("tester@kaga.example.jp")
        mail_job.start()
        dash_duo.find_element("#staff-alerts-test").click()
        dash_duo.wait_for_contains_text("#staff-alerts-message", "tester@kaga.example.jp", timeout=10)
        msg = wait_until(lambda: next((m for m in smtp.messages if m["To"] == "tester@kaga.example.jp"), None),
                         timeout=15, what="test mail at the SMTP server")
        assert msg["Subject"].startswith(f"[いしかわマップ][テスト][{name}] 加賀市 加賀市立錦城小学校:")
        body = SmtpSink.text(msg)
        assert "テストメール" in body and "積雪深 > 40cm" in body and "/?lat=36.30774&lon=136.30819&z=15" in body
        # pause, then delete
        row.find_element(By.CSS_SELECTOR, "button[id*='staff-alerts-pause']").click()
        wait_until(lambda: any(name in r and "一時停止中" in r and "再開" in r for r in row_texts(dash_duo)),
                   what="paused badge")
        row = next(r for r in dash_duo.find_elements(".rule-row") if name in r.text)
        row.find_element(By.CSS_SELECTOR, "button[id*='staff-alerts-delete']").click()
        wait_until(lambda: not any(name in r for r in row_texts(dash_duo)), what="row gone")
        # the history page lists the test event and the mail
        dash_duo.driver.get(dash_duo.server_url + "/staff/alerts/history")
        dash_duo.wait_for_element("#staff-history-table", timeout=15)
        table = dash_duo.find_element("#staff-history-table").text
        assert name in table and "tester@kaga.example.jp" in table
        pick(dash_duo, "staff-history-kind", "メール")
        wait_until(lambda: "kind=mail" in dash_duo.find_element("#staff-history-csv").get_attribute("href"),
                   what="CSV link follows the filter")
        types = dash_duo.driver.execute_script(
            "return [...document.querySelectorAll('#staff-history-table tbody tr')].map(r => r.cells[1].innerText)")
        assert types and set(types) == {"メール"}
        shots = tmp_path_factory.mktemp("screenshots")
        dash_duo.driver.save_screenshot(str(shots / "alerts_history.png"))
        assert not app_errors(dash_duo)
    finally:
        mail_job.stop()
        smtp.stop()
