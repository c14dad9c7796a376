"""API tokens in the shared cache (issue 15): the token → user look-up without a query, and its exact revocation.

What is cached is the user's role and access flags only — no name, phone or IIN: the user comes back with those
fields deferred, and a view that reads one (the `me` profile) loads it from the database then. Revocation is
exact, never a matter of waiting for an expiry: deleting a token (a logout, a new login ending the other sessions,
a cabinet block) deletes its entry on commit, and saving a user (deactivated, a role changed) deletes the entries
of all their tokens. Entries also expire after `TOKEN_CACHE_SECONDS`, which bounds what a revocation lost during a
cache outage could leave behind (the tolerant cache also drops its entries when Redis comes back,
indigo/cache.py). The cache is keyed by a hash of the token, never the token itself.
"""

import hashlib

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import router, transaction
from django.db.models.signals import post_delete, post_save
from rest_framework.authtoken.models import Token

TOKEN_CACHE_SECONDS = 300
# What permissions, the claim path and the SMS language read. Nothing that names a person.
CACHED_FIELDS = (
    "id", "role", "is_active", "is_staff", "is_superuser", "kindergarten_id", "language", "last_login", "date_joined",
)  # fmt: skip


def _token_key(key: str) -> str:
    return "auth:token:" + hashlib.sha256(key.encode()).hexdigest()


def token_cached_user(key: str):
    """The user of a cached token, with only the cached fields loaded (any other is read from the database when
    first used); None when the token is not cached (or the cache is down: the tolerant cache treats it as a miss)."""
    values = cache.get(_token_key(key))
    if values is None:
        return None
    User = get_user_model()
    names = [field.attname for field in User._meta.concrete_fields if field.attname in values]
    return User.from_db(router.db_for_read(User), names, [values[name] for name in names])


def token_cache_put(key: str, user, *, issued: bool = False) -> None:
    """Cache the token's user: at once when it was read from the database, once the current transaction commits
    when it was just `issued` (never a token that is rolled back)."""
    values = {name: getattr(user, name) for name in CACHED_FIELDS}

    def put():
        cache.set(_token_key(key), values, timeout=TOKEN_CACHE_SECONDS)

    if issued:
        transaction.on_commit(put)
    else:
        put()


def _forget(keys) -> None:
    """Drop the tokens' entries now, and again once the deletion commits: a request that read the token from the
    database in between (it still exists until then) may have cached it again."""
    keys = [_token_key(key) for key in keys]
    if keys:
        cache.delete_many(keys)
        transaction.on_commit(lambda: cache.delete_many(keys))


def _token_deleted(sender, instance: Token, **kwargs) -> None:
    _forget([instance.key])


def user_tokens_forget(*, user_id: int) -> None:
    """The user changed in a way cached tokens carry (a role, access, the SMS language): drop their entries."""
    _forget(Token.objects.filter(user_id=user_id).values_list("key", flat=True))


def _user_saved(sender, instance, created: bool, **kwargs) -> None:
    if not created:
        user_tokens_forget(user_id=instance.pk)


def token_cache_connect() -> None:
    """Called by AccountsConfig.ready(): keep the cache exact when tokens and users change."""
    post_delete.connect(_token_deleted, sender=Token, dispatch_uid="accounts.tokens.token_deleted")
    post_save.connect(_user_saved, sender=get_user_model(), dispatch_uid="accounts.tokens.user_saved")
