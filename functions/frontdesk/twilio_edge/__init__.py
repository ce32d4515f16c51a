"""The Twilio edge: what the three Twilio webhooks decide, kept apart from HTTP.

* :mod:`.decisions` — pure rules: answer with the AI or send the call to the restaurant, what to do when the
  stream ends, which outcome a call ends with. Standard library and the contract package only.
* :mod:`.phrases` — every sentence the webhooks make Twilio say.
* :mod:`.twiml` — renders a decision as TwiML with the ``twilio`` package's ``VoiceResponse``.
* :mod:`.signature` — ``X-Twilio-Signature`` checks (auth token HMAC-SHA1, SharedKey HMAC-SHA256) with the
  ``twilio`` package's ``RequestValidator``, and the credentials they use.
* :mod:`.runtime` — the per-process bundle the routes use (adapters, credentials, stream-token secret).

The routes are in :mod:`frontdesk.api.twilio`; operating notes in ``functions/frontdesk/api/TWILIO.md``.
"""
