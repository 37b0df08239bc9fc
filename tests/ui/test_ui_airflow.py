"""Proof in the real Airflow UI: the Sentry connection form, its Test button and the release extra link.

One real Airflow (api-server, scheduler, dag-processor, triggerer; SQLite; loopback only) and one
Sentry emulator serve the whole module; headless Chromium drives the React UI over the DevTools
protocol. Screenshots go to ``artifacts/ui/`` (gitignored) for a human to look at.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("websockets", reason="the UI test drives Chromium over CDP with the websockets package")

from airflow_provider_sentry.get_provider_info import get_provider_info
from airflow_provider_sentry.testing import SentryEmulator
from tests.ui.ui_airflow_stack import VENV_BIN, AirflowStack
from tests.ui.ui_cdp_browser import CHROMIUM, CdpError, Chromium

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "ui"
DAG_ID = "sentry_ui_proof"
TASK_ID = "create_release"
VERSION = "ui-proof-1.0"
TEST_SCOPES = ("org:read", "project:releases")
DAG_SOURCE = f'''"""Written by tests/ui/test_ui_airflow.py: one release, so the task page shows the release link."""
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_sentry.operators.releases import CreateReleaseOperator

with DAG("{DAG_ID}", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    CreateReleaseOperator(task_id="{TASK_ID}", version="{VERSION}", projects=["backend"])
'''

pytestmark = [
    pytest.mark.ui,
    pytest.mark.timeout(300),
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing; run scripts/install-chromium.sh to enable the UI test"
    ),
    pytest.mark.skipif(not (VENV_BIN / "airflow").exists(), reason=f"no airflow executable in {VENV_BIN}"),
]


def _release_operator_missing() -> str | None:
    """Why the extra-link check cannot run yet, or None when CreateReleaseOperator exists."""
    try:
        from airflow_provider_sentry.links import SentryReleaseLink
        from airflow_provider_sentry.operators.releases import CreateReleaseOperator
    except ImportError as exc:
        return f"CreateReleaseOperator / SentryReleaseLink not importable yet ({exc})"
    if not any(isinstance(link, SentryReleaseLink) for link in CreateReleaseOperator.operator_extra_links):
        return "CreateReleaseOperator does not declare SentryReleaseLink in operator_extra_links yet"
    return None


@dataclass
class UiEnv:
    """Everything the module's tests share; built once by the ``ui`` fixture."""

    stack: AirflowStack
    emulator: SentryEmulator
    browser: Chromium
    test_token: str
    run_id: str | None
    timings: dict[str, float] = field(default_factory=dict)

    def open(self, path: str, ready_js: str, timeout: float = 30.0) -> None:
        """Load a UI page with the admin's JWT cookie and wait until ``ready_js`` is truthy."""
        self.browser.navigate(self.stack.url + path)
        try:
            self.browser.wait_for(f"!!({ready_js})", timeout, f"{path}: {ready_js}")
        except CdpError as exc:
            shot = self.shot(f"failed-{path.strip('/').split('/')[0] or 'home'}.png")
            where = self.browser.evaluate("location.href")
            raise CdpError(
                f"{exc}\nat {where}, screenshot {shot}\npage text: {self.browser.body_text()[:800]}"
            ) from None

    def shot(self, name: str) -> Path:
        return self.browser.screenshot(ARTIFACTS / name)


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiEnv]:
    started = time.monotonic()
    root = tmp_path_factory.mktemp("ui-airflow")
    dags = root / "dags"
    dags.mkdir()
    if _release_operator_missing() is None:
        (dags / "sentry_ui_proof.py").write_text(DAG_SOURCE)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for stale in ARTIFACTS.glob("failed-*.png"):
        stale.unlink()
    timings: dict[str, float] = {}
    with SentryEmulator(organization="acme", projects=("backend", "frontend")) as emulator:
        stack = AirflowStack(home=root / "home", dags_folder=dags)
        browser = Chromium()
        try:
            stack.migrate()
            timings["db_migrate_s"] = time.monotonic() - started
            stack.start()
            timings["stack_healthy_after_start_s"] = stack.wait_healthy(timeout=120)
            browser.start()
            browser.set_cookie(stack.url, "_token", stack.token)
            extra = json.dumps({"organization": emulator.organization})
            stack.request(
                "POST",
                "/api/v2/connections",
                {
                    "connection_id": "sentry_default",
                    "conn_type": "sentry",
                    "host": emulator.url,
                    "password": emulator.token,
                    "extra": extra,
                },
            )
            # A second connection, with a narrower token, for the Test button. Its port is 0, not empty:
            # the 3.3.2 UI tests a stored connection with `port: Number(port)`, i.e. 0 for NULL, and the
            # API then refuses ("host or port ... differs from the stored connection", apache/airflow#73298).
            test_token = emulator.add_token(TEST_SCOPES)
            stack.request(
                "POST",
                "/api/v2/connections",
                {
                    "connection_id": "sentry_ui_test",
                    "conn_type": "sentry",
                    "host": emulator.url,
                    "port": 0,
                    "password": test_token,
                    "extra": extra,
                },
            )
            run_id = _trigger_dag(stack) if _release_operator_missing() is None else None
            timings["fixture_ready_s"] = time.monotonic() - started
            yield UiEnv(stack, emulator, browser, test_token, run_id, timings)
        finally:
            stopping = time.monotonic()
            browser.stop()
            stack.stop(grace=10.0)
            timings["teardown_s"] = time.monotonic() - stopping
            timings["module_total_s"] = time.monotonic() - started
            (ARTIFACTS / "timings.json").write_text(json.dumps(timings, indent=2) + "\n")


def _trigger_dag(stack: AirflowStack, timeout: float = 60.0) -> str:
    """Unpause the DAG and start a run (the dag-processor may need a moment to serialize it)."""
    deadline = time.monotonic() + timeout
    while True:
        dags = stack.request("GET", "/api/v2/dags?dag_id_pattern=" + DAG_ID)
        if any(d["dag_id"] == DAG_ID for d in dags["dags"]):
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"{DAG_ID} was never parsed\n{stack.log_tail()}")
        time.sleep(0.5)
    stack.request("PATCH", f"/api/v2/dags/{DAG_ID}", {"is_paused": False})
    run = stack.request("POST", f"/api/v2/dags/{DAG_ID}/dagRuns", {"logical_date": None})
    return str(run["dag_run_id"])


def _button(text: str) -> str:
    return f"Array.from(document.querySelectorAll('button')).find(b => b.innerText.trim() === {json.dumps(text)})"


def _row_button(connection_id: str, label: str) -> str:
    row = f"Array.from(document.querySelectorAll('tr')).find(r => r.innerText.includes({json.dumps(connection_id)}))"
    return f"{row}?.querySelector('button[aria-label={json.dumps(label)}]')"


def _dialog_input(name: str) -> str:
    return f"document.querySelector('[role=dialog] input[name={json.dumps(name)}]')"


def _toasts(ui: UiEnv) -> list[str]:
    return list(
        ui.browser.evaluate(
            "Array.from(document.querySelectorAll('[data-scope=toast][data-part=root]')).map(t => t.innerText)"
        )
        or []
    )


def _choose_connection_type(ui: UiEnv, hook_name: str, attempts: int = 3) -> None:
    """Type into the Connection Type combobox and click the option (the list loads hook_meta first)."""
    browser = ui.browser
    combobox = "document.querySelector('[role=dialog] input[role=combobox]')"
    option = (
        "Array.from(document.querySelectorAll('[role=option]'))"
        f".find(o => o.innerText.trim() === {json.dumps(hook_name)})"
    )
    for attempt in range(1, attempts + 1):
        browser.click(combobox)
        browser.evaluate(f"{combobox}.select()")
        browser.type_text(hook_name[:-1])
        try:
            browser.wait_for(f"!!{option}", timeout=8, what=f"the {hook_name!r} option")
        except CdpError:
            if attempt == attempts:
                shot = ui.shot("failed-connection-type.png")
                raise CdpError(
                    f"no {hook_name!r} option after {attempts} tries; combobox value "
                    f"{browser.evaluate(f'{combobox}.value')!r}, screenshot {shot}"
                ) from None
            continue  # click the combobox again; select() makes the new text replace the old
        browser.click(option, what=f"the {hook_name!r} option")
        return


def _sentry_form_behaviour() -> dict[str, Any]:
    (conn_type,) = [c for c in get_provider_info()["connection-types"] if c["connection-type"] == "sentry"]
    return dict(conn_type["ui-field-behaviour"])


def test_add_connection_form_offers_sentry_with_its_fields(ui: UiEnv) -> None:
    """Admin > Connections > Add: type "Sentry", relabelled host/password, the organization field; save."""
    behaviour = _sentry_form_behaviour()
    password_label = behaviour["relabeling"]["password"]
    browser = ui.browser
    ui.open("/connections", _button("Add Connection"))
    browser.click_until(_button("Add Connection"), _dialog_input("connection_id"))
    browser.click(_dialog_input("connection_id"))
    browser.type_text("sentry_ui_form")
    assert browser.evaluate(f"{_dialog_input('connection_id')}.value") == "sentry_ui_form"
    _choose_connection_type(ui, "Sentry")
    browser.wait_for_text("Sentry base URL")

    labels = browser.evaluate("Array.from(document.querySelectorAll('[role=dialog] label')).map(l => l.innerText)")
    labels = [" ".join(label.replace("*", "").split()) for label in labels]
    assert "Sentry base URL" in labels
    assert password_label in labels
    for hidden in ("Host", "Login", "Port", "Schema", "Password"):
        assert hidden not in labels, f"{hidden!r} should be hidden or relabelled, labels: {labels}"
    host = browser.evaluate(f"{_dialog_input('host')}.placeholder")
    assert host == behaviour["placeholders"]["host"]
    ui.shot("01-add-connection-sentry-standard-fields.png")

    browser.click(_dialog_input("host"))
    browser.type_text(ui.emulator.url)
    browser.click(_dialog_input("password"))
    browser.type_text(ui.emulator.token)
    assert browser.evaluate(f"{_dialog_input('host')}.value") == ui.emulator.url
    assert browser.evaluate(f"{_dialog_input('password')}.value") == ui.emulator.token
    browser.click(_button("Extra Fields"))
    browser.wait_for_text("Organization slug")
    browser.click(_dialog_input("element_organization"))
    browser.type_text(ui.emulator.organization)
    assert browser.evaluate(f"{_dialog_input('element_organization')}.value") == ui.emulator.organization
    ui.shot("02-add-connection-sentry-extra-fields.png")
    assert ui.emulator.token not in browser.body_text()

    browser.click(_button("Save"))
    browser.wait_for_text("Connection has been successfully created")
    saved = ui.stack.request("GET", "/api/v2/connections/sentry_ui_form")
    assert saved["conn_type"] == "sentry"
    assert saved["host"] == ui.emulator.url
    assert saved["password"] == "***"
    assert json.loads(saved["extra"])["organization"] == ui.emulator.organization


def test_connection_saved_by_the_form_passes_the_connection_test(ui: UiEnv) -> None:
    """What the 3.3 form stores (every conn-field, null when left empty) must work with the hook."""
    saved = ui.stack.request("GET", "/api/v2/connections/sentry_ui_form")
    # No port and no password in the body: the API tests the stored connection with its stored secret.
    answer = ui.stack.request(
        "POST",
        "/api/v2/connections/test",
        {"connection_id": "sentry_ui_form", "conn_type": "sentry", "host": saved["host"], "extra": saved["extra"]},
    )
    assert answer["status"] is True, answer["message"]
    assert answer["message"].startswith(f"Connected to Sentry at {ui.emulator.url}; scopes: ")


def test_test_button_reports_the_scopes_from_sentry(ui: UiEnv) -> None:
    """The connection list's Test button runs SentryHook.test_connection in the api-server."""
    browser = ui.browser
    ui.open("/connections", _row_button("sentry_ui_test", "Test Connection"))
    browser.click_until(
        _row_button("sentry_ui_test", "Test Connection"),
        "document.body.innerText.includes('Test Connection Successful')",
        wait=10,
    )
    expected = f"Connected to Sentry at {ui.emulator.url}; scopes: {', '.join(sorted(TEST_SCOPES))}"
    toasts = _toasts(ui)
    assert any(expected in " ".join(t.split()) for t in toasts), toasts
    ui.shot("03-test-connection-scopes.png")
    assert ui.test_token not in browser.body_text()
    assert [r.path for r in ui.emulator.requests if r.path.rstrip("/") == "/api/0"]


def test_release_extra_link_points_at_the_release(ui: UiEnv) -> None:
    """After a real DAG run, the task's "Sentry release" link (REST and UI) opens the release page."""
    missing = _release_operator_missing()
    if missing:
        pytest.skip(missing)
    assert ui.run_id is not None
    stack = ui.stack
    run_path = f"/api/v2/dags/{DAG_ID}/dagRuns/{urllib.parse.quote(ui.run_id, safe='')}"
    deadline = time.monotonic() + 90
    state = None
    while time.monotonic() < deadline:
        state = stack.request("GET", run_path)["state"]
        if state in ("success", "failed"):
            break
        time.sleep(0.5)
    assert state == "success", f"DAG run ended {state}\n{stack.log_tail()}"
    expected = f"{ui.emulator.url}/organizations/{ui.emulator.organization}/releases/{VERSION}/"

    links = stack.request("GET", f"{run_path}/taskInstances/{TASK_ID}/links")
    assert links["extra_links"] == {"Sentry release": expected}
    assert [r["version"] for r in ui.emulator.releases] == [VERSION]

    anchor = "Array.from(document.querySelectorAll('a')).find(a => a.innerText.trim() === 'Sentry release')"
    ui.open(
        f"/dags/{DAG_ID}/runs/{urllib.parse.quote(ui.run_id, safe='')}/tasks/{TASK_ID}/details",
        anchor,
    )
    assert ui.browser.evaluate(f"{anchor}.getAttribute('href')") == expected
    ui.shot("04-task-details-sentry-release-link.png")


def _switch_state(ui: UiEnv, label: str) -> dict[str, Any]:
    """The form control labelled ``label`` in the open dialog: its checked state, as drawn."""
    script = f"""(() => {{
        const dialog = document.querySelector('[role=dialog]');
        const labels = Array.from(dialog.querySelectorAll('label, span, p, div'))
            .filter(e => e.childElementCount === 0 && e.innerText && e.innerText.trim().startsWith({json.dumps(label)}));
        if (!labels.length) return null;
        let node = labels[0];
        for (let i = 0; i < 8 && node; i++) {{
            const input = node.querySelector && node.querySelector('input[type=checkbox]');
            if (input) {{
                const control = input.closest('label') || input.parentElement;
                const stateEl = control.querySelector('[data-state]');
                return {{name: input.name, checked: input.checked,
                         state: stateEl ? stateEl.getAttribute('data-state') : null,
                         html: control.outerHTML.slice(0, 600)}};
            }}
            node = node.parentElement;
        }}
        return {{html: labels[0].parentElement.parentElement.outerHTML.slice(0, 1500)}};
    }})()"""
    return dict(ui.browser.evaluate(script) or {})


def _open_extra_fields(ui: UiEnv) -> None:
    """Expand "Extra Fields" unless the UI remembered it expanded (its first field is the organization)."""
    shown = "document.querySelector('[role=dialog]').innerText.includes('Organization slug')"
    if not ui.browser.evaluate(shown):
        ui.browser.click_until(_button("Extra Fields"), shown)


TLS_LABEL = "Skip TLS verification"


def _close_dialog(ui: UiEnv) -> None:
    close = "document.querySelector('[role=dialog] button[aria-label=Close]')"
    if ui.browser.evaluate(f"!!{close}"):
        ui.browser.click_until(close, "!document.querySelector('[role=dialog]')")
    else:
        ui.browser.press("Escape")
        ui.browser.wait_for("!document.querySelector('[role=dialog]')", 10, "the dialog to close")


def test_the_tls_switch_shows_that_tls_is_verified(ui: UiEnv) -> None:
    """Issue 11, case 14: the form draws a stored null as "off", so the switch is inverted: off = verified.

    New form: off. A connection saved with ``skip_tls_verify: null`` (what the 3.3 form stores when the
    switch is left alone) and one with no such key: off, and the hook verifies TLS for both. A
    connection that skips: on."""
    from airflow_provider_sentry.core.settings import SentrySettings

    browser = ui.browser
    ui.open("/connections", _button("Add Connection"))
    browser.click_until(_button("Add Connection"), _dialog_input("connection_id"))
    _choose_connection_type(ui, "Sentry")
    browser.wait_for_text("Sentry base URL")
    _open_extra_fields(ui)
    new = _switch_state(ui, TLS_LABEL)
    assert (new.get("name"), new.get("checked"), new.get("state")) == ("element_skip_tls_verify", False, "unchecked")
    assert "Verify TLS" not in browser.body_text()
    ui.shot("05-tls-switch-new-connection.png")
    _close_dialog(ui)

    extras: dict[str, dict[str, Any]] = {
        "sentry_tls_null": {"organization": "acme", "skip_tls_verify": None},
        "sentry_tls_absent": {"organization": "acme"},
        "sentry_tls_skip": {"organization": "acme", "skip_tls_verify": True},
    }
    for conn_id, extra in extras.items():
        ui.stack.request("POST", "/api/v2/connections", {"connection_id": conn_id, "conn_type": "sentry",
                         "host": "https://sentry.example.com", "password": "x" * 12, "extra": json.dumps(extra)})  # fmt: skip
    for conn_id, extra in extras.items():
        ui.open(
            "/connections", f"{_row_button(conn_id, 'Edit Connection')} && !document.querySelector('[role=dialog]')"
        )
        browser.click_until(_row_button(conn_id, "Edit Connection"), _dialog_input("connection_id"))
        browser.wait_for_text("Sentry base URL")
        _open_extra_fields(ui)
        dialog_text = browser.evaluate("document.querySelector('[role=dialog]').innerText")
        if "skip_tls_verify" in extra:
            drawn = _switch_state(ui, TLS_LABEL)
        else:  # the 3.3 edit form draws only the extra fields the stored extra holds: no key, no switch
            assert TLS_LABEL not in dialog_text
            drawn = {"checked": False, "state": "unchecked"}
        settings = SentrySettings.from_connection(conn_id, host="https://sentry.example.com", password="x" * 12,
                                                  extra=extra)  # fmt: skip
        verified = settings.verify is True
        assert drawn.get("checked") is (not verified), (conn_id, drawn)
        assert drawn.get("state") == ("unchecked" if verified else "checked"), (conn_id, drawn)
        ui.shot(f"06-tls-switch-{conn_id}.png")
        _close_dialog(ui)
