"""The realtime voice bridge: Twilio Media Streams ⇄ a speech-to-speech model, with booking tools.

Layout (dependencies point inward):

* :mod:`.twilio_wire`, :mod:`.realtime.openai_ga` — pure translation of the two wire protocols
  (typed messages, a ``type`` → class table, outbound frames built as bytes).
* :mod:`.playback` — what Twilio has actually played, from mark echoes (barge-in arithmetic).
* :mod:`.tools` — the tool schemas and their execution against the booking HTTP API
  (:mod:`.booking_api`), with every API error turned into a short speakable result (:mod:`.phrases`).
* :mod:`.call_store` — the call-outcome record and resume facts in Redis (format in
  :mod:`frontdesk_contract.call_record`).
* :mod:`.twilio_rest` — hang up / redirect a live call.
* :mod:`.session` — one call: owns its tasks, lifecycle as an enum, every ending path.
* :mod:`.server` — the websocket server, ``/healthz``, SIGTERM drain, :func:`.server.main`.

Nothing here imports ``frontdesk`` (the Lambda side): the booking HTTP API is the contract.
"""
