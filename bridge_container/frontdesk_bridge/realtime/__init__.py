"""Speech-to-speech model providers behind one small interface (:mod:`.provider`).

OpenAI Realtime GA (:mod:`.openai_ga`) is the one implementation today.
"""
