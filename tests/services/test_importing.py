"""CSV imports of patients and appointments: errors by line, idempotence, time zones."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from ingest_helpers import PATIENT_HEADER, make_ctx, msg, write_csv
from sqlalchemy import Engine, select

from omnidesk.model import Role
from omnidesk.services.errors import PermissionDenied
from omnidesk.services.importing import import_appointments, import_patients
from omnidesk.services.ingest import ingest
from omnidesk.store.engine import reading
from omnidesk.store.schema import appointments, audit_events, contacts, patient_contacts, patients, threads

APPT_HEADER = ["mrn", "start", "duration_min", "provider", "location", "status", "visit_type"]


def _patients(engine: Engine) -> dict[str, dict]:
    with reading(engine) as c:
        return {r.mrn: dict(r._mapping) for r in c.execute(select(patients))}


def _links(engine: Engine) -> list[tuple[str, str, str]]:
    with reading(engine) as c:
        q = (
            select(patients.c.mrn, contacts.c.value, patient_contacts.c.label)
            .join(patient_contacts, patient_contacts.c.patient_id == patients.c.id)
            .join(contacts, contacts.c.id == patient_contacts.c.contact_id)
        )
        return sorted(tuple(r) for r in c.execute(q))


def test_import_patients_keeps_good_rows_and_reports_bad_ones_by_line(engine: Engine, tmp_path: Path) -> None:
    ctx = make_ctx(engine)
    rows = [
        ["M1", "Ana", "Lopez", "1980-02-03", "(555) 014-3000", "555.014.3000", "Ana@Example.org", "ES", "sms"],
        ["", "No", "Mrn", "", "", "", "", "", ""],
        ["M3", "", "Noname", "", "", "", "", "", ""],
        ["M4", "Bad", "Dob", "1980-13-45", "", "", "", "", ""],
        ["M5", "Bad", "Phone", "", "555-0143", "", "", "", ""],
        ["M6", "Bad", "Email", "", "", "", "not-an-email", "", ""],
        ["M7", "Ben", "Lopez", "07/08/2012", "", "+1 555 014 3000", "", "", ""],
        ["M8", "Bad", "Channel", "", "", "", "", "", "fax"],
    ]
    path = write_csv(tmp_path / "p.csv", [*PATIENT_HEADER, "extra_column"], [[*r, "ignored"] for r in rows], bom=True)
    report = import_patients(ctx, path)
    assert (report.added, report.updated) == (2, 0)
    assert report.errors == [
        (3, "missing mrn"),
        (4, "missing first_name"),
        (5, "bad dob"),
        (6, "bad mobile_phone"),
        (7, "bad email"),
        (9, "unknown preferred_channel"),
    ]
    ps = _patients(engine)
    assert set(ps) == {"M1", "M7"}
    assert ps["M1"]["dob"] == date(1980, 2, 3) and ps["M7"]["dob"] == date(2012, 7, 8)
    assert ps["M1"]["preferred_language"] == "es"
    # the same number in mobile and home is one link; the household shares one contact row
    assert _links(engine) == [
        ("M1", "+15550143000", "mobile"),
        ("M1", "ana@example.org", "email"),
        ("M7", "+15550143000", "home"),
    ]
    with reading(engine) as c:
        detail = c.execute(select(audit_events.c.detail).where(audit_events.c.action == "import.patients")).scalar_one()
    assert detail == {"added": 2, "updated": 0, "errors": 6}


def test_reimport_is_idempotent_and_updates_by_mrn(engine: Engine, tmp_path: Path) -> None:
    ctx = make_ctx(engine)
    rows = [["M1", "Ana", "Lopez", "1980-02-03", "5550143000", "", "ana@example.org", "es", "sms"]]
    path = write_csv(tmp_path / "p.csv", PATIENT_HEADER, rows)
    assert import_patients(ctx, path).added == 1
    before = (_patients(engine), _links(engine))
    again = import_patients(ctx, path)
    assert (again.added, again.updated, again.unchanged, again.errors) == (0, 0, 1, [])
    assert (_patients(engine), _links(engine)) == before
    rows[0][2] = "Lopez-Diaz"
    rows[0][4] = "5550143999"
    changed = import_patients(ctx, write_csv(tmp_path / "p2.csv", PATIENT_HEADER, rows))
    assert (changed.added, changed.updated) == (0, 1)
    assert _patients(engine)["M1"]["last_name"] == "Lopez-Diaz"
    assert ("M1", "+15550143999", "mobile") in _links(engine)
    assert ("M1", "+15550143000", "mobile") not in _links(engine)


def test_importing_a_patient_adopts_their_unmatched_threads(engine: Engine, tmp_path: Path) -> None:
    ctx = make_ctx(engine)
    ingest(ctx, [msg("s1", "+15550160000", "hello, new patient here")])
    import_patients(ctx, write_csv(tmp_path / "p.csv", PATIENT_HEADER, [["N1", "New", "Person", "", "5550160000"]]))
    with reading(engine) as c:
        pid, queue = c.execute(select(threads.c.patient_id, threads.c.queue)).one()
    assert pid == _patients(engine)["N1"]["id"] and queue == "front_desk"


def test_import_needs_permission(engine: Engine, tmp_path: Path) -> None:
    ctx = make_ctx(engine, role=Role.FRONT_DESK, username="frontdesk")
    path = write_csv(tmp_path / "p.csv", PATIENT_HEADER, [["M1", "A", "B"]])
    with pytest.raises(PermissionDenied):
        import_patients(ctx, path)
    with pytest.raises(PermissionDenied):
        import_appointments(ctx, path)
    assert _patients(engine) == {}


def test_missing_columns_and_broken_bytes(engine: Engine, tmp_path: Path) -> None:
    ctx = make_ctx(engine)
    report = import_patients(ctx, write_csv(tmp_path / "p.csv", ["mrn", "last_name"], [["M1", "X"]]))
    assert report.errors == [(1, "missing columns: first_name")]
    raw = "mrn,first_name,last_name\nM1,Jos\xe9,Q\nM2,A\x00na,R\n".encode("latin-1")
    (tmp_path / "l1.csv").write_bytes(raw)
    report = import_patients(ctx, tmp_path / "l1.csv")
    assert report.added == 2 and report.errors == []
    assert _patients(engine)["M1"]["first_name"] == "Jos\ufffd"
    assert _patients(engine)["M2"]["first_name"] == "Ana"


def test_import_appointments(engine: Engine, tmp_path: Path) -> None:
    ctx = make_ctx(engine)
    import_patients(ctx, write_csv(tmp_path / "p.csv", PATIENT_HEADER, [["M1", "Ana", "Lopez"]]))
    rows = [
        ["M1", "2024-07-01T09:30", "20", "Dr. Rivera", "Main St", "scheduled", "follow-up"],  # naive → New York
        ["M1", "2024-12-02 09:30:00-05:00", "", "Dr. Rivera", "", "", ""],
        ["M1", "2024-07-02T13:00:00Z", "30", "Dr. Chen", "", "Confirmed", "new"],
        ["M404", "2024-07-01T09:30", "20", "Dr. Rivera", "", "", ""],
        ["M1", "next tuesday", "20", "Dr. Rivera", "", "", ""],
        ["M1", "2024-07-03", "20", "Dr. Rivera", "", "", ""],
        ["M1", "2024-07-03T10:00", "-5", "Dr. Rivera", "", "", ""],
        ["M1", "2024-07-03T10:00", "20", "", "", "", ""],
    ]
    path = write_csv(tmp_path / "a.csv", APPT_HEADER, rows)
    report = import_appointments(ctx, path)
    assert report.added == 3
    assert report.errors == [
        (5, "unknown mrn"),
        (6, "bad start"),
        (7, "bad start (no time of day)"),
        (8, "bad duration_min"),
        (9, "missing provider"),
    ]
    with reading(engine) as c:
        got = {
            r.provider + r.start_at.isoformat(): (r.start_at, r.duration_min, r.status)
            for r in c.execute(select(appointments))
        }
    assert got["Dr. Rivera2024-07-01T13:30:00+00:00"] == (datetime(2024, 7, 1, 13, 30, tzinfo=UTC), 20, "scheduled")
    assert got["Dr. Rivera2024-12-02T14:30:00+00:00"][1:] == (15, "scheduled")
    assert got["Dr. Chen2024-07-02T13:00:00+00:00"][2] == "confirmed"
    again = import_appointments(ctx, path)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 3)
    rows[0][5] = "cancelled"
    moved = import_appointments(ctx, write_csv(tmp_path / "a2.csv", APPT_HEADER, rows))
    assert (moved.added, moved.updated) == (0, 1)


def test_multiline_quoted_fields_keep_line_numbers(engine: Engine, tmp_path: Path) -> None:
    ctx = make_ctx(engine)
    text = 'mrn,first_name,last_name\nM1,"Ann\nMarie",Smith\nM2,,Jones\n'
    (tmp_path / "m.csv").write_text(text, encoding="utf-8")
    report = import_patients(ctx, tmp_path / "m.csv")
    assert report.added == 1 and report.errors == [(4, "missing first_name")]
