"""Contact normalization (unit) and linking permissions (store)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ingest_helpers import load_patients, make_ctx, msg
from sqlalchemy import Engine, select

from omnidesk.model import ContactKind, Role
from omnidesk.services.errors import NotFound, PermissionDenied
from omnidesk.services.identity import link_contact, normalize_address, normalize_email, normalize_phone
from omnidesk.services.ingest import ingest
from omnidesk.store.engine import reading
from omnidesk.store.schema import contacts, threads


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("(555) 014-3000", "+15550143000"),
        ("555.014.3000", "+15550143000"),
        ("555-014-3000", "+15550143000"),
        ("5550143000", "+15550143000"),
        ("1 555 014 3000", "+15550143000"),
        ("+1 555 014 3000 ext 2", "+15550143000"),  # the extension is dropped: same line
        ("+1 (212) 555 0143 x12", "+12125550143"),
        ("tel:+12125550143", "+12125550143"),
        ("+44 20 7946 0958", "+442079460958"),
        ("1-800-FLOWERS", "+18003569377"),
        ("1-555-0143", None),  # too short to dial from outside
        ("555-0143", None),  # local-only: no area code
        ("72345", None),  # an SMS short code
        ("", None),
        ("   ", None),
        (None, None),
        ("Anonymous", None),
        ("a@b.org", None),
        ("9" * 80, None),
    ],
)
def test_normalize_phone(raw: str | None, expected: str | None) -> None:
    assert normalize_phone(raw) == expected


def test_normalize_phone_other_default_region() -> None:
    assert normalize_phone("020 7946 0958", "GB") == "+442079460958"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Ana@Example.ORG ", "ana@example.org"),
        ("Ana Lopez <ana@example.org>", "ana@example.org"),
        ("mailto:ana@example.org", "ana@example.org"),
        ("ana.example.org", None),
        ("a@@b.org", None),
        ("@b.org", None),
        ("a@", None),
        ("a b@c.org", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_email(raw: str | None, expected: str | None) -> None:
    assert normalize_email(raw) == expected


def test_normalize_address_picks_the_kind() -> None:
    assert normalize_address("(555) 014-3000") == (ContactKind.PHONE, "+15550143000")
    assert normalize_address("X@Y.org") == (ContactKind.EMAIL, "x@y.org")
    assert normalize_address("not an address") is None
    assert normalize_address("broken@") is None


def test_link_contact_needs_permission_and_existing_ids(engine: Engine, tmp_path: Path) -> None:
    admin = make_ctx(engine)
    load_patients(admin, tmp_path, [["M1", "Ana", "Lopez", "", "", "", "", "", ""]])
    ingest(admin, [msg("s1", "+15550188888", "hi")])
    with reading(engine) as c:
        cid = c.execute(select(contacts.c.id)).scalar_one()
        tid = c.execute(select(threads.c.id)).scalar_one()
    billing = make_ctx(engine, role=Role.BILLING, username="billing")
    with pytest.raises(PermissionDenied):
        link_contact(billing, cid, 1)
    with pytest.raises(NotFound):
        link_contact(admin, cid, 999_999)
    with pytest.raises(NotFound):
        link_contact(admin, 999_999, 1)
    with reading(engine) as c:
        pid = c.execute(select(threads.c.patient_id)).scalar_one()
    assert pid is None
    front = make_ctx(engine, role=Role.FRONT_DESK, username="frontdesk")
    with reading(engine) as c:
        from omnidesk.store.schema import patients

        patient = c.execute(select(patients.c.id)).scalar_one()
    assert link_contact(front, cid, patient) == [tid]
    assert link_contact(front, cid, patient) == []  # twice is harmless


def test_phone_fast_paths_agree_with_phonenumbers() -> None:
    import random

    import phonenumbers

    def slow(text: str) -> str | None:
        try:
            n = phonenumbers.parse(text, "US")
        except phonenumbers.NumberParseException:
            return None
        if phonenumbers.is_possible_number_with_reason(n) != phonenumbers.ValidationResult.IS_POSSIBLE:
            return None
        return phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164)

    rng = random.Random(3)
    for _ in range(1500):
        d = "".join(rng.choice("0123456789") for _ in range(10))
        shapes = [
            f"+1{d}",
            d,
            f"1{d}",
            f"({d[:3]}) {d[3:6]}-{d[6:]}",
            f"1-{d[:3]}-{d[3:6]}-{d[6:]}",
            f"{d[:3]}.{d[3:6]}.{d[6:]}",
        ]
        for s in shapes:
            assert normalize_phone.__wrapped__(s) == slow(s), s
