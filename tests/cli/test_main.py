from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from engine.cli.main import main
from engine.kernel.accounts import password_matches, token_digest
from engine.kernel.settings import Settings
from engine.store.schema import customer_figures, customers
from engine.wiring import open_casework
from engine.workflows.registry import table_files
from tests.fixtures import CDNOW, ROOT, tier_table

AGENT = ["--actor", "ann", "--role", "agent"]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "workflows", tmp_path / "workflows")
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    return tmp_path


@pytest.fixture
def run(home: Path, database_url: str) -> Any:
    def invoke(*args: str) -> Result:
        env = {"CASEWORK_DATABASE_URL": database_url, "CASEWORK_NOW": "2026-03-02T09:00:00Z"}
        return CliRunner().invoke(main, [*args, "--home", str(home)], env=env)

    for table in table_files(home):
        published = invoke("rules", "publish", str(table))
        assert published.exit_code == 0, published.output
    return invoke


def started(run: Any) -> int:
    run("customers", "add", "C1")  # the first time; after that it exists, which changes nothing
    for name, role in (("ann", "agent"), ("max", "manager"), ("zoe", "auditor")):
        run("users", "add", name, "--role", role)  # likewise: once
    result = run("cases", "start", "complaint", "--field", "channel=phone",
                 "--field", "summary=Invoice wrong", "--customer", "C1", *AGENT, "--json")
    assert result.exit_code == 0, result.output
    return int(json.loads(result.stdout)["id"])


def case_and_history(run: Any, case_id: int) -> tuple[dict[str, Any], list[Any]]:
    shown = run("cases", "show", str(case_id), "--json")
    history = run("cases", "history", str(case_id), "--json")
    return json.loads(shown.stdout), json.loads(history.stdout)


def test_start_fire_show_and_history_as_json(run: Any) -> None:
    case_id = started(run)
    fired = run("cases", "fire", str(case_id), "triage", *AGENT, "--field", "category=billing",
                "--json")
    assert fired.exit_code == 0, fired.output
    case = json.loads(fired.stdout)
    assert {k: case[k] for k in ("id", "workflow", "version", "state")} == \
        {"id": case_id, "workflow": "complaint", "version": 7, "state": "in_progress"}
    assert (case["fields"]["category"], case["queue"]) == ("billing", "billing")
    shown, history = case_and_history(run, case_id)
    assert shown == case
    assert [(c["name"], c["status"], c["target_hours"]) for c in shown["sla"]] == [
        ("first_reply", "running", 16.0), ("resolution", "running", 80.0)]
    # the targets are decided at intake; triage routes, and leaves them as severity and tier are
    assert [e["name"] for e in history] == [
        "case.created", "rule.decided", "case.mail_skipped", "sla.started", "sla.started",
        "case.transitioned", "rule.decided", "case.field_changed", "case.assigned"]
    assert [e["payload"]["table"] for e in (history[1], history[6])] == [
        "complaint_sla", "complaint_routing"]
    assert history[4]["at"] == "2026-03-02T09:00:00Z"


@pytest.mark.parametrize(("args", "code", "says"), [
    (["triage", "--actor", "max", "--role", "manager"], 2, "role 'manager' may not fire it"),
    (["triage", "--actor", "zoe", "--role", "auditor"], 2, "role 'auditor' is read-only"),
    (["triag", *AGENT], 2, "did you mean 'triage'?"),
    (["resolve", *AGENT, "--field", "resolution=x"], 2, "is in state 'received'"),
    (["triage", *AGENT, "--field", "severity=urgent"], 2, "'urgent' is not one of"),
    (["triage", *AGENT, "--field", "category=billing", "--if-version", "7"], 3,
     "expected version 7, now at version 1"),
])
def test_refusals_exit_non_zero_and_change_nothing(run: Any, args: list[str], code: int,
                                                   says: str) -> None:
    case_id = started(run)
    before = case_and_history(run, case_id)
    result = run("cases", "fire", str(case_id), *args)
    assert result.exit_code == code
    assert says in result.stderr
    assert case_and_history(run, case_id) == before


@pytest.mark.parametrize(("who", "says"), [
    (["--actor", "nobody", "--role", "agent"],
     "there is no user 'nobody'; add one (casework users add nobody --role agent) or act as "
     "the operator (--as-operator)"),
    (["--actor", "ann", "--role", "supervisor"],
     "user 'ann' does not hold role 'supervisor' (holds: agent)"),
    (["--role", "agent"], "say who acts: --actor NAME"),
    (["--actor", "ann", "--role", "agent", "--as-operator"],
     "--as-operator acts as 'operator'; leave out --actor ann"),
])
def test_the_actor_must_be_a_user_in_a_role_they_hold(run: Any, who: list[str],
                                                      says: str) -> None:
    case_id = started(run)
    before = case_and_history(run, case_id)
    fired = run("cases", "fire", str(case_id), "triage", *who, "--field", "category=billing")
    assert (fired.exit_code, says in fired.stderr) == (2, True), fired.stderr
    assert case_and_history(run, case_id) == before
    opened = run("cases", "start", "complaint", "--field", "channel=phone", "--field",
                 "summary=s", "--customer", "C1", *who)
    assert (opened.exit_code, says in opened.stderr) == (2, True), opened.stderr


def test_the_operator_acts_on_their_own_authority_and_history_says_so(run: Any) -> None:
    run("customers", "add", "C1")
    opened = run("cases", "start", "complaint", "--field", "channel=phone", "--field",
                 "summary=s", "--customer", "C1", "--role", "agent", "--as-operator", "--json")
    assert opened.exit_code == 0, opened.output
    case_id = json.loads(opened.stdout)["id"]
    fired = run("cases", "fire", str(case_id), "triage", "--role", "agent", "--as-operator",
                "--field", "category=billing")
    assert fired.exit_code == 0, fired.output
    history = case_and_history(run, case_id)[1]
    assert {(e["actor"], e["role"], e["payload"].get("operator")) for e in history} == {
        ("operator", "agent", True)}
    refused = run("cases", "fire", str(case_id), "resolve", "--role", "auditor",
                  "--as-operator")  # the role still counts
    assert refused.exit_code == 2 and "role 'auditor' is read-only" in refused.stderr


def test_users_notifications_shows_and_changes_which_kinds_are_mailed(run: Any) -> None:
    assert run("users", "add", "ann", "--role", "agent").exit_code == 0
    assert run("users", "notifications", "ann").stdout.splitlines() == [
        "assigned: email and app", "mentioned: app only", "sla_warning: email and app",
        "sla_breach: email and app"]
    changed = run("users", "notifications", "ann", "--email", "mentioned", "--no-email",
                  "sla_warning", "--no-email", "assigned")
    assert changed.exit_code == 0
    assert changed.stdout.splitlines() == [
        "assigned: app only", "mentioned: email and app", "sla_warning: app only",
        "sla_breach: email and app"]
    assert "app only" in run("users", "notifications", "ann").stdout.splitlines()[0]
    both = run("users", "notifications", "ann", "--email", "assigned", "--no-email", "assigned")
    assert both.exit_code == 2 and "both name assigned" in both.stderr
    unknown = run("users", "notifications", "nobody")
    assert unknown.exit_code == 2 and "there is no user 'nobody'" in unknown.stderr


def test_users_list_as_a_table_and_as_json(run: Any) -> None:
    assert run("users", "add", "ann", "--role", "agent", "--role", "supervisor",
               "--display-name", "Ann Agent", "--email", "ann@example.com").exit_code == 0
    assert run("users", "add", "kim", "--role", "account_manager").exit_code == 0
    listed = json.loads(run("users", "list", "--json").stdout)
    assert listed == [
        {"name": "ann", "roles": ["agent", "supervisor"], "display_name": "Ann Agent",
         "email": "ann@example.com", "active": True},
        {"name": "kim", "roles": ["account_manager"], "display_name": None, "email": None,
         "active": True}]
    assert [u["name"] for u in json.loads(run("users", "list", "--role", "supervisor",
                                              "--json").stdout)] == ["ann"]
    table = run("users", "list").stdout
    assert "2 user(s)" in table
    ann = next(line for line in table.splitlines() if " ann " in line)
    assert ("agent, supervisor" in ann and "Ann Agent" in ann and "ann@example.com" in ann
            and "yes" in ann)


def test_an_unknown_case_is_a_clear_error(run: Any) -> None:
    result = run("cases", "show", "404")
    assert result.exit_code == 2
    assert "case 404 does not exist" in result.stderr


def test_check_accepts_the_shipped_definitions(run: Any) -> None:
    result = run("check")
    assert result.exit_code == 0
    assert "ok: 7 workflow(s), 6 decision table(s)" in result.stdout


def test_check_reads_the_notice_template_and_the_calendars(run: Any, home: Path) -> None:
    (home / "rules" / "notices").mkdir()
    template = home / "rules" / "notices" / "sla_escalation.txt"
    template.write_text("Case {{ case.id }} is late\n\n{% if level %}level {{ level }}\n")
    calendars = home / "rules" / "calendars.yaml"
    calendars.write_text(calendars.read_text().replace("timezone: Europe/Berlin",
                                                       "timezone: Europe/Berln", 1))
    result = run("check")
    assert result.exit_code == 1
    assert f"{template}:3: Unexpected end of template" in result.stdout
    assert f"{calendars}:25: calendar 'office': unknown time zone 'Europe/Berln'; did you mean " \
           "'Europe/Berlin'?" in result.stdout


def test_check_names_a_tier_table_without_the_managed_tiers(run: Any, home: Path) -> None:
    path = home / "rules" / "customer_tier.yaml"
    path.write_text(tier_table("[strategic, key_account, ordinary]", 1, key="key_account"))
    result = run("check")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == (
        f"{path}:17: table 'customer_tier' must decide the managed tiers strategic, key, but "
        "its 'tier' values are strategic, key_account, ordinary; add key (annual cycles are "
        "opened for the managed tiers)")


def test_check_lists_every_problem_with_file_and_line(run: Any, home: Path) -> None:
    text = (home / "workflows" / "complaint.yaml").read_text()
    text = text.replace("to: resolved\n", "to: resolvd\n").replace("roles: [agent, supervisor]\n"
                                                                  "    needs: [question]",
                                                                  "roles: [agnt]\n"
                                                                  "    needs: [question]")
    (home / "workflows" / "complaint.yaml").write_text(text)
    (home / "rules" / "broken.yaml").write_text("table: x\nrules: [\n")
    result = run("check")
    assert result.exit_code == 1
    path = home / "workflows" / "complaint.yaml"
    lines = text.splitlines()
    resolvd = next(i for i, line in enumerate(lines, 1) if "resolvd" in line)
    agnt = next(i for i, line in enumerate(lines, 1) if "agnt" in line)
    assert f"{path}:{resolvd}: transition 'resolve' targets unknown state 'resolvd'; " \
           "did you mean 'resolved'?" in result.stdout
    assert f"{path}:{agnt}: transition 'ask_customer' names unknown role 'agnt'; " \
           "did you mean 'agent'?" in result.stdout
    assert f"{home / 'rules' / 'broken.yaml'}:3: not valid YAML" in result.stdout


def test_changed_content_under_a_stored_version_is_refused(run: Any, home: Path) -> None:
    started(run)
    path = home / "workflows" / "complaint.yaml"
    path.write_text(path.read_text().replace("title: Customer complaint", "title: Complaint"))
    result = run("cases", "start", "complaint", "--field", "channel=web", "--field",
                 "summary=s", "--customer", "C1", *AGENT)
    assert result.exit_code == 1
    assert "set 'version: 8' to publish the change" in result.stderr
    path.write_text(path.read_text().replace("version: 7", "version: 8"))
    assert started(run) == 2
    assert run("cases", "show", "2", "--json").stdout.count('"version": 8') == 1


def edit_history(database_url: str, statement: str) -> None:
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("DROP TRIGGER IF EXISTS events_no_update")
            connection.exec_driver_sql("DROP TRIGGER IF EXISTS events_no_delete")
        else:
            connection.exec_driver_sql("ALTER TABLE events DISABLE TRIGGER events_append_only")
        connection.exec_driver_sql(statement)
    engine.dispose()


@pytest.mark.parametrize(("statement", "says"), [
    ("UPDATE events SET actor = 'mallory' WHERE case_id = 1 AND seq = 6",
     "case 1: event 6: 'case.transitioned' was altered"),
    ("DELETE FROM events WHERE case_id = 1 AND seq = 2", "case 1: event 2: event 2 is missing"),
    ("DELETE FROM events WHERE case_id = 1 AND seq = 9",
     "case 1: event 9: the case records 9 events but 8 are stored"),
    # a swap of events 2 and 3, through free numbers because (case, seq) is unique
    ("UPDATE events SET seq = seq + 100 WHERE case_id = 1 AND seq IN (2, 3); "
     "UPDATE events SET seq = 105 - seq WHERE case_id = 1 AND seq IN (102, 103)",
     "case 1: event 2: does not link"),
])
def test_audit_verify_finds_an_edited_history(run: Any, database_url: str, statement: str,
                                              says: str) -> None:
    first, second = started(run), started(run)
    for case_id in (first, second):
        assert run("cases", "fire", str(case_id), "triage", *AGENT, "--field",
                   "category=billing").exit_code == 0
    intact = run("audit", "verify")
    assert (intact.exit_code, intact.stdout.splitlines()[-1]) == (
        0, "ok: 2 case and 0 customer histories intact")
    for part in statement.split("; "):
        edit_history(database_url, part)
    broken = run("audit", "verify")
    assert broken.exit_code == 1
    assert says in broken.stdout
    assert "case 2" not in broken.stdout
    assert "1 of 2 case and 0 customer histories are damaged" in broken.stderr


def test_commands_refuse_a_database_that_is_not_migrated(home: Path, tmp_path: Path) -> None:
    env = {"CASEWORK_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}
    result = CliRunner().invoke(main, ["cases", "show", "1", "--home", str(home)], env=env)
    assert result.exit_code == 1
    assert "run `casework db upgrade` first" in result.stderr
    upgraded = CliRunner().invoke(main, ["db", "upgrade", "--home", str(home)], env=env)
    assert upgraded.exit_code == 0, upgraded.output


def test_the_demo_runs_as_an_operator_would_start_it(home: Path) -> None:
    """The real console script in a fresh folder, on the embedded SQLite default: it sets
    everything up, serves the pages, and a printed demo login signs in."""
    script = Path(sys.executable).parent / "casework"
    env = {"PATH": str(script.parent), "HOME": str(home)}
    port = free_port()
    server = subprocess.Popen([str(script), "demo", "--port", str(port)], cwd=home, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        printed = []
        assert server.stdout is not None
        for line in server.stdout:
            printed.append(line)
            if line.startswith("sign in at"):
                break
        stdout = "".join(printed)
        assert f"sign in at http://127.0.0.1:{port}/ as alice / alice-demo (agent)" in stdout, \
            stdout + (server.stderr.read() if server.poll() is not None and server.stderr else "")
        assert "demo customers (CDNOW sample): 2357 customers, 6919 purchases" in stdout
        assert "demo complaints opened: 36" in stdout
        assert "tiers as of 1998-06-30: key=719, ordinary=1626, strategic=12; cases opened: " \
            "key_plan=719, nps_survey=731, retention=298, strategic_plan=12" in stdout
        assert "annual cycles opened for 1998: 731" in stdout
        assert "history of 2528 case(s) and 2357 customer(s) verified: intact" in stdout
        signed_in = sign_in(f"http://127.0.0.1:{port}", "alice", "alice-demo")
        assert signed_in.status_code == 200
        assert "Queues" in signed_in.text and "intake" in signed_in.text
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=30)  # reads and closes both pipes
    assert server.returncode == 0
    assert (home / "casework.db").exists()
    closed = subprocess.run([str(script), "cases", "fire", "1", "close", "--actor", "alice",
                             "--role", "agent", "--field", "csat=5", "--json"], cwd=home,
                            env=env, capture_output=True, text=True, timeout=60, check=False)
    assert closed.returncode == 0, closed.stderr
    assert json.loads(closed.stdout)["state"] == "closed"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def sign_in(base: str, name: str, password: str) -> httpx.Response:
    """Sign in as a browser would: fetch the form (and its CSRF cookie), post it, follow."""
    deadline = time.monotonic() + 30
    with httpx.Client(base_url=base, follow_redirects=True, timeout=10) as client:
        while True:
            try:
                client.get("/login")
                break
            except httpx.ConnectError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        return client.post("/login", data={"name": name, "password": password, "next": "/",
                                           "_csrf_token": client.cookies["csrftoken"]})


def test_import_is_all_or_nothing_idempotent_and_can_skip_bad_rows(run: Any, home: Path,
                                                                   tmp_path: Path) -> None:
    sample = CDNOW / "CDNOW_sample.txt"
    first = run("customers", "import", str(sample))
    assert first.exit_code == 0, first.output
    assert "imported 6919 purchase(s) of 2357 customer(s) (2357 new)" in first.stdout
    again = run("customers", "import", str(sample))
    assert again.exit_code == 0
    assert "nothing added" in again.stdout
    bad = tmp_path / "bad.txt"
    bad.write_text("90001 1 19970101 1 10.00\n90002 2 19971301 1 3.00\n")
    refused = run("customers", "import", str(bad))
    assert refused.exit_code == 1
    assert f"{bad}:2: date '19971301' is not a date like 19970118" in refused.stderr
    assert "nothing was imported" in refused.stderr
    skipped = run("customers", "import", str(bad), "--skip-bad")
    assert skipped.exit_code == 0
    assert "imported 1 purchase(s) of 1 customer(s) (1 new)" in skipped.stdout
    assert "0 already present; 1 bad row(s) skipped" in skipped.stdout
    assert f"skipped {bad}:2:" in skipped.stderr
    corrected = tmp_path / "corrected.txt"  # issue 19: only the corrected row is new
    corrected.write_text("90001 1 19970101 1 10.00\n90002 2 19971201 1 3.00\n")
    fixed = run("customers", "import", str(corrected))
    assert fixed.exit_code == 0, fixed.output
    assert f"imported 1 purchase(s) of 2 customer(s) (1 new) from {corrected}; 1 already " \
           "present; 0 bad row(s) skipped" in fixed.stdout


def test_import_counts_are_in_the_database(home: Path, database_url: str) -> None:
    sample = CDNOW / "CDNOW_sample.txt"
    env = {"CASEWORK_DATABASE_URL": database_url}
    result = CliRunner().invoke(main, ["customers", "import", str(sample), "--home", str(home)],
                                env=env)
    assert result.exit_code == 0, result.output
    casework = open_casework(Settings(home=home, database_url=database_url))
    try:
        assert casework.customers.count() == (2357, 6919)
    finally:
        casework.close()


def test_clv_fit_reproduces_the_published_cdnow_estimates(home: Path) -> None:
    result = CliRunner().invoke(main, [
        "clv", "fit", "--transactions", str(CDNOW / "CDNOW_sample.txt"), "--format", "cdnow",
        "--calibration-end", "1997-09-30", "--json", "--home", str(home)])
    assert result.exit_code == 0, result.output
    fitted = json.loads(result.stdout)
    bg, gg = fitted["bgnbd"], fitted["gamma_gamma"]
    # Fader, Hardie & Lee (2005), to the precision they were published with
    assert [round(bg[k], 3) for k in ("r", "alpha", "a", "b")] == [0.243, 4.414, 0.793, 2.426]
    assert round(bg["log_likelihood"], 1) == -9582.4
    assert [round(gg[k], 2) for k in ("p", "q", "gamma")] == [6.25, 3.74, 15.44]
    assert (gg["customers"], fitted["customers"]) == (946, 2357)


def test_clv_fit_refuses_a_file_with_bad_rows(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("1 1 19970101 1 10.00\n2 2 1997010 1 3.00\n")
    result = CliRunner().invoke(main, ["clv", "fit", "--transactions", str(bad),
                                       "--calibration-end", "1997-09-30", "--home", str(home)])
    assert result.exit_code == 1
    assert f"{bad}:2: date '1997010' is not a date like 19970118" in result.stderr


def test_tiers_recompute_simulate_and_customer_show(run: Any, tmp_path: Path) -> None:
    assert run("customers", "import", str(CDNOW / "CDNOW_sample.txt")).exit_code == 0
    first = run("tiers", "recompute", "--as-of", "1998-06-30", "--json")
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert (report["customers"], report["tier_changes"], report["churn_risk_changes"]) == \
        (2357, 2357, 2357)
    assert sum(report["tiers"].values()) == 2357
    assert report["cases_started"]["retention"] > 0
    again = json.loads(run("tiers", "recompute", "--as-of", "1998-06-30", "--json").stdout)
    assert (again["tier_changes"], again["cases_started"]) == (0, {})
    shown = run("customers", "show", "00004", "--json")
    assert shown.exit_code == 0, shown.output
    customer = json.loads(shown.stdout)
    assert customer["customer"]["tier"] == customer["history"][0]["payload"]["new"]
    assert customer["history"][0]["payload"]["matched"] == [customer["customer"]["tier_rule"]]
    assert list(customer["customer"]) == [c.name for c in customers.c] + [
        c.name for c in customer_figures.c if c.name != "customer_id"]
    assert (customer["customer"]["as_of"], customer["customer"]["history_seq"]) == (
        "1998-06-30", len(customer["history"]))
    candidate = tmp_path / "customer_tier.yaml"
    candidate.write_text((ROOT / "rules" / "customer_tier.yaml").read_text()
                         .replace('">= 0.01"', '">= 0.002"').replace("version: 1", "version: 2"))
    simulated = run("rules", "simulate", "customer_tier", "--candidate", str(candidate),
                    "--as-of", "1998-06-30", "--json")
    assert simulated.exit_code == 0, simulated.output
    matrix = json.loads(simulated.stdout)
    assert (matrix["active_version"], matrix["candidate_version"], matrix["customers"]) == \
        (1, 2, 2357)
    assert matrix["changed"] == sum(n for old, row in matrix["matrix"].items()
                                    for new, n in row.items() if old != new) > 0
    table = run("rules", "simulate", "customer_tier", "--candidate", str(candidate),
                "--as-of", "1998-06-30")
    assert f"{matrix['changed']} of 2357 customers would change tier" in table.stdout
    # without --as-of: the day the stored figures are as of, not today; tiers as declared
    default = run("rules", "simulate", "customer_tier", "--candidate", str(candidate))
    assert default.exit_code == 0, default.output
    assert "would change tier (figures as of 1998-06-30)" in default.stdout
    header = next(line for line in default.stdout.splitlines() if "candidate" in line
                  and "strategic" in line)
    assert header.index("strategic") < header.index("key") < header.index("ordinary")
    wrong = run("rules", "simulate", "churn_risk", "--candidate", str(candidate))
    assert wrong.exit_code == 2
    assert "defines table 'customer_tier', not 'churn_risk'" in wrong.stderr
    verified = run("audit", "verify")
    assert verified.exit_code == 0
    assert "2357 customer histories intact" in verified.stdout


def test_users_sign_in_with_a_password_and_systems_with_a_token(run: Any, home: Path,
                                                                database_url: str) -> None:
    added = run("users", "add", "ann", "--role", "agent", "--password", "ann-secret")
    assert added.exit_code == 0, added.output
    short = run("users", "add", "bob", "--role", "agent", "--password", "short")
    assert short.exit_code == 2
    assert "field 'password': is 5 characters long; use at least 8" in short.stderr
    assert run("users", "password", "ann", "--password", "new-secret").exit_code == 0
    missing = run("users", "password", "nobody", "--password", "new-secret")
    assert missing.exit_code == 2 and "there is no user 'nobody'" in missing.stderr
    made = run("tokens", "create", "ann", "--label", "crm")
    assert made.exit_code == 0, made.output
    token = made.stdout.strip()
    casework = open_casework(Settings(home=home, database_url=database_url))
    try:
        assert password_matches(casework.accounts.password_hash("ann"), "new-secret")
        found = casework.accounts.token_user(token_digest(token))
        assert found is not None and found.name == "ann"
        assert run("tokens", "revoke", "ann").stdout.strip() == "revoked 1 token(s) of ann"
        assert casework.accounts.token_user(token_digest(token)) is None
    finally:
        casework.close()
    unknown = run("tokens", "create", "nobody")
    assert unknown.exit_code == 2 and "there is no user 'nobody'" in unknown.stderr


def test_users_disable_and_enable_each_logged_as_the_operator_and_the_last_admin_kept(
        run: Any, home: Path, database_url: str) -> None:
    assert run("users", "add", "root", "--role", "admin", "--password", "root-secret"
               ).exit_code == 0
    assert run("users", "add", "ann", "--role", "agent").exit_code == 0
    assert run("users", "disable", "ann").stdout.strip() == "disabled ann"
    last = run("users", "disable", "root")
    assert last.exit_code == 1 and "it is the last active admin who can sign in" in last.stderr
    assert run("users", "enable", "ann").stdout.strip() == "enabled ann"
    assert run("tokens", "create", "ann").exit_code == 0
    assert run("tokens", "revoke", "ann").stdout.strip() == "revoked 1 token(s) of ann"
    casework = open_casework(Settings(home=home, database_url=database_url))
    try:
        logged = [(str(e.act), e.actor) for e in reversed(casework.administration.history("ann"))]
        root = casework.accounts.user("root")
    finally:
        casework.close()
    assert logged == [("user.added", "operator"), ("user.disabled", "operator"),
                      ("user.enabled", "operator"), ("token.created", "operator"),
                      ("token.revoked", "operator")]
    assert root is not None and root.active
    assert run("audit", "verify").exit_code == 0
