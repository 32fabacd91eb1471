"""Run scim2-tester's check_server against a live SCIM server and report every check.

Usage (normally through scripts/scim/run-tester.ts, which provides the virtualenv):
    SCIM_TOKEN=<bearer token> python tester.py https://host/scim/v2 [--resource-type User] [--exclude-tag TAG] [--json FILE]

The bearer token comes from the environment so it never appears in a process listing. Each check
prints one line: its status, resource type, name and reason. SKIPPED checks are allowed (each
reason is printed, and README.md beside this script says why each is expected); any ERROR or
CRITICAL fails the run (exit 1), as does a run that performed no check at all. With --json, every
check is also written to FILE as a JSON list of {status, resource_type, title, reason} (for
scripts/reliability/scim-tester.ts).
"""

import argparse
import json
import os
import sys
from collections import Counter

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import CheckResult, Status, check_server

PASSING = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE, Status.DEVIATION}
FAILING = {Status.ERROR, Status.CRITICAL}


def describe(result: CheckResult) -> str:
    reason = " ".join((result.reason or "").split())
    return f"{result.status.name:<10} {result.resource_type or '-':<6} {result.title}: {reason}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base_url", help="the SCIM base URL, e.g. http://127.0.0.1:3000/scim/v2")
    parser.add_argument("--resource-type", action="append", help="resource types to check (default: User)")
    parser.add_argument("--exclude-tag", action="append", help="scim2-tester tags to skip (reported as SKIPPED)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument("--json", help="also write every check to this file, as JSON")
    args = parser.parse_args()

    token = os.environ.get("SCIM_TOKEN")
    if not token:
        print("SCIM_TOKEN is not set: the bearer token for the server", file=sys.stderr)
        return 2

    headers = {"Authorization": f"Bearer {token}"}
    with Client(base_url=args.base_url, headers=headers, timeout=args.timeout) as http:
        results = check_server(
            SyncSCIMClient(http),
            resource_types=args.resource_type or ["User"],
            exclude_tags=set(args.exclude_tag) if args.exclude_tag else None,
        )

    for result in results:
        print(describe(result))
        if result.status in FAILING and result.data is not None:
            print(f"           data: {str(result.data)[:800]}")

    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(
                [
                    {
                        "status": result.status.name,
                        "resource_type": result.resource_type,
                        "title": result.title,
                        "reason": " ".join((result.reason or "").split()),
                    }
                    for result in results
                ],
                out,
            )

    counts = Counter(result.status for result in results)
    passed = sum(counts[status] for status in PASSING)
    failed = sum(counts[status] for status in FAILING)
    skipped = counts[Status.SKIPPED]
    if skipped:
        print("\nskipped checks and their reasons:")
        for result in results:
            if result.status == Status.SKIPPED:
                print(f"  {result.title} ({result.resource_type or '-'}): {result.reason}")
    deviations = counts[Status.DEVIATION]
    print(
        f"\nscim2-tester summary: {passed} succeeded ({deviations} with a deviation from a SHOULD), "
        f"{skipped} skipped, {failed} errors, {len(results)} checks"
    )
    if not results:
        print("no check ran", file=sys.stderr)
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
