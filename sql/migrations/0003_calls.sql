-- Calls: one row per Twilio call, fed by the Twilio webhooks (voice, after-stream, status callbacks).
--
-- Twilio retries callbacks and delivers them out of order, so every write goes through
-- record_call_status_v1, an idempotent upsert: a status is ranked (queued < initiated < ringing <
-- in-progress < terminal), the row's latest status only ever moves forward, a terminal status
-- (completed, busy, no-answer, canceled, failed) is never replaced, and the history keeps each status
-- once (call_status_events, primary key (call_id, status)).

-- Optional window in which the AI answers, in the restaurant's local time (NULL = always). Outside it
-- calls go straight to the failover number. closes <= opens means the window runs past midnight.
ALTER TABLE restaurants
    ADD COLUMN agent_opens  time,
    ADD COLUMN agent_closes time,
    ADD CONSTRAINT restaurants_agent_hours_both_or_neither CHECK ((agent_opens IS NULL) = (agent_closes IS NULL)),
    ADD CONSTRAINT restaurants_agent_hours_not_empty CHECK (agent_opens IS NULL OR agent_opens <> agent_closes);

-- Twilio's call statuses in the order a call goes through them; NULL for anything else.
CREATE FUNCTION fd_call_status_rank(p_status text) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE p_status
        WHEN 'queued' THEN 0 WHEN 'initiated' THEN 1 WHEN 'ringing' THEN 2 WHEN 'in-progress' THEN 3
        WHEN 'completed' THEN 4 WHEN 'busy' THEN 4 WHEN 'no-answer' THEN 4 WHEN 'canceled' THEN 4
        WHEN 'failed' THEN 4
    END::smallint
$$;

CREATE TABLE calls (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    call_sid          text NOT NULL UNIQUE CHECK (call_sid ~ '^CA[0-9a-fA-F]{32}$'),
    -- NULL for a call to a number no restaurant owns (still worth seeing).
    restaurant_id     uuid REFERENCES restaurants (id),
    from_number       text CHECK (length(from_number) <= 128),
    to_number         text CHECK (length(to_number) <= 128),
    status            text NOT NULL CHECK (fd_call_status_rank(status) IS NOT NULL),
    duration_seconds  integer CHECK (duration_seconds >= 0),
    outcome           text CHECK (outcome IN ('booked', 'cancelled', 'modified', 'info', 'transferred',
                                              'abandoned', 'failed')),
    reservation_id    uuid REFERENCES reservations (id),
    started_at        timestamptz NOT NULL,   -- time of the earliest status seen
    ended_at          timestamptz,            -- time of the terminal status
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX calls_by_restaurant ON calls (restaurant_id, started_at DESC);
CREATE INDEX calls_by_reservation ON calls (reservation_id) WHERE reservation_id IS NOT NULL;

-- Each status of a call, once, with the time Twilio gave it (or the time we heard of it).
CREATE TABLE call_status_events (
    call_id          uuid NOT NULL REFERENCES calls (id),
    status           text NOT NULL CHECK (fd_call_status_rank(status) IS NOT NULL),
    at               timestamptz NOT NULL,
    sequence_number  integer,
    received_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (call_id, status)
);

-- Record one status of a call; safe to repeat and to call out of order. Returns the call row as JSON.
-- p_restaurant may be NULL: the restaurant is then found by the called number (p_to). A reservation id
-- that does not exist is ignored rather than failing the callback. p_outcome NULL keeps the current one;
-- a non-terminal (late) update never replaces the outcome a terminal one already set.
CREATE FUNCTION record_call_status_v1(
    p_call_sid text, p_status text, p_at timestamptz,
    p_restaurant uuid DEFAULT NULL, p_from text DEFAULT NULL, p_to text DEFAULT NULL,
    p_duration integer DEFAULT NULL, p_outcome text DEFAULT NULL, p_reservation uuid DEFAULT NULL,
    p_sequence integer DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_rank        smallint := fd_call_status_rank(p_status);
    v_at          timestamptz := coalesce(p_at, now());
    v_restaurant  uuid;
    v_reservation uuid;
    v_call        calls;
BEGIN
    IF v_rank IS NULL THEN
        RAISE EXCEPTION 'unknown call status %', p_status USING ERRCODE = '22023';
    END IF;
    v_restaurant := coalesce(p_restaurant, (SELECT id FROM restaurants WHERE twilio_number = p_to));
    v_reservation := (SELECT id FROM reservations WHERE id = p_reservation);

    INSERT INTO calls AS c (call_sid, restaurant_id, from_number, to_number, status, duration_seconds, outcome,
                            reservation_id, started_at, ended_at)
    VALUES (p_call_sid, v_restaurant, p_from, p_to, p_status, p_duration, p_outcome, v_reservation, v_at,
            CASE WHEN v_rank = 4 THEN v_at END)
    ON CONFLICT (call_sid) DO UPDATE SET
        restaurant_id    = coalesce(c.restaurant_id, EXCLUDED.restaurant_id),
        from_number      = coalesce(c.from_number, EXCLUDED.from_number),
        to_number        = coalesce(c.to_number, EXCLUDED.to_number),
        status           = CASE WHEN fd_call_status_rank(c.status) = 4 THEN c.status
                                WHEN v_rank > fd_call_status_rank(c.status) THEN EXCLUDED.status
                                ELSE c.status END,
        duration_seconds = coalesce(EXCLUDED.duration_seconds, c.duration_seconds),
        outcome          = CASE WHEN EXCLUDED.outcome IS NULL THEN c.outcome
                                WHEN c.outcome IS NOT NULL AND fd_call_status_rank(c.status) = 4 AND v_rank < 4
                                    THEN c.outcome
                                ELSE EXCLUDED.outcome END,
        reservation_id   = coalesce(EXCLUDED.reservation_id, c.reservation_id),
        started_at       = least(c.started_at, EXCLUDED.started_at),
        ended_at         = CASE WHEN fd_call_status_rank(c.status) = 4 THEN c.ended_at
                                ELSE EXCLUDED.ended_at END,
        updated_at       = now()
    RETURNING * INTO v_call;

    INSERT INTO call_status_events (call_id, status, at, sequence_number)
    VALUES (v_call.id, p_status, v_at, p_sequence)
    ON CONFLICT (call_id, status) DO NOTHING;

    RETURN to_jsonb(v_call);
END $$;

-- Least privilege: the webhooks record calls through the function; no DELETE, no direct history edits.
GRANT SELECT, INSERT, UPDATE ON calls TO app_user;
GRANT SELECT, INSERT ON call_status_events TO app_user;
REVOKE EXECUTE ON FUNCTION record_call_status_v1 FROM PUBLIC;
GRANT EXECUTE ON FUNCTION record_call_status_v1 TO app_user;
