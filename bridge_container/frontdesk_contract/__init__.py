"""Wire contracts shared by the Lambda side (``functions/``) and the realtime bridge.

Standard library only, so both deployables can import it without dragging the other's dependencies:

* :mod:`frontdesk_contract.stream_token` — the short-lived signed token the voice webhook puts in the
  TwiML ``<Parameter name="token">`` and the bridge verifies before opening a model session.
* :mod:`frontdesk_contract.call_record` — the call-outcome record the bridge writes to Redis and the
  ``/twilio/after-stream`` webhook reads to decide between hanging up and dialling the failover number.

Each module's docstring is the one place its format is defined.
"""

from frontdesk_contract.call_record import (
    CallOutcome,
    CallRecord,
    CallRecordError,
    CallState,
    after_stream_action,
    call_record_key,
    decode_call_record,
    encode_call_record,
)
from frontdesk_contract.stream_token import (
    MAX_TTL_SECONDS,
    StreamClaims,
    StreamTokenError,
    issue_stream_token,
    verify_stream_token,
)

__all__ = [
    "MAX_TTL_SECONDS",
    "CallOutcome",
    "CallRecord",
    "CallRecordError",
    "CallState",
    "StreamClaims",
    "StreamTokenError",
    "after_stream_action",
    "call_record_key",
    "decode_call_record",
    "encode_call_record",
    "issue_stream_token",
    "verify_stream_token",
]
