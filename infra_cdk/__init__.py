"""Front Desk infrastructure: a CDK app (Python) split into stacks by lifecycle.

network -> data -> api -> bridge -> observability. See infra_cdk/RUNBOOK.md.
"""
