"""Small helpers shared by the stacks."""

from __future__ import annotations

from aws_cdk import aws_logs as logs

_RETENTION = {
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
}


def retention_days(days: int) -> logs.RetentionDays:
    """CloudWatch Logs retention for a number of days (one of the values CloudWatch accepts)."""
    try:
        return _RETENTION[days]
    except KeyError:
        raise ValueError(f"unsupported log retention {days} days; use one of {sorted(_RETENTION)}") from None
