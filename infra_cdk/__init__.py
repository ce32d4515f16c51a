"""Front Desk infrastructure: a CDK app (Python) split into stacks by lifecycle.

network -> data -> api -> bridge -> observability. See the README, "Deploying to AWS".
"""
