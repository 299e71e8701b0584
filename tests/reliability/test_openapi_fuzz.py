"""A schema-aware fuzzer (schemathesis) over the OpenAPI document, as the public, a planner
and an admin: no server error, no answer (status, media type, body, headers) that the
document does not declare, no request that breaks the schema accepted.

Left out: signing out (the fuzzer would end its own session), and the check that every
schema-valid request succeeds: a request can fit the schema and still name a community that
does not exist or a term that starts before the current one, and its 422 is declared.
By default the run is small, on SpatiaLite, as the public and an admin (who between them
reach every route, the planner's answers being masked versions of the admin's), without the
boundary-value phase; with GRIDMAP_RELIABILITY=full it runs every phase with 20 examples per
operation on both databases, as every role."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from processes import FULL, size, token

ROLES = ("public", "planner", "admin")
#: the roles of the default run
SMALL_RUN_ROLES = ("public", "admin")


@pytest.mark.parametrize("role", ROLES)
def test_the_fuzzer_finds_no_server_error_and_no_mismatch(services, db_url, role, tmp_path):
    if not FULL and not db_url.startswith("sqlite"):
        pytest.skip("the full run (GRIDMAP_RELIABILITY=full) fuzzes PostGIS too")
    if not FULL and role not in SMALL_RUN_ROLES:
        pytest.skip("the full run (GRIDMAP_RELIABILITY=full) fuzzes every role")
    url = services[0].url
    phases = "examples,coverage,fuzzing,stateful" if FULL else "examples,fuzzing,stateful"
    command = [str(Path(sys.executable).with_name("schemathesis")), "run", f"{url}/openapi.json",
               "--checks", "all", "--exclude-checks", "positive_data_acceptance",
               "--max-examples", str(size(2, 20)), "--phases", phases, "--exclude-path", "/auth/sign-out",
               "--no-color", "--seed", "1",
               # one worker: Python 3.11.7's ast.parse is not safe in two threads at once ("AST
               # constructor recursion depth mismatch"), and hypothesis parses its lambdas with it
               "--workers", "1",
               "--request-timeout", "60"]  # a slow answer on a busy test machine is not a failure  # fmt: skip
    if role != "public":
        command += ["--header", f"Authorization: {token(url, role)['Authorization']}"]
    if not Path(command[0]).exists():
        command[0] = shutil.which("schemathesis") or command[0]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    head = run.stdout.split("SUMMARY")[0]
    found = (
        head.split("FAILURES")[-1]
        if "FAILURES" in head
        else head.split("ERRORS")[-1]
        if "ERRORS" in head
        else ""
    )
    tail = found[-6000:] + "\n".join(run.stdout.splitlines()[-30:])
    assert run.returncode == 0, tail + "\n--- the service's log ---\n" + services[0].log_tail()
    assert "failure" not in run.stdout.splitlines()[-1], tail
