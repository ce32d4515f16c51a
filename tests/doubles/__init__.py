"""Protocol-faithful doubles for what cannot be reached from here (reusable across test suites).

* :mod:`doubles.realtime_validation` — strict validation of OpenAI Realtime GA client events.
* :mod:`doubles.fake_realtime` — a local OpenAI Realtime (GA) websocket server with scripted server events.
* :mod:`doubles.twilio_caller` — a Twilio Media Streams caller at real 20 ms pace, with Twilio's mark echoes.
* :mod:`doubles.fake_twilio_rest` — a fake Twilio REST API (call updates, messages) over real HTTP.
* :mod:`doubles.fake_booking_api` — the booking HTTP API contract in memory (an httpx transport).
* :mod:`doubles.audio` — the shared protocol fixtures (µ-law clips, JSONL samples).
"""
