"""Holds in Redis: one atomic Lua script places a hold only if confirmed + held load fits every bucket.

Keys (``prefix`` keeps tenants, environments and test runs apart):
  {prefix}hold:{hold_id}                   the hold itself (JSON), expiring with it (PX)
  {prefix}load:{restaurant_id}:{epoch}     per UTC 15-minute bucket, a sorted set of live holds:
                                           member "hold_id|party|starting", score = expiry in ms
Expired members are purged by every script that reads a bucket, so a hold never outlives its expiry.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from frontdesk.core import timeutil
from frontdesk.core.errors import HoldsUnavailable
from frontdesk.core.model import BucketState, Hold, Load, Slot

log = logging.getLogger(__name__)

_SUM_BUCKET = """
local function held(key, now)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  local covers, parties, starting = 0, 0, 0
  for _, member in ipairs(redis.call('ZRANGE', key, 0, -1)) do
    local _, _, party, s = string.find(member, '^[^|]+|(%d+)|(%d)$')
    party = tonumber(party)
    covers = covers + party
    parties = parties + 1
    if s == '1' then starting = starting + party end
  end
  return covers, parties, starting
end
"""

# KEYS[1] hold key, KEYS[2..] bucket keys.
# ARGV: now_ms, expires_ms, hold_id, party, hold_json, ttl_ms, then 7 per bucket:
#       confirmed covers, confirmed parties, confirmed starting, cap covers, cap parties, cap starting, starting(0|1)
# Returns {0} when any bucket is full, else {1, then held covers, parties, starting per bucket incl. this hold}.
PLACE_SCRIPT = _SUM_BUCKET + """
local now, party, ttl = tonumber(ARGV[1]), tonumber(ARGV[4]), tonumber(ARGV[6])
local loads = {}
for i = 2, #KEYS do
  local hc, hp, hs = held(KEYS[i], now)
  local a = 6 + (i - 2) * 7
  local cc, cp, cs = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local mc, mp, ms = tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5]), tonumber(ARGV[a + 6])
  local starting = ARGV[a + 7] == '1'
  if cc + hc + party > mc or cp + hp + 1 > mp or (starting and cs + hs + party > ms) then
    return {0}
  end
  loads[#loads + 1] = hc + party; loads[#loads + 1] = hp + 1
  loads[#loads + 1] = hs + (starting and party or 0)
end
for i = 2, #KEYS do
  local a = 6 + (i - 2) * 7
  redis.call('ZADD', KEYS[i], ARGV[2], ARGV[3] .. '|' .. ARGV[4] .. '|' .. ARGV[a + 7])
  if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
end
redis.call('SET', KEYS[1], ARGV[5], 'PX', ttl)
return {1, unpack(loads)}
"""

# KEYS: bucket keys. ARGV[1]: now_ms. Returns covers, parties, starting per bucket, flattened.
HELD_SCRIPT = _SUM_BUCKET + """
local out = {}
for i = 1, #KEYS do
  local c, p, s = held(KEYS[i], tonumber(ARGV[1]))
  out[#out + 1] = c; out[#out + 1] = p; out[#out + 1] = s
end
return out
"""

# KEYS[1] hold key, KEYS[2..] bucket keys; ARGV[i] the member to remove from KEYS[i + 1].
RELEASE_SCRIPT = """
for i = 2, #KEYS do redis.call('ZREM', KEYS[i], ARGV[i - 1]) end
redis.call('DEL', KEYS[1])
return 1
"""


def _ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


class RedisHoldStore:
    """HoldStore on Redis. After a failure it stops trying for ``cooldown`` seconds, so a dead Redis costs
    callers nothing but the degraded flag."""

    def __init__(self, client: redis.Redis, *, prefix: str = "fd:", cooldown: float = 2.0) -> None:
        self._r = client
        self._prefix = prefix
        self._cooldown = cooldown
        self._down_until = 0.0
        self._lock = threading.Lock()
        self._place = client.register_script(PLACE_SCRIPT)
        self._held = client.register_script(HELD_SCRIPT)
        self._release = client.register_script(RELEASE_SCRIPT)

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "fd:", password: str | None = None,
                 timeout: float = 0.5) -> RedisHoldStore:
        client = redis.Redis.from_url(
            url, password=password, socket_timeout=timeout, socket_connect_timeout=timeout,
            health_check_interval=30, decode_responses=True,
        )
        return cls(client, prefix=prefix)

    # -- keys ---------------------------------------------------------------------------------------

    def hold_key(self, hold_id: str) -> str:
        return f"{self._prefix}hold:{hold_id}"

    def bucket_key(self, restaurant_id: UUID, bucket: datetime) -> str:
        return f"{self._prefix}load:{restaurant_id}:{int(bucket.timestamp())}"

    # -- guarded calls ------------------------------------------------------------------------------

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if time.monotonic() < self._down_until:
            raise HoldsUnavailable()
        try:
            return fn(*args, **kwargs)
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            with self._lock:
                self._down_until = time.monotonic() + self._cooldown
            log.warning("redis unavailable, holds degraded for %.1fs: %s", self._cooldown, exc)
            raise HoldsUnavailable() from exc

    # -- HoldStore ----------------------------------------------------------------------------------

    def place(self, hold: Hold, buckets: Sequence[BucketState]) -> dict[datetime, Load] | None:
        slot = hold.slot
        first = timeutil.floor_bucket(slot.start)
        payload = json.dumps({
            "r": str(slot.restaurant_id), "s": slot.start.timestamp(), "e": slot.end.timestamp(),
            "p": slot.party_size, "d": slot.service_date.isoformat(), "x": _ms(hold.expires_at),
        })
        now_ms = int(time.time() * 1000)
        ttl_ms = max(1, _ms(hold.expires_at) - now_ms)
        args: list[Any] = [now_ms, _ms(hold.expires_at), hold.hold_id, slot.party_size, payload, ttl_ms]
        keys = [self.hold_key(hold.hold_id)]
        for state in buckets:
            keys.append(self.bucket_key(slot.restaurant_id, state.bucket))
            args += [state.confirmed.covers_present, state.confirmed.parties_present,
                     state.confirmed.covers_starting, state.caps.max_covers_present,
                     state.caps.max_parties_present, state.caps.max_covers_starting,
                     1 if state.bucket == first else 0]
        result = self._call(self._place, keys=keys, args=args)
        if not result or result[0] == 0:
            return None
        flat = result[1:]
        return {state.bucket: Load(*flat[i * 3: i * 3 + 3]) for i, state in enumerate(buckets)}

    def held_loads(self, restaurant_id: UUID, buckets: Sequence[datetime]) -> dict[datetime, Load]:
        if not buckets:
            return {}
        flat = self._call(self._held, keys=[self.bucket_key(restaurant_id, b) for b in buckets],
                          args=[int(time.time() * 1000)])
        return {b: Load(*flat[i * 3: i * 3 + 3]) for i, b in enumerate(buckets)}

    def get(self, hold_id: str) -> Hold | None:
        raw = self._call(self._r.get, self.hold_key(hold_id))
        if raw is None:
            return None
        doc = json.loads(raw)
        expires_at = datetime.fromtimestamp(doc["x"] / 1000, UTC)
        slot = Slot(UUID(doc["r"]), datetime.fromtimestamp(doc["s"], UTC), datetime.fromtimestamp(doc["e"], UTC),
                    int(doc["p"]), date.fromisoformat(doc["d"]))
        return Hold(hold_id, slot, expires_at)

    def release(self, hold: Hold) -> None:
        slot = hold.slot
        first = timeutil.floor_bucket(slot.start)
        keys = [self.hold_key(hold.hold_id)]
        members = []
        for b in timeutil.buckets(slot.start, slot.end):
            keys.append(self.bucket_key(slot.restaurant_id, b))
            members.append(f"{hold.hold_id}|{slot.party_size}|{1 if b == first else 0}")
        self._call(self._release, keys=keys, args=members)

    def ping(self) -> None:
        self._call(self._r.ping)
