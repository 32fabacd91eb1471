"""Schemathesis hooks for scripts/reliability/schemathesis.ts (SCHEMATHESIS_HOOKS=schemathesis_hooks).

(And, at the end, one for the run's time: GET /v1/events long polls are shortened.)

Two rules of the contract depend on more than a request's shape, so no schema can state them:
`disabledUntil` must be in the future (of the server's clock), and a PATCH may set the disable's
details only for a user that is, or becomes, disabled (the stored status decides). Generated
bodies are adjusted to meet them, so `positive_data_acceptance` keeps its full strength on
createUser and updateUser instead of accepting every 400 there. Only well-formed values are
touched: a body that breaks the schema elsewhere stays broken.
"""

import re
from datetime import datetime, timedelta, timezone

import schemathesis

UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def _future(value):
    """A well-formed UTC time moved past now (a year ahead), keeping its time of day; else unchanged."""
    if not isinstance(value, str) or not UTC.match(value):
        return value
    try:
        parsed = datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    except ValueError:
        return value
    if parsed > datetime.now(timezone.utc) + timedelta(minutes=5):
        return value
    ahead = datetime.now(timezone.utc) + timedelta(days=365)
    return ahead.strftime("%Y-%m-%dT") + value[11:]


@schemathesis.hook
def map_body(ctx, body):
    if not isinstance(body, dict):
        return body
    if "disabledUntil" in body:
        body["disabledUntil"] = _future(body["disabledUntil"])
    details = any(body.get(field) is not None for field in ("disabledUntil", "disabledReason"))
    if details and "status" not in body and ctx.operation.method.upper() == "PATCH":
        body["status"] = "disabled"
    return body


# GET /v1/events?waitSeconds=: a request that finds nothing newer waits up to 30 s. Generated
# cases wait at most a second (a well-formed value above 1 becomes 1), so the waiting path is still
# taken but hundreds of cases do not hold the run for minutes; malformed values stay as generated.
LONG_POLL_SECONDS = 1


@schemathesis.hook
def map_query(ctx, query):
    if not isinstance(query, dict) or ctx.operation.path != "/v1/events":
        return query
    wait = query.get("waitSeconds")
    if isinstance(wait, str) and wait.isdigit() and int(wait) > LONG_POLL_SECONDS:
        query["waitSeconds"] = str(LONG_POLL_SECONDS)
    elif isinstance(wait, int) and not isinstance(wait, bool) and wait > LONG_POLL_SECONDS:
        query["waitSeconds"] = LONG_POLL_SECONDS
    return query
