"""Loading a practice's patients and appointments from CSV files (``omnidesk import ...``).

Both imports keep the good rows and report each bad one with its line number and a
PHI-free reason; both are idempotent (a re-import updates by key and changes nothing when
nothing changed). Files may start with a UTF-8 BOM; bytes that are not UTF-8 become U+FFFD.
Extra columns are ignored; header names are matched case-insensitively.

Patients: ``mrn,first_name,last_name,dob,mobile_phone,home_phone,email,preferred_language,
preferred_channel``; keyed by MRN. dob is ``YYYY-MM-DD`` or ``MM/DD/YYYY``. A row whose
phone or email does not normalize is an error (the row is skipped, not half-stored). A
re-import replaces a patient's contact points with the file's; a contact that now belongs
to exactly one patient takes over its unmatched threads (as ``link_contact`` does).

Appointments: ``mrn,start,duration_min,provider,location,status,visit_type``; keyed by
(patient, start, provider). ``start`` is ISO 8601; a time without an offset is in the
practice's time zone (``PRACTICE_TIME_ZONE``).
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, insert, select, update

from omnidesk.model import Channel, ImportReport
from omnidesk.services.context import Context
from omnidesk.services.identity import adopt_contact_threads, ensure_contacts, normalize_email, normalize_phone
from omnidesk.store.schema import appointments, patient_contacts, patients, threads

# The practice's time zone until practice settings exist (the routing work moves it there).
PRACTICE_TIME_ZONE = "America/New_York"

PATIENT_COLUMNS = (
    "mrn",
    "first_name",
    "last_name",
    "dob",
    "mobile_phone",
    "home_phone",
    "email",
    "preferred_language",
    "preferred_channel",
)
APPOINTMENT_COLUMNS = ("mrn", "start", "duration_min", "provider", "location", "status", "visit_type")
_CHUNK = 500


def _rows(path: Path, required: tuple[str, ...], report: ImportReport) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) pairs with lower-cased keys and stripped values; header problems go to ``report``."""
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            report.errors.append((1, "empty file"))
            return
        except csv.Error:
            report.errors.append((1, "unreadable header"))
            return
        names = [h.strip().lower() for h in header]
        missing = [c for c in required if c not in names]
        if missing:
            report.errors.append((1, "missing columns: " + ", ".join(missing)))
            return
        start = reader.line_num + 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error:
                report.errors.append((start, "unreadable CSV row"))
                start = reader.line_num + 1
                continue
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            yield line, {n: (row[i].replace("\x00", "").strip() if i < len(row) else "") for i, n in enumerate(names)}


def _chunks(it: Iterator[tuple[int, dict[str, str]]]) -> Iterator[list[tuple[int, dict[str, str]]]]:
    chunk: list[tuple[int, dict[str, str]]] = []
    for item in it:
        chunk.append(item)
        if len(chunk) >= _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def parse_dob(raw: str) -> date | None:
    """``YYYY-MM-DD`` or ``MM/DD/YYYY``; ``ValueError`` if neither or not a plausible birth date."""
    if not raw:
        return None
    try:
        if "/" in raw:
            month, day, year = (int(p) for p in raw.split("/"))
            dob = date(year, month, day)
        else:
            dob = date.fromisoformat(raw)
    except (ValueError, TypeError):
        raise ValueError("bad dob") from None
    if dob.year < 1880 or dob > datetime.now(UTC).date():
        raise ValueError("bad dob")
    return dob


def _patient_fields(row: dict[str, str]) -> tuple[dict[str, object], dict[str, tuple[str, str]]]:
    """Validated patient columns and wanted contacts by label; ``ValueError`` with a PHI-free reason."""
    for col in ("mrn", "first_name", "last_name"):
        if not row.get(col):
            raise ValueError(f"missing {col}")
    if len(row["mrn"]) > 64:
        raise ValueError("mrn longer than 64 characters")
    channel = row.get("preferred_channel", "").lower() or None
    if channel is not None and channel not in {c.value for c in Channel}:
        raise ValueError("unknown preferred_channel")
    fields: dict[str, object] = {
        "first_name": row["first_name"][:200],
        "last_name": row["last_name"][:200],
        "dob": parse_dob(row.get("dob", "")),
        "preferred_language": (row.get("preferred_language", "").lower() or None),
        "preferred_channel": channel,
    }
    if fields["preferred_language"] and len(str(fields["preferred_language"])) > 16:
        raise ValueError("bad preferred_language")
    wanted: dict[str, tuple[str, str]] = {}
    for label, col in (("mobile", "mobile_phone"), ("home", "home_phone")):
        if row.get(col):
            phone = normalize_phone(row[col])
            if phone is None:
                raise ValueError(f"bad {col}")
            if ("phone", phone) not in wanted.values():
                wanted[label] = ("phone", phone)
    if row.get("email"):
        email = normalize_email(row["email"])
        if email is None:
            raise ValueError("bad email")
        wanted["email"] = ("email", email)
    return fields, wanted


def import_patients(ctx: Context, path: Path) -> ImportReport:
    """Add or update patients (by MRN) and their phones/email from a CSV file (permission ``import.patients``)."""
    return _run_import(
        ctx,
        path,
        ("mrn", "first_name", "last_name"),
        "import.patients",
        lambda conn, chunk, report: _import_patient_chunk(conn, ctx, chunk, report),
    )


def _run_import(
    ctx: Context,
    path: Path,
    required: tuple[str, ...],
    action: str,
    import_chunk: Callable[[Connection, list, ImportReport], None],
) -> ImportReport:
    """The shape of every CSV import: permission, one transaction per chunk, one audit event (counts only)."""
    from omnidesk.services import audit
    from omnidesk.services.permissions import require

    require(ctx, "import.patients")
    report = ImportReport()
    for chunk in _chunks(_rows(Path(path), required, report)):
        with ctx.engine.begin() as conn:
            import_chunk(conn, chunk, report)
    with ctx.engine.begin() as conn:
        audit.record(conn, ctx, action, added=report.added, updated=report.updated, errors=len(report.errors))
    report.errors.sort()
    return report


def _import_patient_chunk(
    conn: Connection, ctx: Context, chunk: list[tuple[int, dict[str, str]]], report: ImportReport
) -> None:
    now = datetime.now(UTC)
    good: list[tuple[int, str, dict[str, object], dict[str, tuple[str, str]]]] = []
    for line, row in chunk:
        try:
            fields, wanted = _patient_fields(row)
        except ValueError as exc:
            report.errors.append((line, str(exc)))
            continue
        good.append((line, row["mrn"], fields, wanted))
    if not good:
        return
    cols = [patients.c.id, patients.c.mrn, *(patients.c[k] for k in good[0][2])]
    existing = {r.mrn: r for r in conn.execute(select(*cols).where(patients.c.mrn.in_({g[1] for g in good})))}
    contact_ids = ensure_contacts(conn, {k for g in good for k in g[3].values()}, now)
    pids = [r.id for r in existing.values()]
    links: dict[int, dict[int, str]] = {}
    if pids:
        rows = conn.execute(
            select(patient_contacts.c.patient_id, patient_contacts.c.contact_id, patient_contacts.c.label).where(
                patient_contacts.c.patient_id.in_(pids)
            )
        )
        for pid, cid, label in rows:
            links.setdefault(pid, {})[cid] = label
    linked: set[int] = set()
    for _line, mrn, fields, wanted in good:
        row = existing.get(mrn)
        changed = False
        if row is None:
            pid = conn.execute(
                insert(patients).values(mrn=mrn, created_at=now, updated_at=now, **fields).returning(patients.c.id)
            ).scalar_one()
            existing[mrn] = conn.execute(select(*cols).where(patients.c.id == pid)).one()
            report.added += 1
        else:
            pid = row.id
            if any(getattr(row, k) != v for k, v in fields.items()):
                conn.execute(update(patients).where(patients.c.id == pid).values(updated_at=now, **fields))
                existing[mrn] = conn.execute(select(*cols).where(patients.c.id == pid)).one()
                changed = True
        have = links.setdefault(pid, {})
        want = {contact_ids[key]: label for label, key in wanted.items()}
        for cid in [c for c in have if c not in want]:
            conn.execute(
                patient_contacts.delete().where(
                    patient_contacts.c.patient_id == pid, patient_contacts.c.contact_id == cid
                )
            )
            del have[cid]
            changed = True
        for cid, label in want.items():
            if cid not in have:
                conn.execute(insert(patient_contacts).values(patient_id=pid, contact_id=cid, label=label))
                linked.add(cid)
                changed = True
            elif have[cid] != label:
                conn.execute(
                    update(patient_contacts)
                    .where(patient_contacts.c.patient_id == pid, patient_contacts.c.contact_id == cid)
                    .values(label=label)
                )
                changed = True
            have[cid] = label
        if changed and row is not None:
            report.updated += 1
        elif row is not None:
            report.unchanged += 1
    waiting: set[int] = set()
    ids = sorted(linked)
    for start in range(0, len(ids), _CHUNK):  # only contacts that have patient-less threads
        rows = conn.execute(
            select(threads.c.contact_id)
            .where(threads.c.contact_id.in_(ids[start : start + _CHUNK]), threads.c.patient_id.is_(None))
            .distinct()
        )
        waiting.update(cid for (cid,) in rows)
    for cid in sorted(waiting):
        adopt_contact_threads(conn, ctx, cid, now)


def parse_start(raw: str, tz: ZoneInfo) -> datetime:
    """An ISO 8601 time; without an offset it is in ``tz``. Returned in UTC."""
    if not raw:
        raise ValueError("missing start")
    text = raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw
    if len(text) <= 10:
        raise ValueError("bad start (no time of day)")
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("bad start") from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=tz)
    return at.astimezone(UTC)


def import_appointments(ctx: Context, path: Path) -> ImportReport:
    """Add or update appointments from a CSV file (permission ``import.patients``); unknown MRNs are errors."""
    tz = ZoneInfo(PRACTICE_TIME_ZONE)
    return _run_import(
        ctx,
        path,
        ("mrn", "start", "provider"),
        "import.appointments",
        lambda conn, chunk, report: _import_appointment_chunk(conn, chunk, tz, report),
    )


def _appointment_fields(row: dict[str, str], tz: ZoneInfo) -> dict[str, object]:
    if not row.get("mrn"):
        raise ValueError("missing mrn")
    if not row.get("provider"):
        raise ValueError("missing provider")
    start = parse_start(row.get("start", ""), tz)
    raw_duration = row.get("duration_min", "") or "15"
    try:
        duration = int(raw_duration)
    except ValueError:
        raise ValueError("bad duration_min") from None
    if not 0 < duration <= 24 * 60:
        raise ValueError("bad duration_min")
    return {
        "start_at": start,
        "duration_min": duration,
        "provider": row["provider"][:200],
        "location": row.get("location", "")[:200],
        "status": (row.get("status", "") or "scheduled").lower()[:32],
        "visit_type": row.get("visit_type", "")[:100],
    }


def _import_appointment_chunk(
    conn: Connection, chunk: list[tuple[int, dict[str, str]]], tz: ZoneInfo, report: ImportReport
) -> None:
    now = datetime.now(UTC)
    good: list[tuple[int, str, dict[str, object]]] = []
    for line, row in chunk:
        try:
            good.append((line, row.get("mrn", ""), _appointment_fields(row, tz)))
        except ValueError as exc:
            report.errors.append((line, str(exc)))
    if not good:
        return
    ids = dict(
        conn.execute(select(patients.c.mrn, patients.c.id).where(patients.c.mrn.in_({g[1] for g in good}))).all()
    )
    for line, mrn, fields in good:
        pid = ids.get(mrn)
        if pid is None:
            report.errors.append((line, "unknown mrn"))
            continue
        key = (
            appointments.c.patient_id == pid,
            appointments.c.start_at == fields["start_at"],
            appointments.c.provider == fields["provider"],
        )
        row = conn.execute(
            select(
                appointments.c.id,
                appointments.c.duration_min,
                appointments.c.location,
                appointments.c.status,
                appointments.c.visit_type,
            ).where(*key)
        ).first()
        if row is None:
            conn.execute(insert(appointments).values(patient_id=pid, created_at=now, updated_at=now, **fields))
            report.added += 1
        elif any(getattr(row, k) != fields[k] for k in ("duration_min", "location", "status", "visit_type")):
            conn.execute(update(appointments).where(appointments.c.id == row.id).values(updated_at=now, **fields))
            report.updated += 1
        else:
            report.unchanged += 1
