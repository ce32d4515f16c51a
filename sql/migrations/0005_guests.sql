-- Guest memory: one row per restaurant and E.164 phone, with what staff know (name, notes, allergies) and
-- what the book says (visits, no-shows, last visit). Kept by triggers on reservations, so every path that
-- writes a reservation (the commit functions, a later part's replacements of them, a seed) feeds it.
--
-- Reservation status changes for the floor go through set_reservation_status_v1 (seated, completed,
-- no_show). The counters are a function of each reservation's status, applied as deltas under the guest's
-- row lock: a reservation that is seated or completed counts one visit, one that is no_show counts one
-- no-show. So completed counts a visit only when it did not pass through seated, and a correction
-- (no_show -> seated) moves the count instead of adding to it.
--
-- app_user reads guests but writes them only through the SECURITY DEFINER functions below.

CREATE TABLE guests (
    restaurant_id  uuid NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    phone          text NOT NULL CHECK (fd_is_e164(phone)),
    -- '' until someone gives a name (a guest created by staff from a phone number alone).
    name           text NOT NULL DEFAULT '' CHECK (length(name) <= 120 AND name !~ '[[:cntrl:]]'),
    notes          text NOT NULL DEFAULT '' CHECK (length(notes) <= 1000),
    allergies      text NOT NULL DEFAULT '' CHECK (length(allergies) <= 300),
    visit_count    integer NOT NULL DEFAULT 0 CHECK (visit_count >= 0),
    no_show_count  integer NOT NULL DEFAULT 0 CHECK (no_show_count >= 0),
    last_visit_on  date,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (restaurant_id, phone)
);
CREATE INDEX guests_by_name ON guests (restaurant_id, lower(name));

-- Does this status count as a visit / a no-show? One definition for the trigger and the backfill.
CREATE FUNCTION fd_status_visits(p_status text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT CASE WHEN p_status IN ('seated', 'completed') THEN 1 ELSE 0 END $$;

CREATE FUNCTION fd_status_no_shows(p_status text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT CASE WHEN p_status = 'no_show' THEN 1 ELSE 0 END $$;

-- Existing bookings: their guests, with counters as the trigger would have kept them. The name is the one of
-- the guest's latest booking.
INSERT INTO guests (restaurant_id, phone, name, visit_count, no_show_count, last_visit_on)
SELECT r.restaurant_id, r.guest_phone,
       (array_agg(r.guest_name ORDER BY r.created_at DESC))[1],
       sum(fd_status_visits(r.status)), sum(fd_status_no_shows(r.status)),
       max(r.service_date) FILTER (WHERE fd_status_visits(r.status) = 1)
  FROM reservations r
 GROUP BY r.restaurant_id, r.guest_phone;

-- A new booking makes sure its guest exists. The stored name wins unless it is empty: staff may have
-- corrected it (the phone agent's name comes from speech recognition), and one number often books for a
-- household, so the latest caller's name is not necessarily the guest's. The reservation keeps its own name.
CREATE FUNCTION fd_guest_on_booking() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO guests AS g (restaurant_id, phone, name, visit_count, no_show_count, last_visit_on)
    VALUES (NEW.restaurant_id, NEW.guest_phone, NEW.guest_name, fd_status_visits(NEW.status),
            fd_status_no_shows(NEW.status),
            CASE WHEN fd_status_visits(NEW.status) = 1 THEN NEW.service_date END)
    ON CONFLICT (restaurant_id, phone) DO UPDATE
       SET name = CASE WHEN g.name = '' THEN EXCLUDED.name ELSE g.name END,
           visit_count = g.visit_count + EXCLUDED.visit_count,
           no_show_count = g.no_show_count + EXCLUDED.no_show_count,
           last_visit_on = greatest(g.last_visit_on, EXCLUDED.last_visit_on),
           updated_at = now();
    RETURN NULL;
END $$;

CREATE TRIGGER reservations_remember_guest
    AFTER INSERT ON reservations
    FOR EACH ROW EXECUTE FUNCTION fd_guest_on_booking();

-- A status change moves the counters by the difference between what the old and the new status count. The
-- UPDATE takes the guest's row lock, so concurrent changes to two bookings of one guest both land.
CREATE FUNCTION fd_guest_on_status() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_visits integer := fd_status_visits(NEW.status) - fd_status_visits(OLD.status);
    v_no_shows integer := fd_status_no_shows(NEW.status) - fd_status_no_shows(OLD.status);
BEGIN
    IF v_visits = 0 AND v_no_shows = 0 THEN
        RETURN NULL;
    END IF;
    INSERT INTO guests (restaurant_id, phone, name) VALUES (NEW.restaurant_id, NEW.guest_phone, NEW.guest_name)
    ON CONFLICT (restaurant_id, phone) DO NOTHING;
    UPDATE guests g
       SET visit_count = g.visit_count + v_visits,
           no_show_count = g.no_show_count + v_no_shows,
           last_visit_on = CASE
               WHEN v_visits > 0 THEN greatest(g.last_visit_on, NEW.service_date)
               WHEN v_visits < 0 THEN (SELECT max(r.service_date) FROM reservations r
                                        WHERE r.restaurant_id = NEW.restaurant_id AND r.guest_phone = NEW.guest_phone
                                          AND r.status IN ('seated', 'completed'))
               ELSE g.last_visit_on END,
           updated_at = now()
     WHERE g.restaurant_id = NEW.restaurant_id AND g.phone = NEW.guest_phone;
    RETURN NULL;
END $$;

CREATE TRIGGER reservations_count_guest_visits
    AFTER UPDATE OF status ON reservations
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION fd_guest_on_status();

-- The floor's status changes. Allowed: confirmed -> seated | completed | no_show, seated -> completed, and
-- the correction no_show -> seated (the guest turned up late after all). The same status again is a replay
-- and returns the reservation unchanged. Anything else is FD030. Leaving no_show makes the booking live
-- again, so the duplicate guard may refuse it (FD016).
-- A no-show or a completed visit only once the booking's start has come (FD030 before it): marking one early
-- would free its capacity and table and count against the guest for a time that has not come. Seating early
-- is fine (guests arrive early). The clock is clock_timestamp(), not the transaction's start.
CREATE FUNCTION set_reservation_status_v1(p_id uuid, p_status text, p_actor text)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_old reservations;
    v_row reservations;
    v_constraint text;
    v_local timestamp;
    v_starts text;
BEGIN
    IF p_status IS NULL OR p_status NOT IN ('seated', 'completed', 'no_show') THEN
        RAISE EXCEPTION 'status must be seated, completed or no_show (got %)', coalesce(p_status, 'nothing')
            USING ERRCODE = '22023';
    END IF;
    SELECT * INTO v_old FROM reservations WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no such reservation' USING ERRCODE = 'FD002';
    END IF;
    IF v_old.status = p_status THEN
        RETURN fd_reservation_json(v_old, true);
    END IF;
    IF NOT ((v_old.status = 'confirmed' AND p_status IN ('seated', 'completed', 'no_show'))
            OR (v_old.status = 'seated' AND p_status = 'completed')
            OR (v_old.status = 'no_show' AND p_status = 'seated')) THEN
        RAISE EXCEPTION 'a reservation that is % cannot be marked %', replace(v_old.status, '_', '-'),
            replace(p_status, '_', '-') USING ERRCODE = 'FD030';
    END IF;
    -- Nobody is a no-show, and nobody skipped straight to completed, before their time. A party that was
    -- seated (early) may leave whenever it leaves: completing it frees its table.
    IF (p_status = 'no_show' OR (p_status = 'completed' AND v_old.status = 'confirmed'))
       AND clock_timestamp() < lower(v_old.during) THEN
        -- UTC -> the restaurant's local time; the date too unless the start is today there.
        SELECT lower(v_old.during) AT TIME ZONE rt.timezone,
               CASE WHEN (lower(v_old.during) AT TIME ZONE rt.timezone)::date
                         = (clock_timestamp() AT TIME ZONE rt.timezone)::date THEN 'at HH24:MI'
                    ELSE 'on YYYY-MM-DD "at" HH24:MI' END
          INTO v_local, v_starts
          FROM restaurants rt WHERE rt.id = v_old.restaurant_id;
        RAISE EXCEPTION 'a reservation cannot be marked % before it starts %', replace(p_status, '_', '-'),
            to_char(v_local, v_starts) USING ERRCODE = 'FD030';
    END IF;
    BEGIN
        UPDATE reservations SET status = p_status, updated_at = now() WHERE id = p_id RETURNING * INTO v_row;
    EXCEPTION
        WHEN exclusion_violation THEN
            GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
            IF v_constraint = 'one_live_booking_per_phone_at_a_time' THEN
                RAISE EXCEPTION 'this phone number already has another booking at an overlapping time'
                    USING ERRCODE = 'FD016';
            END IF;
            RAISE;
    END;
    INSERT INTO event_log (restaurant_id, reservation_id, kind, actor, payload)
    VALUES (v_row.restaurant_id, v_row.id, 'reservation.' || p_status, p_actor,
            jsonb_build_object('from', v_old.status, 'to', p_status));
    RETURN fd_reservation_json(v_row, false);
END $$;

CREATE FUNCTION fd_guest_json(g guests) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'restaurant_id', g.restaurant_id, 'phone', g.phone, 'name', g.name, 'notes', g.notes,
        'allergies', g.allergies, 'visit_count', g.visit_count, 'no_show_count', g.no_show_count,
        'last_visit_on', g.last_visit_on, 'created_at', g.created_at, 'updated_at', g.updated_at)
$$;

-- Staff edit what they know about a guest. NULL keeps a field; a guest not yet known is created (staff may
-- note a regular before their first booking). Logged to event_log with the actor and the changed fields.
CREATE FUNCTION update_guest_v1(p_restaurant uuid, p_phone text, p_name text, p_notes text, p_allergies text,
                                p_actor text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_old guests;
    v_row guests;
    v_changed jsonb;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM restaurants WHERE id = p_restaurant) THEN
        RAISE EXCEPTION 'no such restaurant' USING ERRCODE = 'FD001';
    END IF;
    INSERT INTO guests (restaurant_id, phone) VALUES (p_restaurant, p_phone)
    ON CONFLICT (restaurant_id, phone) DO NOTHING;
    SELECT * INTO v_old FROM guests WHERE restaurant_id = p_restaurant AND phone = p_phone FOR UPDATE;
    UPDATE guests
       SET name = coalesce(btrim(p_name), name), notes = coalesce(p_notes, notes),
           allergies = coalesce(p_allergies, allergies), updated_at = now()
     WHERE restaurant_id = p_restaurant AND phone = p_phone
    RETURNING * INTO v_row;
    SELECT coalesce(jsonb_object_agg(n.key, n.value), '{}'::jsonb) INTO v_changed
      FROM jsonb_each(jsonb_build_object('name', v_row.name, 'notes', v_row.notes, 'allergies', v_row.allergies)) n
     WHERE n.value IS DISTINCT FROM jsonb_build_object('name', v_old.name, 'notes', v_old.notes,
                                                       'allergies', v_old.allergies) -> n.key;
    IF v_changed <> '{}'::jsonb THEN
        INSERT INTO event_log (restaurant_id, reservation_id, kind, actor, payload)
        VALUES (p_restaurant, NULL, 'guest.updated', p_actor,
                jsonb_build_object('phone', p_phone, 'changed', v_changed));
    END IF;
    RETURN fd_guest_json(v_row);
END $$;

-- The counters as the bookings say they should be, where they differ (a booking's phone with no guest row
-- included). Must always be empty; for diagnostics and tests, not the hot path.
CREATE FUNCTION guest_counters_drift_v1(p_restaurant uuid)
RETURNS TABLE (phone text, counted_visits integer, summed_visits integer, counted_no_shows integer,
               summed_no_shows integer)
LANGUAGE sql STABLE AS $$
    WITH summed AS (
        SELECT r.guest_phone, sum(fd_status_visits(r.status))::integer AS visits,
               sum(fd_status_no_shows(r.status))::integer AS no_shows
          FROM reservations r WHERE r.restaurant_id = p_restaurant GROUP BY r.guest_phone)
    SELECT coalesce(g.phone, s.guest_phone), coalesce(g.visit_count, 0), coalesce(s.visits, 0),
           coalesce(g.no_show_count, 0), coalesce(s.no_shows, 0)
      FROM (SELECT * FROM guests WHERE restaurant_id = p_restaurant) g
      FULL JOIN summed s ON s.guest_phone = g.phone
     WHERE g.phone IS NULL
        OR coalesce(g.visit_count, 0) <> coalesce(s.visits, 0)
        OR coalesce(g.no_show_count, 0) <> coalesce(s.no_shows, 0)
$$;

GRANT SELECT ON guests TO app_user;
REVOKE EXECUTE ON FUNCTION fd_guest_on_booking, fd_guest_on_status, set_reservation_status_v1, update_guest_v1
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION set_reservation_status_v1, update_guest_v1 TO app_user;
