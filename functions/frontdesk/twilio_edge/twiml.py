"""TwiML for a :class:`~frontdesk.twilio_edge.decisions.Reply`, built only with the ``twilio`` package's
``VoiceResponse`` (it escapes every value; no TwiML is ever assembled from strings here).

Shapes::

    stream      <Response><Connect action="{after_url}" method="POST">
                  <Stream url="{bridge}/ws/twilio-stream">
                    <Parameter name="token" …/><Parameter name="restaurant_id" …/><Parameter name="caller" …/>
                  </Stream></Connect></Response>
    dial        <Response>[<Say>…</Say>]<Dial action="{after_url}" method="POST" timeout="…" answerOnBridge="true">
                  <Number>{failover}</Number></Dial></Response>
    say_hangup  <Response><Say>…</Say><Hangup/></Response>
    hangup      <Response><Hangup/></Response>

The ``<Dial>`` action is the after-stream URL too: Twilio posts ``DialCallStatus`` there when the dial ends,
which tells it apart from the end of a stream (see :func:`~frontdesk.twilio_edge.decisions.after_dial`).
``answerOnBridge`` keeps the caller hearing ringing until the restaurant picks up, and the caller's own
number is what the restaurant's phone shows.
"""

from __future__ import annotations

from collections.abc import Mapping

from frontdesk.twilio_edge.decisions import Action, Reply

__all__ = ["DIAL_TIMEOUT_SECONDS", "STREAM_PATH", "render"]

#: The bridge's Media Streams endpoint, appended to ``BRIDGE_PUBLIC_URL``.
STREAM_PATH = "/ws/twilio-stream"
#: How long the failover number rings before the caller is told nobody answered.
DIAL_TIMEOUT_SECONDS = 25


def render(reply: Reply, *, after_url: str, stream_url: str | None = None,
           parameters: Mapping[str, str] | None = None) -> str:
    """The TwiML document for ``reply``. ``stream_url`` and ``parameters`` are needed for ``stream`` only."""
    from twilio.twiml.voice_response import VoiceResponse

    response = VoiceResponse()
    if reply.action is Action.STREAM:
        if not stream_url:
            raise ValueError("a stream reply needs the stream URL")
        connect = response.connect(action=after_url, method="POST")
        stream = connect.stream(url=stream_url)
        for name, value in (parameters or {}).items():
            stream.parameter(name=name, value=value)
    elif reply.action is Action.DIAL:
        if not reply.number:
            raise ValueError("a dial reply needs a number")
        if reply.say:
            response.say(reply.say)
        dial = response.dial(action=after_url, method="POST", timeout=DIAL_TIMEOUT_SECONDS, answer_on_bridge=True)
        dial.number(reply.number)
    elif reply.action is Action.SAY_HANGUP:
        response.say(reply.say or "")
        response.hangup()
    else:
        response.hangup()
    return str(response.to_xml())
