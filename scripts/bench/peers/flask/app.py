"""Benchmark peer: the users endpoints of users-service in the original design, Flask + MongoEngine.

Env: MONGODB_URI, MONGODB_DB (and PORT, read by gunicorn.conf.py). No request log (gunicorn's
access log is off by default) and no auth: the Authorization header is ignored, which favours this
peer. Cursors use the service's format, so one cursor works on every contender.
"""

import base64
import hashlib
import json
import os
import re
from datetime import datetime

from argon2 import PasswordHasher
from bson import ObjectId
from flask import Flask, jsonify, request
from mongoengine import NotUniqueError, OperationError, Q, ValidationError, connect
from werkzeug.exceptions import HTTPException

from models import User, metadata_problem, now

ID = re.compile(r"[0-9a-f]{24}")
FIELDS = {"username", "email", "displayName", "password", "metadata", "role", "status"}
ATTRIBUTES = {"displayName": "display_name"}
# Bun.password's argon2id parameters, so a password costs here what it costs in the service.
hasher = PasswordHasher(time_cost=2, memory_cost=65536, parallelism=1)

# Each gunicorn worker imports this module after the fork, so each gets its own client.
connect(host=os.environ["MONGODB_URI"], db=os.environ["MONGODB_DB"])

app = Flask(__name__)
app.config["MAX_CONTENT_LENGTH"] = 32 * 1024


class ApiError(Exception):
    def __init__(self, status, code, title, detail=None, errors=None, headers=None):
        super().__init__(title)
        self.status, self.code, self.title = status, code, title
        self.detail, self.errors, self.headers = detail, errors, headers or {}


def bad_request(detail, errors=None):
    return ApiError(400, "validation_failed", "Request validation failed", detail, errors)


def not_found():
    return ApiError(404, "user_not_found", "User not found")


def require_id(user_id):
    if not ID.fullmatch(user_id):
        raise bad_request("The id must be 24 lower-case hexadecimal characters.", [{"pointer": "/id"}])
    return user_id


def read_body(nullable=()):
    """The JSON body as a dict of known fields, None only where allowed; the password checked and hashed."""
    body = request.get_json()  # 415 unless JSON (application/*+json too), 400 when malformed
    if not isinstance(body, dict):
        raise bad_request("The body must be a JSON object.")
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise bad_request(f"Unknown fields: {', '.join(unknown)}.", [{"pointer": f"/{k}"} for k in unknown])
    nulls = sorted(key for key, value in body.items() if value is None and key not in nullable)
    if nulls:
        raise bad_request("These fields must not be null.", [{"pointer": f"/{k}"} for k in nulls])
    fields = {ATTRIBUTES.get(key, key): value for key, value in body.items()}
    if isinstance(fields.get("email"), str):
        fields["email"] = fields["email"].strip()
    if isinstance(fields.get("display_name"), str):
        fields["display_name"] = fields["display_name"].strip()
    if "password" in fields:
        password = fields.pop("password")
        if not isinstance(password, str) or not 8 <= len(password) <= 128:
            raise bad_request("The password must be 8-128 characters.", [{"pointer": "/password"}])
        fields["password_hash"] = hasher.hash(password)
    return fields


def user_response(user, status=200):
    response = jsonify(user.to_api())
    response.status_code = status
    response.headers["ETag"] = f'"{user.version}"'
    return response


# The service's keyset cursor: base64url JSON of the last item's createdAt and id, plus a
# fingerprint of the (here always default) filters and sort.
def compact(value):
    return json.dumps(value, separators=(",", ":"))


FINGERPRINT = hashlib.sha256(compact(["-createdAt", None, None, None]).encode()).hexdigest()[:16]


def encode_cursor(user):
    payload = {"v": 1, "f": FINGERPRINT, "k": user.to_api()["createdAt"], "i": str(user.id)}
    return base64.urlsafe_b64encode(compact(payload).encode()).decode().rstrip("=")


def decode_cursor(cursor):
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        created_at = datetime.strptime(payload["k"], "%Y-%m-%dT%H:%M:%S.%fZ")
        if payload["v"] == 1 and payload["f"] == FINGERPRINT and ID.fullmatch(payload["i"]):
            return created_at, ObjectId(payload["i"])
    except (ValueError, KeyError, TypeError):
        pass
    raise bad_request("The cursor is not one this service issued.", [{"pointer": "/cursor"}])


def taken_field(error, keys, exclude_id=None):
    """Which unique key a failed write collided on, or None when the error is no duplicate key."""
    # MongoDB: 11000 on insert and update. FerretDB: 11000 on insert, code 1 "UNIQUE constraint" on update.
    if not isinstance(error, NotUniqueError) and not re.search("UNIQUE constraint|duplicate key", str(error)):
        return None
    # FerretDB names no index, so ask which key is already used by another user.
    query = Q()
    for key, value in keys.items():
        query |= Q(**{key: value})
    if exclude_id:
        query &= Q(id__ne=exclude_id)
    other = User.objects(query).only("username_key").first()
    if other is not None and other.username_key == keys.get("username_key"):
        return "username"
    return "email"


def conflict(field):
    return ApiError(409, f"{field}_taken", f"{field.capitalize()} already taken")


@app.get("/healthz")
def healthz():
    return {"status": "ok"}


@app.get("/v1/users")
def list_users():
    args = request.args
    unsupported = sorted(set(args) - {"limit", "cursor"})
    if unsupported:
        raise bad_request(f"Unsupported query parameters: {', '.join(unsupported)}.")
    limit = args.get("limit", "20")
    # isascii: isdigit alone admits "²", which int() refuses.
    if not (limit.isascii() and limit.isdigit()) or not 1 <= int(limit) <= 100:
        raise bad_request("limit must be 1-100.", [{"pointer": "/limit"}])
    limit = int(limit)
    users = User.objects
    if "cursor" in args:
        created_at, last_id = decode_cursor(args["cursor"])
        users = users(Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=last_id))
    page = list(users.order_by("-created_at", "-id").limit(limit + 1))
    items = page[:limit]
    next_cursor = encode_cursor(items[-1]) if len(page) > limit else None
    return jsonify(items=[user.to_api() for user in items], nextCursor=next_cursor)


@app.get("/v1/users/by-username/<username>")
def get_by_username(username):
    user = User.objects(username_key=username.lower()).first()
    if user is None:
        raise not_found()
    return user_response(user)


@app.get("/v1/users/<user_id>")
def get_user(user_id):
    user = User.objects(id=require_id(user_id)).first()
    if user is None:
        raise not_found()
    return user_response(user)


@app.post("/v1/users")
def create_user():
    timestamp = now()
    user = User(**read_body(), created_at=timestamp, updated_at=timestamp, version=1)
    try:
        user.save(force_insert=True)
    except NotUniqueError as error:
        raise conflict(taken_field(error, {"username_key": user.username_key, "email_key": user.email_key}))
    response = user_response(user, 201)
    response.headers["Location"] = f"/v1/users/{user.id}"
    return response


@app.patch("/v1/users/<user_id>")
def update_user(user_id):
    require_id(user_id)
    # A merge patch removes these with null.
    fields = read_body(nullable=("displayName", "metadata"))
    if not fields:
        raise bad_request("The patch must change at least one field.")
    update = {"$set": {}, "$unset": {}, "$inc": {"version": 1}}
    for name, value in fields.items():
        field = User._fields[name]
        if value is None and name == "display_name":
            update["$unset"]["displayName"] = ""
        elif value is None and name == "metadata":
            update["$set"]["metadata"] = {}
        elif name == "metadata":
            problem = metadata_problem(value)
            if problem:
                raise bad_request(f"metadata {problem}.", [{"pointer": "/metadata"}])
            flatten_metadata(value, "metadata", update)
        else:
            # The document's own field checks (regex, length, choices), as save() would run them.
            field._validate(value)
            update["$set"][field.db_field] = value
    keys = {}
    if "username" in fields:
        keys["username_key"] = update["$set"]["usernameKey"] = fields["username"].lower()
    if "email" in fields:
        keys["email_key"] = update["$set"]["emailKey"] = fields["email"].lower()
    update["$set"]["updatedAt"] = now()
    if not update["$unset"]:
        del update["$unset"]
    versions = if_match_versions(request.headers.get("If-Match"))
    users = User.objects(id=user_id)
    if isinstance(versions, list):
        users = users(version=versions[0]) if len(versions) == 1 else users(version__in=versions)
    try:
        try:
            user = users.modify(new=True, __raw__=update)
        except OperationError as error:
            # PathNotViable: a patched key holds a non-object, which RFC 7396 replaces; dotted paths cannot.
            if getattr(error.__context__, "code", None) != 28 or not isinstance(fields.get("metadata"), dict):
                raise
            user = replace_metadata(users, fields["metadata"], update)
    except (NotUniqueError, OperationError) as error:
        field = taken_field(error, keys, exclude_id=user_id)
        if field is None:
            raise
        raise conflict(field)
    if user is not None:
        return user_response(user)
    current = User.objects(id=user_id).only("version").first()
    if current is None:
        raise not_found()
    if not isinstance(versions, list):
        # Only replace_metadata's second write can miss a user that exists without a version guard.
        raise ApiError(503, "service_unavailable", "The user changed meanwhile; retry.")
    raise ApiError(412, "precondition_failed", "Precondition failed", headers={"ETag": f'"{current.version}"'})


def merge_patch(target, patch):
    """RFC 7396: nested objects merge, null removes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def replace_metadata(users, patch, update):
    """The rare merge dotted paths cannot do: read, merge here, write the whole metadata guarded by its version."""
    current = users.only("metadata", "version").first()
    if current is None:
        return None
    metadata = merge_patch(current.metadata or {}, patch)
    problem = metadata_problem(metadata)
    if problem:
        raise bad_request(f"metadata {problem}.", [{"pointer": "/metadata"}])
    whole = {"$inc": update["$inc"]}
    for operator in ("$set", "$unset"):
        paths = {path: value for path, value in update.get(operator, {}).items() if not path.startswith("metadata.")}
        if paths:
            whole[operator] = paths
    whole.setdefault("$set", {})["metadata"] = metadata
    return users(version=current.version).modify(new=True, __raw__=whole)


def flatten_metadata(patch, prefix, update):
    """A JSON merge patch of metadata as dotted-path $set/$unset, so the merge is one atomic update."""
    for key, value in patch.items():
        path = f"{prefix}.{key}"
        if value is None:
            update["$unset"][path] = ""
        elif isinstance(value, dict):
            flatten_metadata(value, path, update)
        else:
            update["$set"][path] = value


def if_match_versions(header):
    """If-Match: `*` or a list of strong tags `"<version>"`; None when absent."""
    if header is None:
        return None
    if header.strip() == "*":
        return "*"
    return [int(tag) for tag in re.findall(r'(?:^|,)\s*"(\d+)"\s*(?=,|$)', header)]


def problem(status, code, title, detail=None, errors=None, headers=None):
    body = {"type": "about:blank", "title": title, "status": status, "code": code}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.content_type = "application/problem+json"
    response.headers.extend(headers or {})
    return response


@app.errorhandler(ApiError)
def api_error(error):
    return problem(error.status, error.code, error.title, error.detail, error.errors, error.headers)


@app.errorhandler(ValidationError)
def validation_error(error):
    errors = [{"pointer": f"/{name}", "message": str(e)} for name, e in (error.errors or {}).items()]
    return problem(400, "validation_failed", "Request validation failed", str(error), errors)


@app.errorhandler(HTTPException)
def http_error(error):
    codes = {400: "malformed_json", 413: "payload_too_large", 415: "unsupported_media_type"}
    return problem(error.code, codes.get(error.code, "not_found"), error.name)
