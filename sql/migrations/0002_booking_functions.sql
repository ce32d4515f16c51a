-- Booking functions. Every write that can oversell takes transaction-level advisory locks on each UTC
-- 15-minute bucket it touches, in sorted order, and only then sums and writes (never check-then-write
-- from the client). Versioned names (_v1) so a later change can ship beside the old one.
--
-- Failures raise SQLSTATEs of class FD; the Python adapter maps them to domain errors:
--   FD001 restaurant_not_found   FD002 reservation_not_found
--   FD010 closed   FD011 blackout   FD012 full   FD013 party_too_large   FD014 too_soon   FD015 too_far_ahead
--   FD016 duplicate_booking   FD020 hold_expired   FD030 invalid_state   FD031 would_strand_bookings
--   FD098 wrong isolation level

CREATE FUNCTION fd_bucket_floor(ts timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT date_bin(interval '15 minutes', ts, timestamptz '2000-01-01 00:00:00+00')
$$;

-- The first boundary at or after ts. ts appears once so the planner can inline the function (timestamps
-- have microsecond resolution).
CREATE FUNCTION fd_bucket_ceil(ts timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT date_bin(interval '15 minutes', ts + interval '15 minutes' - interval '1 microsecond',
                    timestamptz '2000-01-01 00:00:00+00')
$$;

-- Does a window [opens, closes) cover local time t? same_day: t is on the window's own date;
-- otherwise t is on the next date, which only a window running past midnight reaches.
CREATE FUNCTION fd_window_covers(opens time, closes time, t time, same_day boolean) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN same_day THEN (closes > opens AND t >= opens AND t < closes) OR (closes <= opens AND t >= opens)
        ELSE closes <= opens AND t < closes
    END
$$;

CREATE FUNCTION fd_time_in_window(t time, from_t time, until_t time) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN from_t < until_t THEN t >= from_t AND t < until_t ELSE t >= from_t OR t < until_t END
$$;

CREATE FUNCTION fd_turn_minutes_v1(p_restaurant uuid, p_party integer) RETURNS integer
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_minutes integer;
BEGIN
    SELECT minutes INTO v_minutes FROM turn_times
     WHERE restaurant_id = p_restaurant AND p_party BETWEEN min_party AND max_party;
    IF v_minutes IS NULL THEN
        SELECT default_turn_minutes INTO v_minutes FROM restaurants WHERE id = p_restaurant;
    END IF;
    RETURN v_minutes;
END $$;

-- The windows of one service date: a special day replaces the weekly hours. A closed special day is one
-- row with closed_reason set; a date with no windows at all is simply closed.
CREATE FUNCTION service_windows_v1(p_restaurant uuid, p_date date)
RETURNS TABLE (opens time, closes time, closed_reason text, is_special boolean)
LANGUAGE sql STABLE AS $$
    WITH special AS (
        SELECT s.* FROM special_days s
         WHERE s.restaurant_id = p_restaurant AND p_date BETWEEN s.starts_on AND s.ends_on
         LIMIT 1
    )
    SELECT s.opens, s.closes,
           CASE WHEN s.closed THEN coalesce(nullif(s.reason, ''), 'closed for a special day') END,
           true
      FROM special s
    UNION ALL
    SELECT h.opens, h.closes, NULL, false
      FROM operating_hours h
     WHERE h.restaurant_id = p_restaurant
       AND h.weekday = extract(isodow FROM p_date)
       AND NOT EXISTS (SELECT 1 FROM special)
$$;

-- Keep bucket_loads equal to the live bookings: one delta per bucket over the union of the old and new
-- buckets, applied in ascending bucket order by a single statement, so every writer locks counter rows in
-- the same order (a cancel and a move in opposite directions cannot deadlock).
CREATE FUNCTION fd_track_bucket_loads() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO bucket_loads AS bl (restaurant_id, bucket, covers_present, parties_present, covers_starting)
    SELECT d.restaurant_id, d.bucket, sum(d.covers), sum(d.parties), sum(d.starting)
      FROM (
        SELECT r.restaurant_id, g.b AS bucket, r.sign * r.party_size AS covers, r.sign AS parties,
               CASE WHEN g.b = fd_bucket_floor(lower(r.during)) THEN r.sign * r.party_size ELSE 0 END AS starting
          FROM (SELECT OLD.restaurant_id, OLD.during, OLD.party_size, -1 AS sign
                 WHERE TG_OP IN ('UPDATE', 'DELETE') AND OLD.status IN ('confirmed', 'seated')
                UNION ALL
                SELECT NEW.restaurant_id, NEW.during, NEW.party_size, 1
                 WHERE TG_OP IN ('INSERT', 'UPDATE') AND NEW.status IN ('confirmed', 'seated')) AS r
         CROSS JOIN LATERAL generate_series(fd_bucket_floor(lower(r.during)),
                                            fd_bucket_ceil(upper(r.during)) - interval '15 minutes',
                                            interval '15 minutes') AS g(b)
      ) AS d
     GROUP BY d.restaurant_id, d.bucket
    HAVING sum(d.covers) <> 0 OR sum(d.parties) <> 0 OR sum(d.starting) <> 0
     ORDER BY d.restaurant_id, d.bucket
    ON CONFLICT (restaurant_id, bucket) DO UPDATE
       SET covers_present = bl.covers_present + EXCLUDED.covers_present,
           parties_present = bl.parties_present + EXCLUDED.parties_present,
           covers_starting = bl.covers_starting + EXCLUDED.covers_starting;
    RETURN NULL;
END $$;

CREATE TRIGGER reservations_track_bucket_loads
    AFTER INSERT OR DELETE OR UPDATE OF during, party_size, status ON reservations
    FOR EACH ROW EXECUTE FUNCTION fd_track_bucket_loads();

-- Load and caps of each bucket in [p_from, p_to), from the counters, less the excluded reservation's own
-- share (a modification never counts itself). Caps come from the most specific capacity rule for the
-- service date and the bucket's local time; no rule at all means no capacity.
CREATE FUNCTION bucket_state_v1(p_restaurant uuid, p_service_date date, p_from timestamptz,
                                p_to timestamptz, p_exclude uuid)
RETURNS TABLE (bucket timestamptz, covers_present integer, parties_present integer, covers_starting integer,
               max_covers_present integer, max_parties_present integer, max_covers_starting integer)
LANGUAGE sql STABLE AS $$
    SELECT g.b,
           coalesce(bl.covers_present, 0) - coalesce(x.party_size, 0),
           coalesce(bl.parties_present, 0) - (x.party_size IS NOT NULL)::integer,
           coalesce(bl.covers_starting, 0)
               - CASE WHEN fd_bucket_floor(lower(x.during)) = g.b THEN x.party_size ELSE 0 END,
           coalesce(c.max_covers_present, 0),
           coalesce(c.max_parties_present, 0),
           coalesce(c.max_covers_starting, 0)
      FROM generate_series(p_from, p_to - interval '15 minutes', interval '15 minutes') AS g(b)
      JOIN restaurants rt ON rt.id = p_restaurant
      LEFT JOIN bucket_loads bl ON bl.restaurant_id = p_restaurant AND bl.bucket = g.b
      LEFT JOIN reservations x
             ON x.id = p_exclude AND x.status IN ('confirmed', 'seated')
            AND x.during && tstzrange(g.b, g.b + interval '15 minutes')
      LEFT JOIN LATERAL (
            SELECT cr.max_covers_present, cr.max_parties_present, cr.max_covers_starting
              FROM capacity_rules cr
             WHERE cr.restaurant_id = p_restaurant
               AND (cr.on_date IS NULL OR cr.on_date = p_service_date)
               AND (cr.weekday IS NULL OR cr.weekday = extract(isodow FROM p_service_date))
               AND (cr.local_from IS NULL
                    OR fd_time_in_window((g.b AT TIME ZONE rt.timezone)::time, cr.local_from, cr.local_until))
             ORDER BY (cr.on_date IS NOT NULL) DESC, (cr.weekday IS NOT NULL) DESC,
                      (cr.local_from IS NOT NULL) DESC, cr.id DESC
             LIMIT 1) c ON true
     ORDER BY g.b
$$;

-- The same loads summed from the bookings themselves: what the counters must always equal. For
-- diagnostics and tests, not for the hot path.
CREATE FUNCTION bucket_loads_drift_v1(p_restaurant uuid)
RETURNS TABLE (bucket timestamptz, counted_covers integer, summed_covers integer, counted_parties integer,
               summed_parties integer, counted_starting integer, summed_starting integer)
LANGUAGE sql STABLE AS $$
    WITH summed AS (
        SELECT g.b AS bucket, sum(r.party_size)::integer AS covers, count(*)::integer AS parties,
               coalesce(sum(r.party_size) FILTER (WHERE g.b = fd_bucket_floor(lower(r.during))), 0)::integer
                   AS starting
          FROM reservations r
         CROSS JOIN LATERAL generate_series(fd_bucket_floor(lower(r.during)),
                                            fd_bucket_ceil(upper(r.during)) - interval '15 minutes',
                                            interval '15 minutes') AS g(b)
         WHERE r.restaurant_id = p_restaurant AND r.status IN ('confirmed', 'seated')
         GROUP BY g.b)
    SELECT coalesce(bl.bucket, s.bucket), coalesce(bl.covers_present, 0), coalesce(s.covers, 0),
           coalesce(bl.parties_present, 0), coalesce(s.parties, 0),
           coalesce(bl.covers_starting, 0), coalesce(s.starting, 0)
      FROM (SELECT * FROM bucket_loads WHERE restaurant_id = p_restaurant) bl
      FULL JOIN summed s ON s.bucket = bl.bucket
     WHERE coalesce(bl.covers_present, 0) <> coalesce(s.covers, 0)
        OR coalesce(bl.parties_present, 0) <> coalesce(s.parties, 0)
        OR coalesce(bl.covers_starting, 0) <> coalesce(s.starting, 0)
$$;

-- The first bucket of [p_start, p_end) that cannot take one more party of p_party, or NULL. PL/pgSQL so its
-- plan is cached per session (a SQL-language function is planned again on every call).
CREATE FUNCTION fd_first_full_bucket(p_restaurant uuid, p_service_date date, p_start timestamptz,
                                     p_end timestamptz, p_party integer, p_exclude uuid)
RETURNS timestamptz
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_bucket timestamptz;
BEGIN
    SELECT b.bucket INTO v_bucket
      FROM bucket_state_v1(p_restaurant, p_service_date, fd_bucket_floor(p_start), fd_bucket_ceil(p_end),
                           p_exclude) b
     WHERE b.covers_present + p_party > b.max_covers_present
        OR b.parties_present + 1 > b.max_parties_present
        OR (b.bucket = fd_bucket_floor(p_start) AND b.covers_starting + p_party > b.max_covers_starting)
     ORDER BY b.bucket
     LIMIT 1;
    RETURN v_bucket;
END $$;

CREATE FUNCTION fd_full_detail(p_restaurant uuid, p_party integer, p_bucket timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT format('no room for %s at %s', p_party, to_char(p_bucket AT TIME ZONE timezone, 'HH24:MI'))
      FROM restaurants WHERE id = p_restaurant
$$;

-- Can this party start at p_start? Returns reason NULL and the service date and end when it can
-- (ignoring holds, which live in Redis), or the first reason it cannot. Reads only; takes no locks.
-- p_check_capacity false stops after the hours: the writers check capacity themselves, under the locks.
CREATE FUNCTION slot_check_v1(p_restaurant uuid, p_start timestamptz, p_party integer, p_exclude uuid,
                              p_enforce_notice boolean, p_check_capacity boolean DEFAULT true)
RETURNS TABLE (reason text, detail text, service_date date, end_ts timestamptz)
LANGUAGE plpgsql STABLE ROWS 1 AS $$
DECLARE
    r restaurants;
    v_local timestamp;
    v_day date;
    v_t time;
    v_sd date;
    v_end timestamptz;
    v_blackout text;
    v_full timestamptz;
BEGIN
    SELECT * INTO r FROM restaurants WHERE id = p_restaurant;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'restaurant_not_found', 'no such restaurant', NULL::date, NULL::timestamptz;
        RETURN;
    END IF;
    IF p_party < 1 OR p_party > r.max_party_size THEN
        RETURN QUERY SELECT 'party_too_large',
            format('parties of 1 to %s can book; larger groups please talk to the restaurant', r.max_party_size),
            NULL::date, NULL::timestamptz;
        RETURN;
    END IF;
    IF p_enforce_notice AND p_start < clock_timestamp() + make_interval(mins => r.min_notice_minutes) THEN
        RETURN QUERY SELECT 'too_soon',
            format('bookings need %s minutes notice', r.min_notice_minutes), NULL::date, NULL::timestamptz;
        RETURN;
    END IF;
    IF p_start > clock_timestamp() + make_interval(days => r.booking_horizon_days) THEN
        RETURN QUERY SELECT 'too_far_ahead',
            format('bookings open %s days ahead', r.booking_horizon_days), NULL::date, NULL::timestamptz;
        RETURN;
    END IF;

    -- PostgreSQL only ever converts UTC to local; the caller converted local to UTC.
    v_local := p_start AT TIME ZONE r.timezone;
    v_day := v_local::date;
    v_t := v_local::time;

    SELECT v_day INTO v_sd FROM service_windows_v1(p_restaurant, v_day) w
     WHERE w.closed_reason IS NULL AND fd_window_covers(w.opens, w.closes, v_t, true) LIMIT 1;
    IF v_sd IS NULL THEN
        SELECT v_day - 1 INTO v_sd FROM service_windows_v1(p_restaurant, v_day - 1) w
         WHERE w.closed_reason IS NULL AND fd_window_covers(w.opens, w.closes, v_t, false) LIMIT 1;
    END IF;
    IF v_sd IS NULL THEN
        -- A blackout when the regular hours of the service date would have covered this time.
        SELECT coalesce(nullif(s.reason, ''), 'closed for a special day') INTO v_blackout
          FROM (VALUES (v_day, true), (v_day - 1, false)) AS d(day, same_day)
          JOIN operating_hours h
            ON h.restaurant_id = p_restaurant AND h.weekday = extract(isodow FROM d.day)
           AND fd_window_covers(h.opens, h.closes, v_t, d.same_day)
          JOIN special_days s
            ON s.restaurant_id = p_restaurant AND s.closed AND d.day BETWEEN s.starts_on AND s.ends_on
         LIMIT 1;
        IF v_blackout IS NOT NULL THEN
            RETURN QUERY SELECT 'blackout', v_blackout, NULL::date, NULL::timestamptz;
        ELSE
            RETURN QUERY SELECT 'closed', 'the restaurant does not take bookings at that time',
                NULL::date, NULL::timestamptz;
        END IF;
        RETURN;
    END IF;

    v_end := p_start + make_interval(mins => fd_turn_minutes_v1(p_restaurant, p_party));
    IF p_check_capacity THEN
        v_full := fd_first_full_bucket(p_restaurant, v_sd, p_start, v_end, p_party, p_exclude);
        IF v_full IS NOT NULL THEN
            RETURN QUERY SELECT 'full', fd_full_detail(p_restaurant, p_party, v_full), v_sd, v_end;
            RETURN;
        END IF;
    END IF;
    RETURN QUERY SELECT NULL::text, NULL::text, v_sd, v_end;
END $$;

CREATE FUNCTION fd_raise_unavailable(p_reason text, p_detail text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = coalesce(p_detail, p_reason),
        ERRCODE = CASE p_reason
            WHEN 'restaurant_not_found' THEN 'FD001'
            WHEN 'closed' THEN 'FD010'
            WHEN 'blackout' THEN 'FD011'
            WHEN 'full' THEN 'FD012'
            WHEN 'party_too_large' THEN 'FD013'
            WHEN 'too_soon' THEN 'FD014'
            WHEN 'too_far_ahead' THEN 'FD015'
            ELSE 'FD099' END;
END $$;

-- The advisory locks only serialise correctly when each statement sees what the previous lock holder
-- committed, which READ COMMITTED guarantees and a transaction-wide snapshot would not.
CREATE FUNCTION fd_require_read_committed() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'booking functions must run under READ COMMITTED' USING ERRCODE = 'FD098';
    END IF;
END $$;

-- The restaurant's configuration lock: bookings share it, a change of hours or capacity takes it alone, so
-- a blackout cannot slip past a booking that is being written (and its list of stranded bookings is whole).
CREATE FUNCTION fd_config_lock_key(p_restaurant uuid) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT hashtextextended(p_restaurant::text || '/config', 0) $$;

-- Sorted transaction-level locks on every bucket the ranges touch: one order for everyone, so no deadlock.
-- The shared configuration lock always comes first.
CREATE FUNCTION fd_lock_buckets(p_restaurant uuid, p_ranges tstzrange[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_key bigint;
BEGIN
    PERFORM pg_advisory_xact_lock_shared(fd_config_lock_key(p_restaurant));
    FOR v_key IN
        SELECT DISTINCT hashtextextended(p_restaurant::text || '/' || extract(epoch FROM g.b)::bigint::text, 0)
          FROM unnest(p_ranges) AS rg(x)
          CROSS JOIN LATERAL generate_series(fd_bucket_floor(lower(rg.x)),
                                             fd_bucket_ceil(upper(rg.x)) - interval '15 minutes',
                                             interval '15 minutes') AS g(b)
         ORDER BY 1
    LOOP
        PERFORM pg_advisory_xact_lock(v_key);
    END LOOP;
END $$;

CREATE FUNCTION fd_reservation_json(r reservations, p_replayed boolean) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', r.id, 'restaurant_id', r.restaurant_id, 'service_date', r.service_date,
        'start_ts', lower(r.during), 'end_ts', upper(r.during), 'party_size', r.party_size,
        'guest_name', r.guest_name, 'guest_phone', r.guest_phone, 'notes', r.notes, 'status', r.status,
        'channel', r.channel, 'created_at', r.created_at, 'updated_at', r.updated_at,
        'cancelled_at', r.cancelled_at, 'replayed', p_replayed)
$$;

-- The reservation an earlier attempt of this commit made, by hold or idempotency key (each uses its index).
CREATE FUNCTION fd_find_replay(p_restaurant uuid, p_hold_id text, p_idempotency_key text) RETURNS reservations
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_row reservations;
BEGIN
    IF p_hold_id IS NOT NULL THEN
        SELECT * INTO v_row FROM reservations WHERE restaurant_id = p_restaurant AND hold_id = p_hold_id;
        IF FOUND THEN
            RETURN v_row;
        END IF;
    END IF;
    IF p_idempotency_key IS NOT NULL THEN
        SELECT * INTO v_row FROM reservations
         WHERE restaurant_id = p_restaurant AND idempotency_key = p_idempotency_key;
    END IF;
    RETURN v_row;
END $$;

CREATE FUNCTION commit_reservation_v1(
    p_restaurant uuid, p_start timestamptz, p_party integer, p_guest_name text, p_guest_phone text,
    p_notes text, p_channel text, p_hold_id text, p_idempotency_key text, p_hold_expires_at timestamptz,
    p_actor text)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_row reservations;
    v_check record;
    v_full timestamptz;
BEGIN
    PERFORM fd_require_read_committed();
    -- A retried commit (same hold or idempotency key) returns what the first one made.
    v_row := fd_find_replay(p_restaurant, p_hold_id, p_idempotency_key);
    IF v_row.id IS NOT NULL THEN
        RETURN fd_reservation_json(v_row, true);
    END IF;
    IF p_hold_expires_at IS NOT NULL AND p_hold_expires_at <= clock_timestamp() THEN
        RAISE EXCEPTION 'the hold has expired' USING ERRCODE = 'FD020';
    END IF;
    -- Hours, blackouts, party size and notice change only under the configuration lock, which every booking
    -- shares from here to its commit: checking them before the bucket locks keeps the serialised part short.
    PERFORM pg_advisory_xact_lock_shared(fd_config_lock_key(p_restaurant));
    SELECT * INTO v_check FROM slot_check_v1(p_restaurant, p_start, p_party, NULL, p_channel <> 'staff', false);
    IF v_check.reason IS NOT NULL THEN
        PERFORM fd_raise_unavailable(v_check.reason, v_check.detail);
    END IF;

    PERFORM fd_lock_buckets(p_restaurant, ARRAY[tstzrange(p_start, v_check.end_ts)]);

    -- Under the locks: a concurrent retry of this very commit may have finished while we waited.
    v_row := fd_find_replay(p_restaurant, p_hold_id, p_idempotency_key);
    IF v_row.id IS NOT NULL THEN
        RETURN fd_reservation_json(v_row, true);
    END IF;
    v_full := fd_first_full_bucket(p_restaurant, v_check.service_date, p_start, v_check.end_ts, p_party, NULL);
    IF v_full IS NOT NULL THEN
        PERFORM fd_raise_unavailable('full', fd_full_detail(p_restaurant, p_party, v_full));
    END IF;

    BEGIN
        INSERT INTO reservations (restaurant_id, service_date, during, party_size, guest_name, guest_phone,
                                  notes, channel, hold_id, idempotency_key)
        VALUES (p_restaurant, v_check.service_date, tstzrange(p_start, v_check.end_ts), p_party, btrim(p_guest_name),
                p_guest_phone, coalesce(p_notes, ''), p_channel, p_hold_id, p_idempotency_key)
        RETURNING * INTO v_row;
    EXCEPTION
        WHEN exclusion_violation THEN
            RAISE EXCEPTION 'this phone number already has a booking at an overlapping time'
                USING ERRCODE = 'FD016';
    END;
    INSERT INTO event_log (restaurant_id, reservation_id, kind, actor, payload)
    VALUES (p_restaurant, v_row.id, 'reservation.confirmed', p_actor,
            jsonb_build_object('start_ts', p_start, 'end_ts', v_check.end_ts, 'party_size', p_party,
                               'channel', p_channel, 'hold_id', p_hold_id));
    RETURN fd_reservation_json(v_row, false);
END $$;

CREATE FUNCTION cancel_reservation_v1(p_id uuid, p_actor text, p_reason text)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_row reservations;
BEGIN
    UPDATE reservations SET status = 'cancelled', cancelled_at = now(), updated_at = now()
     WHERE id = p_id AND status = 'confirmed'
    RETURNING * INTO v_row;
    IF FOUND THEN
        INSERT INTO event_log (restaurant_id, reservation_id, kind, actor, payload)
        VALUES (v_row.restaurant_id, v_row.id, 'reservation.cancelled', p_actor,
                jsonb_build_object('reason', coalesce(p_reason, '')));
        RETURN fd_reservation_json(v_row, false);
    END IF;
    SELECT * INTO v_row FROM reservations WHERE id = p_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no such reservation' USING ERRCODE = 'FD002';
    END IF;
    IF v_row.status = 'cancelled' THEN
        RETURN fd_reservation_json(v_row, true);
    END IF;
    RAISE EXCEPTION 'a reservation that is % cannot be cancelled', v_row.status USING ERRCODE = 'FD030';
END $$;

-- Change time and/or party size atomically. The row lock comes first, then the sorted bucket locks of the
-- old and new times together; the reservation never counts against itself.
CREATE FUNCTION modify_reservation_v1(p_id uuid, p_new_start timestamptz, p_new_party integer, p_actor text,
                                      p_enforce_notice boolean)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_old reservations;
    v_row reservations;
    v_start timestamptz;
    v_party integer;
    v_end timestamptz;
    v_check record;
    v_full timestamptz;
BEGIN
    PERFORM fd_require_read_committed();
    SELECT * INTO v_old FROM reservations WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no such reservation' USING ERRCODE = 'FD002';
    END IF;
    IF v_old.status <> 'confirmed' THEN
        RAISE EXCEPTION 'a reservation that is % cannot be changed', v_old.status USING ERRCODE = 'FD030';
    END IF;
    v_start := coalesce(p_new_start, lower(v_old.during));
    v_party := coalesce(p_new_party, v_old.party_size);
    IF v_start = lower(v_old.during) AND v_party = v_old.party_size THEN
        RETURN fd_reservation_json(v_old, true);
    END IF;
    PERFORM pg_advisory_xact_lock_shared(fd_config_lock_key(v_old.restaurant_id));
    SELECT * INTO v_check FROM slot_check_v1(v_old.restaurant_id, v_start, v_party, p_id,
                                             p_enforce_notice AND v_start <> lower(v_old.during), false);
    IF v_check.reason IS NOT NULL THEN
        PERFORM fd_raise_unavailable(v_check.reason, v_check.detail);
    END IF;
    v_end := v_check.end_ts;

    PERFORM fd_lock_buckets(v_old.restaurant_id, ARRAY[v_old.during, tstzrange(v_start, v_end)]);

    v_full := fd_first_full_bucket(v_old.restaurant_id, v_check.service_date, v_start, v_end, v_party, p_id);
    IF v_full IS NOT NULL THEN
        PERFORM fd_raise_unavailable('full', fd_full_detail(v_old.restaurant_id, v_party, v_full));
    END IF;
    BEGIN
        UPDATE reservations
           SET during = tstzrange(v_start, v_end), party_size = v_party, service_date = v_check.service_date,
               updated_at = now()
         WHERE id = p_id
        RETURNING * INTO v_row;
    EXCEPTION
        WHEN exclusion_violation THEN
            RAISE EXCEPTION 'this phone number already has a booking at an overlapping time'
                USING ERRCODE = 'FD016';
    END;
    INSERT INTO event_log (restaurant_id, reservation_id, kind, actor, payload)
    VALUES (v_row.restaurant_id, v_row.id, 'reservation.modified', p_actor,
            jsonb_build_object('from_start_ts', lower(v_old.during), 'from_party_size', v_old.party_size,
                               'start_ts', v_start, 'end_ts', v_end, 'party_size', v_party));
    RETURN fd_reservation_json(v_row, false);
END $$;

-- Add a closure or changed hours for a range of service dates. Live bookings those dates would no longer
-- cover are always reported; unless p_force, their existence refuses the change (SQLSTATE FD031, the
-- affected bookings in DETAIL as JSON). Takes the configuration lock alone, so no booking races past it.
CREATE FUNCTION add_special_day_v1(p_restaurant uuid, p_starts_on date, p_ends_on date, p_closed boolean,
                                   p_opens time, p_closes time, p_reason text, p_actor text, p_force boolean)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
    v_affected jsonb;
BEGIN
    PERFORM fd_require_read_committed();
    IF NOT EXISTS (SELECT 1 FROM restaurants WHERE id = p_restaurant) THEN
        RAISE EXCEPTION 'no such restaurant' USING ERRCODE = 'FD001';
    END IF;
    PERFORM pg_advisory_xact_lock(fd_config_lock_key(p_restaurant));
    INSERT INTO special_days (restaurant_id, starts_on, ends_on, closed, opens, closes, reason, created_by)
    VALUES (p_restaurant, p_starts_on, p_ends_on, p_closed, p_opens, p_closes, coalesce(p_reason, ''), p_actor)
    RETURNING id INTO v_id;
    -- With the special day in place, which live bookings no longer fit their service date's hours?
    SELECT coalesce(jsonb_agg(fd_reservation_json(r, false) ORDER BY lower(r.during)), '[]'::jsonb)
      INTO v_affected
      FROM reservations r
      JOIN restaurants rt ON rt.id = r.restaurant_id
     WHERE r.restaurant_id = p_restaurant
       AND r.status IN ('confirmed', 'seated')
       AND r.service_date BETWEEN p_starts_on AND p_ends_on
       AND NOT EXISTS (
           SELECT 1 FROM service_windows_v1(p_restaurant, r.service_date) w
            WHERE w.closed_reason IS NULL
              AND fd_window_covers(w.opens, w.closes, (lower(r.during) AT TIME ZONE rt.timezone)::time,
                                   (lower(r.during) AT TIME ZONE rt.timezone)::date = r.service_date));
    IF jsonb_array_length(v_affected) > 0 AND NOT p_force THEN
        RAISE EXCEPTION 'the change would strand % booking(s); repeat with force to apply it anyway',
            jsonb_array_length(v_affected)
            USING ERRCODE = 'FD031', DETAIL = v_affected::text;
    END IF;
    INSERT INTO event_log (restaurant_id, reservation_id, kind, actor, payload)
    VALUES (p_restaurant, NULL, 'special_day.added', p_actor,
            jsonb_build_object('special_day_id', v_id, 'starts_on', p_starts_on, 'ends_on', p_ends_on,
                               'closed', p_closed, 'opens', p_opens, 'closes', p_closes, 'reason', p_reason,
                               'forced', p_force, 'affected', v_affected));
    RETURN jsonb_build_object('special_day_id', v_id, 'affected', v_affected);
END $$;

REVOKE EXECUTE ON FUNCTION commit_reservation_v1, cancel_reservation_v1, modify_reservation_v1,
                           add_special_day_v1 FROM PUBLIC;
GRANT EXECUTE ON FUNCTION commit_reservation_v1, cancel_reservation_v1, modify_reservation_v1,
                          add_special_day_v1 TO app_user;
