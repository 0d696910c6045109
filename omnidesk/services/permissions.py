"""Who may do what: each role's permissions, checked in services (not only hidden in screens).

A context without a user is the system itself (sync loop, ingest, ``omnidesk init``) and
may do everything; every console and command-line context acts as a staff member.
"""

from __future__ import annotations

from omnidesk.model import Role
from omnidesk.services.context import Context
from omnidesk.services.errors import PermissionDenied

THREAD_VIEW = "thread.view"  # list, open and search conversations
THREAD_ACK_EMERGENCY = "thread.ack_emergency"
THREAD_REPLY = "thread.reply"
THREAD_ASSIGN = "thread.assign"  # assign, claim, move queue, snooze, close
CONTACT_LINK = "contact.link"  # link an unmatched contact to a patient
IMPORT_PATIENTS = "import.patients"  # patients and appointments from CSV
IMPORT_MESSAGES = "import.messages"  # JSONL / maildir ingest by hand
AUDIT_VERIFY = "audit.verify"
REPORTS_VIEW = "reports.view"  # the manager's numbers
STAFF_MANAGE = "staff.manage"

_EVERYONE = frozenset({THREAD_VIEW, THREAD_ACK_EMERGENCY, THREAD_REPLY, THREAD_ASSIGN})
_MANAGING = _EVERYONE | {CONTACT_LINK, IMPORT_PATIENTS, IMPORT_MESSAGES, AUDIT_VERIFY, REPORTS_VIEW}

ROLE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.FRONT_DESK: _EVERYONE | {CONTACT_LINK},
    Role.NURSE: _EVERYONE | {CONTACT_LINK},
    Role.BILLING: _EVERYONE,
    Role.MANAGER: frozenset(_MANAGING),
    Role.ADMIN: frozenset(_MANAGING | {STAFF_MANAGE}),
}
ALL_PERMISSIONS = frozenset().union(*ROLE_PERMISSIONS.values())


def allowed(ctx: Context, permission: str) -> bool:
    """Whether ``ctx``'s user may ``permission`` (the system may do everything)."""
    if permission not in ALL_PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")
    if ctx.user is None:
        return True
    return permission in ROLE_PERMISSIONS.get(ctx.user.role, frozenset())


def require(ctx: Context, permission: str) -> None:
    """Raise :class:`PermissionDenied` unless ``ctx``'s user may ``permission``."""
    if not allowed(ctx, permission):
        user = ctx.user
        assert user is not None
        raise PermissionDenied(
            f"{user.username} ({user.role.value}) may not {permission}",
            "ask a manager or an admin, or act as one with --user / OMNIDESK_USER",
            code=permission,
        )
