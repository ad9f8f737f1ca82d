"""The audit log: who did what, with ids, counts and filters but never personal data. The caller commits."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from canvass.models import AuditLog, User


def record(session: Session, user: User | None, action: str, *, object_type: str = "", object_id: int | None = None,
           **details: Any) -> AuditLog:
    entry = AuditLog(user_id=user.id if user else None, action=action, object_type=object_type,
                     object_id=object_id, details=details)
    session.add(entry)
    return entry
