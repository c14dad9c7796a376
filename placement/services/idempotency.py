"""Idempotent staff API requests (issue 12): a client that retries a POST after a timeout must not release or
withdraw twice. The request's `Idempotency-Key` is kept in the release form's double-submit table
(`ReleaseSubmission`), in the same transaction as the change, with the SHA-256 of the request and the first answer:

- the same key with the same request: the first answer, replayed; nothing changes;
- the same key with another request: refused (`IdempotencyKeyReused`, 422);
- a refused request (a `DomainError`, a validation error) rolls back with its key, so a retry is tried afresh.

Keys are per user: two staff members choosing the same key never see each other's answers.
"""

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import transaction

from ..errors import IdempotencyKeyReused
from ..models import ReleaseSubmission

KEY_MAX_LENGTH = 255


def idempotency_token(*, key: str, user_id: int) -> str:
    """The table's token for a user's key: "api:" and a digest, within the form token's 64 characters."""
    return "api:" + hashlib.sha256(f"{user_id}:{key}".encode()).hexdigest()[:56]


def request_fingerprint(*, method: str, path: str, data: Any) -> str:
    return hashlib.sha256(
        json.dumps([method, path, data], sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()


def idempotent_answer(
    *, key: str, by, kindergarten_id: int, fingerprint: str, answer: Callable[[], tuple[int, Any]]
) -> tuple[int, Any]:
    """Run `answer` (the service call and its serialized answer: status, body) once per key and request."""
    token = idempotency_token(key=key, user_id=by.pk)
    with transaction.atomic():
        submission, first = ReleaseSubmission.objects.get_or_create(
            token=token, defaults={"kindergarten_id": kindergarten_id, "request_sha256": fingerprint}
        )
        if not first:
            if submission.request_sha256 != fingerprint or submission.response_status is None:
                raise IdempotencyKeyReused()
            return submission.response_status, submission.response_body
        status, body = answer()
        ReleaseSubmission.objects.filter(token=token).update(
            response_status=status, response_body=json.loads(json.dumps(body, default=str))
        )
    return status, body
