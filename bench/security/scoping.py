"""End-to-end breach scoping on a trail of 1,000,000 audit entries (issue 17, "Measure").

Run: ``.venv/bin/python bench/security/scoping.py`` (``--entries N``, default 1,000,000). For each
database (a SQLite file, and PostgreSQL if reachable) a child process migrates a fresh database and
builds a year of trail: 1,000 professionals opening 2,000 patients (identity, messages, files,
documents), with a signed checkpoint every 20,000 entries (as the worker leaves them). Inside it,
"Bob's account was used by an attacker between T1 and T2" (two night hours, five days before the
end of the trail): through Bob, 300 patients opened, 200 of them their conversations read, 100
their files downloaded, 50 their documents read; around it, what must not count (Bob before T1 and
after T2, his refused attempts, other accounts in the window). The test knows the ground truth.

Timed, from the officer's declaration to approved drafts, each step as the web views call it:
``do_declare_incident`` → ``do_scope_incident`` (chain verified from the last checkpoint before the
window, one grouped query, one draft notice per patient) → ``do_update_incident`` (the decision to
inform the patients, reasoned) → the drafts reviewed (CNIL fields and PDF, ARS/CERT Santé fields
and PDF, every patient's letter) → ``do_approve_drafts``. The figures are compared with the ground
truth (patients, and per category patients, records and entries). Aim ≤ 10 s on each database.
The report goes to bench/security/scoping.json and scoping.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
ACTORS = 1000
PATIENTS = 2000
CHUNK = 5000
CHECKPOINT_EVERY = 20_000
PG_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
PG_BENCH_DB = "cordee_bench_scoping"
YEAR_START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
T1 = dt.datetime(2026, 12, 26, 1, 0, tzinfo=dt.UTC)
T2 = T1 + dt.timedelta(hours=2)
END = dt.datetime(2026, 12, 31, 23, 0, tzinfo=dt.UTC)


def _setup_django() -> None:
    import django

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cordee.settings")
    django.setup()
    from django.conf import settings

    settings.DEBUG = False
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _background(rng: random.Random, actors: list[Any], patients: list[int], at: dt.datetime) -> dict[str, Any]:
    actor = actors[rng.randrange(len(actors))]
    patient = patients[rng.randrange(len(patients))]
    roll = rng.random()
    common = {"actor": actor, "at": at, "patient_id": patient, "category": "access"}
    if roll < 0.45:
        return {"action": "patient.read", "target_type": "accounts.patient", "target_id": patient,
                "purpose": "patient.view", **common}  # fmt: skip
    if roll < 0.75:
        return {"action": "conversation.read", "target_type": "messaging.conversation",
                "target_id": patient * 3 + rng.randrange(3), "purpose": "messaging.read", **common}  # fmt: skip
    if roll < 0.9:
        return {"action": "document.read", "target_type": "documents.document", "target_id": patient * 5,
                "purpose": "record.view", **common}  # fmt: skip
    return {"action": "login.success", "actor": actor, "at": at, "target": actor}


def _attack(bob: Any, patients: list[int], rng: random.Random) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """What the attacker did through Bob between T1 and T2, and its ground truth, computed here
    from the entries themselves (not by the code under test)."""
    chosen = rng.sample(patients, 300)
    entries: list[dict[str, Any]] = []
    step = (T2 - T1) / 2000
    at = T1

    def add(action: str, patient: int, target: tuple[str, int], purpose: str) -> None:
        nonlocal at
        at += step
        entries.append({"action": action, "actor": bob, "at": at, "patient_id": patient, "target_type": target[0],
                        "target_id": target[1], "purpose": purpose, "category": "access"})  # fmt: skip

    for n, patient in enumerate(chosen):
        add("patient.read", patient, ("accounts.patient", patient), "patient.view")
        if n % 2 == 0:
            add("patient.read", patient, ("accounts.patient", patient), "patient.view")  # opened twice
        if n < 200:
            add("conversation.read", patient, ("messaging.conversation", patient * 3), "messaging.read")
            add("conversation.read", patient, ("messaging.conversation", patient * 3 + 1), "messaging.read")
        if n < 100:
            add("conversation.read", patient, ("messaging.conversation", patient * 3), "messaging.download")
        if n < 50:
            add("document.read", patient, ("documents.document", patient * 5), "record.view")
    category = {"patient.read": "identity", "document.read": "other"}
    truth: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if entry["action"] == "conversation.read":
            name = "files" if entry["purpose"].endswith("messaging.download") else "messages"
        else:
            name = category[entry["action"]]
        bucket = truth.setdefault(name, {"patients": set(), "records": set(), "entries": 0})
        bucket["patients"].add(entry["patient_id"])
        bucket["records"].add((entry["target_type"], entry["target_id"]))
        bucket["entries"] += 1
    summary = {
        name: {"patients": len(b["patients"]), "records": len(b["records"]), "entries": b["entries"]}
        for name, b in truth.items()
    }
    return entries, {"patients": len(chosen), "by_category": summary}


def _noise(bob: Any, other: Any, patients: list[int]) -> list[dict[str, Any]]:
    """Bob's own work before and after the window, his refusals in it, another account in it."""
    noise = []
    for minutes, actor in ((-30, bob), (150, bob), (30, other), (60, other)):
        at = T1 + dt.timedelta(minutes=minutes)
        noise.append({"action": "patient.read", "actor": actor, "at": at, "patient_id": patients[-1],
                      "target_type": "accounts.patient", "target_id": patients[-1], "category": "access"})  # fmt: skip
    noise.append({"action": "patient.read", "actor": bob, "at": T1 + dt.timedelta(minutes=45), "outcome": "denied",
                  "patient_id": patients[-2], "target_type": "accounts.patient", "target_id": patients[-2],
                  "category": "access"})  # fmt: skip
    return noise


def child(total: int) -> dict[str, Any]:  # noqa: PLR0915 (one scenario, in order)
    _setup_django()
    from django.db import connection, transaction

    from cordee.accounts.models import Membership, Patient, Structure, User
    from cordee.audit import checkpoints
    from cordee.audit import services as audit
    from cordee.security import drafts
    from cordee.security.models import BreachNotice
    from cordee.security.services.incidents import do_declare_incident, do_update_incident
    from cordee.security.services.notices import do_approve_drafts
    from cordee.security.services.scoping import do_scope_incident
    from cordee.worker.statistics import refresh

    rng = random.Random(1717)
    began = time.perf_counter()
    structure = Structure.objects.create(name="Maison de santé des Tilleuls", kind=Structure.Kind.CABINET)
    otto = User.objects.create_user("otto@bench.test", kind="professional", first_name="Otto", last_name="Weber")
    bob = User.objects.create_user("bob@bench.test", kind="professional", first_name="Bob", last_name="Durand")
    Membership.objects.create(user=otto, structure=structure, security_officer=True)
    Membership.objects.create(user=bob, structure=structure)
    actors = [User.objects.create_user(f"pro{i}@bench.test", kind="professional") for i in range(ACTORS)]
    patients = []
    for i in range(PATIENTS):
        patients.append(
            Patient.objects.create(
                birth_name=f"NOM{i}", birth_given_names="Test", birth_date=dt.date(1970 + i % 50, 1 + i % 12, 1),
                sex="F" if i % 2 else "M", birth_place_code="75056",
            ).pk
        )  # fmt: skip
    attack, truth = _attack(bob, patients, rng)
    special = sorted(attack + _noise(bob, actors[0], patients), key=lambda entry: entry["at"])
    background = total - len(special)
    step = (END - YEAR_START) / background
    written = 0
    pending = list(special)
    at = YEAR_START
    setup_seconds = time.perf_counter() - began
    began = time.perf_counter()
    while written < total:
        chunk = []
        while len(chunk) < CHUNK and written + len(chunk) < total:
            at += step
            while pending and pending[0]["at"] <= at:
                chunk.append(pending.pop(0))
            if len(chunk) < CHUNK and written + len(chunk) < total:
                chunk.append(_background(rng, actors, patients, at))
        with transaction.atomic():
            audit.record_many(chunk)
        written += len(chunk)
        if written % CHECKPOINT_EVERY < CHUNK:
            checkpoints.make_checkpoint(now=chunk[-1]["at"] + dt.timedelta(minutes=1))
    write_seconds = time.perf_counter() - began
    checkpoints.make_checkpoint(now=END + dt.timedelta(hours=1))
    # A trail of a year has been analysed many times: hourly by the worker's database.statistics
    # job on SQLite, by autovacuum on PostgreSQL. Time the response in that steady state.
    refresh()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE audit_auditentry")

    facts = {
        "title": "Compte de Bob utilisé par un tiers",
        "nature": "Connexion frauduleuse au compte d'un infirmier, confidentialité.",
        "data_categories": "", "people_count": None, "records_count": None,
        "consequences": "Un tiers a pu lire l'identité, des messages et des fichiers de patients.",
        "measures_taken": "Sessions de Bob révoquées, mot de passe réinitialisé.", "measures_proposed": "",
        "contact": "DPO, dpo@tilleuls.test", "aware_at": END, "occurred_at": T1, "contained_at": None,
        "notified_at": None, "cnil_decision": "pending", "cnil_reasoning": "", "patients_decision": "pending",
        "patients_reasoning": "",
    }  # fmt: skip
    steps: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        steps[name] = now - clock
        clock = now

    incident = do_declare_incident(structure, facts, by=otto)
    lap("declare")
    incident = do_scope_incident(incident, [bob], T1, T2, by=otto)
    lap("scope")
    decision = {"patients_decision": "notify", "patients_reasoning": "Identité et messages lus : risque élevé."}
    incident = do_update_incident(incident, decision, by=otto)
    lap("decide")
    drafts.cnil_fields(incident)
    drafts.cnil_pdf(incident)
    drafts.ars_fields(incident)
    drafts.ars_pdf(incident)
    letters = [drafts.letter(notice) for notice in incident.notices.select_related("incident", "patient")]
    lap("review_drafts")
    do_approve_drafts(incident, by=otto)
    lap("approve")
    total_seconds = sum(steps.values())

    scope = incident.scope
    found = {
        "patients": scope["totals"]["patients"],
        "by_category": {
            name: {key: figures[key] for key in ("patients", "records", "entries")}
            for name, figures in scope["by_category"].items()
        },
    }
    sent = BreachNotice.objects.filter(incident=incident, sent_at__isnull=False).count()
    return {
        "vendor": connection.vendor,
        "entries": written,
        "setup_seconds": setup_seconds,
        "write_seconds": write_seconds,
        "steps": steps,
        "total_seconds": total_seconds,
        "audit_verified": scope["audit_verified"],
        "truth": truth,
        "found": found,
        "matches": found == truth and sent == truth["patients"] and len(letters) == truth["patients"],
        "notices_sent": sent,
    }


def _run_child(environment: dict[str, str], total: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", "--entries", str(total)]
    result = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=7200)
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def _base_environment(data_dir: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    environment.update(
        DJANGO_SETTINGS_MODULE="cordee.settings",
        DEBUG="1",
        CORDEE_DATA_DIR=data_dir,
        TASKS_BACKEND="django_tasks.backends.immediate.ImmediateBackend",
        LOG_LEVEL="WARNING",
    )
    return environment


def _postgres(total: int, data_dir: str) -> dict[str, Any]:
    try:
        import psycopg

        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except Exception as exc:  # noqa: BLE001 (any failure to connect means: skip PostgreSQL)
        return {"skipped": f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}"}
    with admin:
        admin.execute(f"DROP DATABASE IF EXISTS {PG_BENCH_DB}")
        admin.execute(f"CREATE DATABASE {PG_BENCH_DB}")
        try:
            url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + PG_BENCH_DB
            return _run_child({**_base_environment(data_dir), "DATABASE_URL": url}, total)
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)")


def _markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Breach scoping, end to end, on a large trail",
        "",
        f"{report['generated_at']} · Python {report['python']} · {report['machine']} · trail of "
        f"{report['entries']:,} audit entries · seconds",
        "",
        "| database | declare | scope | decide | review drafts | approve | **total** | ground truth |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, backend in report["databases"].items():
        if "skipped" in backend:
            lines.append(f"| {name} | skipped: {backend['skipped']} | | | | | | |")
            continue
        s = backend["steps"]
        verdict = "matches" if backend["matches"] else "**differs**"
        lines.append(
            f"| {name} | {s['declare']:.2f} | {s['scope']:.2f} | {s['decide']:.2f} | {s['review_drafts']:.2f} "
            f"| {s['approve']:.2f} | **{backend['total_seconds']:.2f}** | {verdict} |"
        )
    lines += ["", "Aim: ≤ 10 s from the declaration to approved drafts, on each database."]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000, help="audit entries in the trail")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="one database only")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        print(json.dumps(child(arguments.entries)))
        return 0
    databases: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="cordee-bench-scoping-") as data_dir:
        if arguments.only in (None, "sqlite"):
            print("SQLite…", flush=True)
            databases["sqlite"] = _run_child(_base_environment(data_dir + "/sqlite"), arguments.entries)
        if arguments.only in (None, "postgresql"):
            print("PostgreSQL…", flush=True)
            databases["postgresql"] = _postgres(arguments.entries, data_dir + "/postgres")
    report = {
        "generated_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "entries": arguments.entries,
        "window": [T1.isoformat(), T2.isoformat()],
        "databases": databases,
    }
    suffix = "" if arguments.entries == 1_000_000 and arguments.only is None else f"-{arguments.entries}"
    (HERE / f"scoping{suffix}.json").write_text(json.dumps(report, indent=2) + "\n")
    (HERE / f"scoping{suffix}.md").write_text(_markdown(report))
    print(_markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
