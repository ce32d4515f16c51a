"""Deploy-time migrations: a CloudFormation custom resource behind CDK's Provider framework.

Create and Update run the migration runner (roles first, then every pending file as app_owner); Delete
does nothing, so removing the stack never touches the data. Success returns a dict, failure raises: the
Provider framework reports both to CloudFormation, and a failed migration fails (and rolls back) the deploy.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from frontdesk.config import Settings

logger = Logger(service="migrations")
PHYSICAL_ID = "frontdesk-schema-migrations"


@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    request = event.get("RequestType")
    if request == "Delete":
        return {"PhysicalResourceId": event.get("PhysicalResourceId", PHYSICAL_ID)}
    if request not in {"Create", "Update"}:
        raise ValueError(f"unexpected RequestType {request!r}")

    from frontdesk.db.migrate import migrate
    from frontdesk.wiring import migration_conninfo

    conninfo, passwords = migration_conninfo(Settings())
    applied = migrate(conninfo, role_passwords=passwords)
    logger.info("migrations done", extra={"applied": applied})
    return {"PhysicalResourceId": PHYSICAL_ID, "Data": {"Applied": ",".join(applied) or "none"}}
