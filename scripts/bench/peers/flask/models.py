"""The User document as a MongoEngine project writes it, mapped onto the service's `users` collection.

Field names follow Python (snake_case) and map to the service's stored names with `db_field`, so
every contender of the benchmark reads and writes the same documents. The indexes are the service's
own, with its names and specs, so MongoEngine's automatic index creation finds them already there.
"""

import json
import re
from datetime import datetime, timezone

from mongoengine import BooleanField, DateTimeField, DictField, Document, EmailField, IntField, StringField, ValidationError

ROLES = ("user", "moderator", "admin")
STATUSES = ("active", "disabled")
# \Z, not $: Python's $ also matches before a trailing newline.
USERNAME = r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{1,30})[A-Za-z0-9]\Z"
# Control characters and bidirectional overrides, as the service refuses them.
UNSAFE_DISPLAY = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
METADATA_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")
FORBIDDEN_KEYS = {"__proto__", "constructor", "prototype"}


def metadata_problem(value):
    """The metadata rules of API.md; the first problem found, or None."""
    if not isinstance(value, dict):
        return "must be a JSON object"
    if len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()) > 16 * 1024:
        return "must be at most 16 KiB serialized"

    # Depth counts the metadata object as level 1, and arrays as levels too, as the service does.
    def walk(node, depth, inside_array):
        if isinstance(node, list):
            if inside_array:
                return "must not hold an array directly inside an array"
            if depth > 5:
                return "must be at most 5 levels deep"
            return next((p for p in (walk(item, depth + 1, True) for item in node) if p), None)
        if not isinstance(node, dict):
            return None
        if depth > 5:
            return "must be at most 5 levels deep"
        for key, child in node.items():
            if not METADATA_KEY.fullmatch(key) or key in FORBIDDEN_KEYS:
                return "has a key that is not 1-64 characters of [A-Za-z0-9_-]"
            problem = walk(child, depth + 1, False)
            if problem:
                return problem
        return None

    return walk(value, 1, False)


def check_display_name(value):
    if isinstance(value, str) and UNSAFE_DISPLAY.search(value):
        raise ValidationError("must not contain control characters")


def check_metadata(value):
    problem = metadata_problem(value)
    if problem:
        raise ValidationError(problem)


def now():
    # MongoDB keeps milliseconds: truncate so the answer to a create is what a read returns.
    moment = datetime.now(timezone.utc).replace(tzinfo=None)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


class User(Document):
    meta = {
        "collection": "users",
        # Fields it does not model (the service's event outbox, in the documents the bench seeds
        # as the service stores them) are ignored on load, as Mongoose does for the Express peer.
        # Strict, every read of such a document raised FieldDoesNotExist: a 500 for every request.
        "strict": False,
        "indexes": [
            {"fields": ["username_key"], "name": "usernameKey_unique", "unique": True},
            {"fields": ["email_key"], "name": "emailKey_unique", "unique": True},
            {"fields": ["-created_at", "-id"], "name": "createdAt_id"},
        ],
    }

    username = StringField(required=True, regex=USERNAME)
    username_key = StringField(required=True, db_field="usernameKey")
    email = EmailField(required=True, max_length=254)
    email_key = StringField(required=True, db_field="emailKey")
    display_name = StringField(min_length=1, max_length=100, validation=check_display_name, db_field="displayName")
    metadata = DictField(default=dict, validation=check_metadata)
    role = StringField(choices=ROLES, default="user")
    status = StringField(choices=STATUSES, default="active")
    password_hash = StringField(db_field="passwordHash")
    created_at = DateTimeField(required=True, default=now, db_field="createdAt")
    updated_at = DateTimeField(required=True, default=now, db_field="updatedAt")
    version = IntField(required=True, min_value=1, default=1)
    email_verified = BooleanField(default=False, db_field="emailVerified")

    def clean(self):
        # The normalized keys follow the values; MongoEngine calls clean() from validate() on save.
        if isinstance(self.username, str):
            self.username_key = self.username.lower()
        if isinstance(self.email, str):
            self.email_key = self.email.lower()

    def to_api(self):
        """The API's User; the password hash never leaves here."""
        user = {
            "id": str(self.id),
            "username": self.username,
            "email": self.email,
            "metadata": self.metadata or {},
            "role": self.role,
            "status": self.status,
            "hasPassword": isinstance(self.password_hash, str),
            "emailVerified": bool(self.email_verified),
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
            "version": self.version,
        }
        if self.display_name is not None:
            user["displayName"] = self.display_name
        return user


def iso(moment):
    """ISO 8601 with milliseconds and Z, as JavaScript's toISOString writes it (naive = UTC)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
