"""The audit log: one helper writes every record (DOMAIN.md, People and security: who, when, what)."""

from django.db import models

from ..models import AuditEntry


def audit_record(
    *, actor, action: str, target: models.Model | None = None, ip: str | None = None, at=None, **details
) -> AuditEntry:
    fields = {
        "actor": actor if getattr(actor, "pk", None) else None,
        "action": action,
        "target_type": target._meta.label_lower if target is not None else "",
        "target_id": str(target.pk) if target is not None else "",
        "ip": ip,
        "details": details,
    }
    if at is not None:
        fields["at"] = at
    return AuditEntry.objects.create(**fields)
