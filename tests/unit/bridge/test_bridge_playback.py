"""Playback accounting from Twilio mark echoes (8 bytes = 1 ms)."""

from __future__ import annotations

import asyncio

from frontdesk_bridge.playback import PlaybackTracker, b64_decoded_len


def test_decoded_length_is_computed_from_base64_without_decoding() -> None:
    import base64

    for n in range(0, 50):
        assert b64_decoded_len(base64.b64encode(b"x" * n)) == n
        assert b64_decoded_len(base64.b64encode(b"x" * n).decode()) == n


def test_truncation_uses_audio_confirmed_by_mark_echoes_not_audio_sent() -> None:
    p = PlaybackTracker()
    marks = [p.on_audio_sent("item_1", 800) for _ in range(5)]
    p.on_mark_echo(marks[1])  # the first two chunks have played
    barge = p.barge_in()
    assert barge is not None
    assert (barge.item_id, barge.audio_end_ms, barge.sent_ms) == ("item_1", 200, 500)


def test_an_echo_implies_every_earlier_mark_played() -> None:
    p = PlaybackTracker()
    marks = [p.on_audio_sent("a", 160) for _ in range(3)]
    assert p.on_mark_echo(marks[2])
    assert p.played_ms("a") == 60 and not p.has_unplayed


def test_echoes_that_follow_a_clear_are_not_counted_as_played() -> None:
    p = PlaybackTracker()
    marks = [p.on_audio_sent("a", 800) for _ in range(4)]
    p.on_mark_echo(marks[0])
    assert p.barge_in() is not None
    for name in marks[1:]:  # Twilio echoes every pending mark at once after a clear
        assert not p.on_mark_echo(name)
    assert p.played_ms("a") == 100


def test_nothing_unplayed_means_no_barge_in() -> None:
    p = PlaybackTracker()
    assert p.barge_in() is None
    p.on_mark_echo(p.on_audio_sent("a", 160))
    assert p.barge_in() is None


def test_the_playing_item_is_truncated_when_two_items_are_queued() -> None:
    p = PlaybackTracker()
    p.on_mark_echo(p.on_audio_sent("first", 800))
    p.on_audio_sent("first", 800)
    p.on_audio_sent("second", 800)
    barge = p.barge_in()
    assert barge is not None and (barge.item_id, barge.audio_end_ms) == ("first", 100)


def test_audio_end_ms_never_exceeds_what_was_sent() -> None:
    p = PlaybackTracker()
    name = p.on_audio_sent("a", 7)  # not a whole millisecond
    p.on_audio_sent("a", 9)
    p.on_mark_echo(name)
    barge = p.barge_in()
    assert barge is not None and barge.audio_end_ms * 8 <= 16 and barge.audio_end_ms == 0


def test_waiting_for_playback_returns_once_every_mark_is_echoed() -> None:
    async def scenario() -> None:
        p = PlaybackTracker()
        name = p.on_audio_sent("a", 160)
        waiter = asyncio.ensure_future(p.wait_played())
        await asyncio.sleep(0)
        assert not waiter.done()
        p.on_mark_echo(name)
        await asyncio.wait_for(waiter, 1)

    asyncio.run(scenario())
