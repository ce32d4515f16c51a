-- Tables and combinations, optional per restaurant. A restaurant with no active table keeps pacing-only
-- booking exactly as before; one with tables also gets the smallest fitting free table or combination,
-- chosen inside the commit's locked transaction.
--
-- Safety: reservation_tables holds one row per physical table a booking occupies, and a GiST exclusion
-- constraint over (table_id, during) on the live rows means no table is ever given twice at overlapping
-- times, whatever the code above it does. Ranges are [) so back-to-back turns fit. The choice itself is
-- already serialised: any two overlapping bookings share at least one 15-minute bucket, whose advisory lock
-- both must hold. The constraint is the backstop.
--
-- New SQLSTATEs: FD003 table or combination not found. FD012 (full) is reused for "no table fits" and for
-- the exclusion backstop, told apart from the phone duplicate guard (FD016) by the constraint's name.

CREATE TABLE dining_tables (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    restaurant_id   uuid NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    -- No commas: the CLI lists tables as T1,T2.
    name            text NOT NULL CHECK (name = btrim(name) AND length(name) BETWEEN 1 AND 40 AND name !~ '[,[:cntrl:]]'),
    area            text NOT NULL DEFAULT '' CHECK (length(area) <= 60),
    min_seats       integer NOT NULL CHECK (min_seats BETWEEN 1 AND 100),
    max_seats       integer NOT NULL CHECK (max_seats BETWEEN 1 AND 100),
    -- false: staff may seat it, the phone agent may not (a bar counter, the chef's table).
    agent_bookable  boolean NOT NULL DEFAULT true,
    -- A removed table is deactivated, not deleted: past bookings still say where they sat.
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (max_seats >= min_seats),
    UNIQUE (restaurant_id, name),
    UNIQUE (restaurant_id, id)  -- target of the same-restaurant foreign keys below
);

CREATE TABLE table_combinations (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    restaurant_id   uuid NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    name            text NOT NULL CHECK (name = btrim(name) AND length(name) BETWEEN 1 AND 40 AND name !~ '[,[:cntrl:]]'),
    min_seats       integer NOT NULL CHECK (min_seats BETWEEN 1 AND 100),
    max_seats       integer NOT NULL CHECK (max_seats BETWEEN 1 AND 100),
    agent_bookable  boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (max_seats >= min_seats),
    UNIQUE (restaurant_id, name),
    UNIQUE (restaurant_id, id)
);

-- Composite foreign keys: a combination can only join tables of its own restaurant.
CREATE TABLE table_combination_members (
    combination_id  bigint NOT NULL,
    table_id        bigint NOT NULL,
    restaurant_id   uuid NOT NULL,
    PRIMARY KEY (combination_id, table_id),
    FOREIGN KEY (restaurant_id, combination_id) REFERENCES table_combinations (restaurant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (restaurant_id, table_id) REFERENCES dining_tables (restaurant_id, id)
);
CREATE INDEX table_combination_members_by_table ON table_combination_members (table_id);

-- One row per physical table a booking occupies. live and during follow the reservation (trigger below);
-- rows of cancelled or finished bookings stay, not live, as the record of where the party sat.
CREATE TABLE reservation_tables (
    reservation_id  uuid NOT NULL REFERENCES reservations (id) ON DELETE CASCADE,
    table_id        bigint NOT NULL,
    restaurant_id   uuid NOT NULL,
    -- Through which combination, if any (a removed combination leaves the booking on its tables).
    combination_id  bigint REFERENCES table_combinations (id) ON DELETE SET NULL,
    during          tstzrange NOT NULL CHECK (NOT isempty(during) AND lower_inc(during) AND NOT upper_inc(during)
                                              AND NOT lower_inf(during) AND NOT upper_inf(during)),
    live            boolean NOT NULL DEFAULT true,
    PRIMARY KEY (reservation_id, table_id),
    FOREIGN KEY (restaurant_id, table_id) REFERENCES dining_tables (restaurant_id, id),
    CONSTRAINT one_party_per_table_at_a_time
        EXCLUDE USING gist (table_id WITH =, during WITH &&) WHERE (live)
);
-- Which tables are busy over a range, per restaurant: the picker's one read.
CREATE INDEX reservation_tables_live_by_time ON reservation_tables USING gist (restaurant_id, during) WHERE live;
CREATE INDEX reservation_tables_by_table ON reservation_tables (table_id, lower(during));

CREATE FUNCTION fd_has_tables(p_restaurant uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM dining_tables WHERE restaurant_id = p_restaurant AND active)
$$;

-- The smallest fitting free table or combination for a party over p_during: fewest spare seats first, a
-- single table before a combination at equal fit, then by name (deterministic). The phone agent gets only
-- agent-bookable ones. A combination is usable only while all of its tables are active and free.
-- p_prefer_*: the booking's current table or combination, kept whenever it still fits (a modification
-- should not move a party without need). No row: nothing fits.
CREATE FUNCTION fd_pick_tables_v1(p_restaurant uuid, p_during tstzrange, p_party integer, p_channel text,
                                  p_exclude uuid, p_prefer_table bigint, p_prefer_combination bigint)
RETURNS TABLE (table_ids bigint[], combination_id bigint)
LANGUAGE sql STABLE AS $$
    WITH busy AS (
        SELECT rt.table_id FROM reservation_tables rt
         WHERE rt.restaurant_id = p_restaurant AND rt.live AND rt.during && p_during
           AND rt.reservation_id IS DISTINCT FROM p_exclude),
    options AS (
        SELECT ARRAY[t.id] AS table_ids, NULL::bigint AS combination_id, t.max_seats - p_party AS spare,
               0 AS kind, t.name, coalesce(t.id = p_prefer_table AND p_prefer_combination IS NULL, false) AS preferred
          FROM dining_tables t
         WHERE t.restaurant_id = p_restaurant AND t.active AND p_party BETWEEN t.min_seats AND t.max_seats
           AND (p_channel IS DISTINCT FROM 'phone_agent' OR t.agent_bookable)
           AND NOT EXISTS (SELECT 1 FROM busy b WHERE b.table_id = t.id)
        UNION ALL
        SELECT array_agg(m.table_id ORDER BY m.table_id), c.id, c.max_seats - p_party, 1, c.name,
               coalesce(c.id = p_prefer_combination, false)
          FROM table_combinations c
          JOIN table_combination_members m ON m.combination_id = c.id
          JOIN dining_tables t ON t.id = m.table_id
          LEFT JOIN busy b ON b.table_id = m.table_id
         WHERE c.restaurant_id = p_restaurant AND p_party BETWEEN c.min_seats AND c.max_seats
           AND (p_channel IS DISTINCT FROM 'phone_agent' OR c.agent_bookable)
         GROUP BY c.id
        HAVING bool_and(t.active) AND count(b.table_id) = 0)
    SELECT o.table_ids, o.combination_id FROM options o
     ORDER BY o.preferred DESC, o.spare, o.kind, o.name
     LIMIT 1
$$;

-- Would a table be free for this party over [p_start, p_end)? true when the restaurant has no tables
-- (pacing alone decides). For availability and alternates; reads only.
CREATE FUNCTION fd_table_fits_v1(p_restaurant uuid, p_start timestamptz, p_end timestamptz, p_party integer,
                                 p_channel text, p_exclude uuid)
RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT NOT fd_has_tables(p_restaurant)
        OR EXISTS (SELECT 1 FROM fd_pick_tables_v1(p_restaurant, tstzrange(p_start, p_end), p_party, p_channel,
                                                    p_exclude, NULL, NULL))
$$;

CREATE FUNCTION fd_no_table_detail(p_restaurant uuid, p_party integer, p_start timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT format('no table for %s at %s', p_party, to_char(p_start AT TIME ZONE timezone, 'HH24:MI'))
      FROM restaurants WHERE id = p_restaurant
$$;

-- Give a booking its table(s) for p_during, replacing any it had (a modification): the current table or
-- combination is kept when it still fits. Callers hold the bucket locks of p_during, so the choice cannot
-- race another booking's; an exclusion violation (the backstop) still becomes FD012, never a raw error.
-- SECURITY DEFINER: app_user never writes reservation_tables itself.
CREATE FUNCTION fd_assign_tables_v1(p_reservation uuid, p_restaurant uuid, p_during tstzrange, p_party integer,
                                    p_channel text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_prefer_table bigint;
    v_prefer_combination bigint;
    v_pick record;
BEGIN
    -- Callable by app_user (the booking functions run as it): only for a live booking of that restaurant.
    IF NOT EXISTS (SELECT 1 FROM reservations WHERE id = p_reservation AND restaurant_id = p_restaurant
                                               AND status IN ('confirmed', 'seated')) THEN
        RAISE EXCEPTION 'no such reservation' USING ERRCODE = 'FD002';
    END IF;
    SELECT min(rt.table_id), min(rt.combination_id) INTO v_prefer_table, v_prefer_combination
      FROM reservation_tables rt WHERE rt.reservation_id = p_reservation;
    DELETE FROM reservation_tables WHERE reservation_id = p_reservation;
    IF NOT fd_has_tables(p_restaurant) THEN
        RETURN;
    END IF;
    SELECT * INTO v_pick FROM fd_pick_tables_v1(p_restaurant, p_during, p_party, p_channel, p_reservation,
                                                v_prefer_table, v_prefer_combination);
    IF v_pick.table_ids IS NULL THEN
        RAISE EXCEPTION '%', fd_no_table_detail(p_restaurant, p_party, lower(p_during)) USING ERRCODE = 'FD012';
    END IF;
    BEGIN
        INSERT INTO reservation_tables (reservation_id, table_id, restaurant_id, combination_id, during, live)
        SELECT p_reservation, t, p_restaurant, v_pick.combination_id, p_during, true
          FROM unnest(v_pick.table_ids) AS t;
    EXCEPTION
        WHEN exclusion_violation THEN
            RAISE EXCEPTION '%', fd_no_table_detail(p_restaurant, p_party, lower(p_during)) USING ERRCODE = 'FD012';
    END;
END $$;

-- live and during follow the reservation, whoever changes it (a status function that only runs
-- UPDATE reservations SET status included): leaving confirmed/seated frees the tables, seated keeps them.
CREATE FUNCTION fd_sync_reservation_tables() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_pick record;
BEGIN
    BEGIN
        UPDATE reservation_tables
           SET live = NEW.status IN ('confirmed', 'seated'), during = NEW.during
         WHERE reservation_id = NEW.id
           AND (live IS DISTINCT FROM (NEW.status IN ('confirmed', 'seated')) OR during IS DISTINCT FROM NEW.during);
    EXCEPTION
        WHEN exclusion_violation THEN
            -- Only reachable by bringing a finished booking back (no_show -> seated) after its table was given
            -- away. The guest is there: the floor is never refused; another free table, or none (diagnostics
            -- 4b lists it for staff).
            DELETE FROM reservation_tables WHERE reservation_id = NEW.id;
            SELECT * INTO v_pick FROM fd_pick_tables_v1(NEW.restaurant_id, NEW.during, NEW.party_size, 'staff',
                                                        NEW.id, NULL, NULL);
            IF v_pick.table_ids IS NOT NULL THEN
                BEGIN
                    INSERT INTO reservation_tables (reservation_id, table_id, restaurant_id, combination_id, during,
                                                    live)
                    SELECT NEW.id, t, NEW.restaurant_id, v_pick.combination_id, NEW.during, true
                      FROM unnest(v_pick.table_ids) AS t;
                EXCEPTION
                    WHEN exclusion_violation THEN NULL;  -- taken this instant: no table, as above
                END;
            END IF;
    END;
    RETURN NULL;
END $$;

CREATE TRIGGER reservations_sync_tables
    AFTER UPDATE OF status, during ON reservations
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.during IS DISTINCT FROM NEW.during)
    EXECUTE FUNCTION fd_sync_reservation_tables();

-- Which exclusion constraint fired: the table backstop is "full", anything else stays the phone duplicate
-- guard it always was.
CREATE FUNCTION fd_raise_exclusion(p_constraint text, p_restaurant uuid, p_party integer, p_start timestamptz)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF p_constraint = 'one_party_per_table_at_a_time' THEN
        RAISE EXCEPTION '%', fd_no_table_detail(p_restaurant, p_party, p_start) USING ERRCODE = 'FD012';
    END IF;
    RAISE EXCEPTION 'this phone number already has a booking at an overlapping time' USING ERRCODE = 'FD016';
END $$;

CREATE OR REPLACE FUNCTION fd_reservation_json(r reservations, p_replayed boolean) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', r.id, 'restaurant_id', r.restaurant_id, 'service_date', r.service_date,
        'start_ts', lower(r.during), 'end_ts', upper(r.during), 'party_size', r.party_size,
        'guest_name', r.guest_name, 'guest_phone', r.guest_phone, 'notes', r.notes, 'status', r.status,
        'channel', r.channel, 'created_at', r.created_at, 'updated_at', r.updated_at,
        'cancelled_at', r.cancelled_at, 'replayed', p_replayed,
        'tables', coalesce((SELECT jsonb_agg(t.name ORDER BY t.name)
                              FROM reservation_tables rt JOIN dining_tables t ON t.id = rt.table_id
                             WHERE rt.reservation_id = r.id), '[]'::jsonb))
$$;

-- As in 0002, plus: with tables, the booking gets its table(s) under the same bucket locks.
CREATE OR REPLACE FUNCTION commit_reservation_v1(
    p_restaurant uuid, p_start timestamptz, p_party integer, p_guest_name text, p_guest_phone text,
    p_notes text, p_channel text, p_hold_id text, p_idempotency_key text, p_hold_expires_at timestamptz,
    p_actor text)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_row reservations;
    v_check record;
    v_full timestamptz;
    v_constraint text;
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
            GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
            PERFORM fd_raise_exclusion(v_constraint, p_restaurant, p_party, p_start);
    END;
    IF fd_has_tables(p_restaurant) THEN
        PERFORM fd_assign_tables_v1(v_row.id, p_restaurant, v_row.during, p_party, p_channel);
    END IF;
    INSERT INTO event_log (restaurant_id, reservation_id, kind, actor, payload)
    VALUES (p_restaurant, v_row.id, 'reservation.confirmed', p_actor,
            jsonb_build_object('start_ts', p_start, 'end_ts', v_check.end_ts, 'party_size', p_party,
                               'channel', p_channel, 'hold_id', p_hold_id));
    RETURN fd_reservation_json(v_row, false);
END $$;

-- As in 0002, plus: with tables, the booking is re-assigned for its new time and size (keeping its table
-- when it still fits) before the row moves, under the locks of the old and new buckets. The table search
-- uses the booking's own channel, or any table when staff make the change (no notice enforced).
CREATE OR REPLACE FUNCTION modify_reservation_v1(p_id uuid, p_new_start timestamptz, p_new_party integer,
                                                 p_actor text, p_enforce_notice boolean)
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
    v_constraint text;
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
    -- Tables first: the row update below makes the sync trigger move whatever rows the booking has.
    PERFORM fd_assign_tables_v1(p_id, v_old.restaurant_id, tstzrange(v_start, v_end), v_party,
                                CASE WHEN p_enforce_notice THEN v_old.channel ELSE 'staff' END);
    BEGIN
        UPDATE reservations
           SET during = tstzrange(v_start, v_end), party_size = v_party, service_date = v_check.service_date,
               updated_at = now()
         WHERE id = p_id
        RETURNING * INTO v_row;
    EXCEPTION
        WHEN exclusion_violation THEN
            GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
            PERFORM fd_raise_exclusion(v_constraint, v_old.restaurant_id, v_party, v_start);
    END;
    INSERT INTO event_log (restaurant_id, reservation_id, kind, actor, payload)
    VALUES (v_row.restaurant_id, v_row.id, 'reservation.modified', p_actor,
            jsonb_build_object('from_start_ts', lower(v_old.during), 'from_party_size', v_old.party_size,
                               'start_ts', v_start, 'end_ts', v_end, 'party_size', v_party));
    RETURN fd_reservation_json(v_row, false);
END $$;

-- -- Configuration: tables and combinations ---------------------------------------------------------------
-- Each change takes the restaurant's configuration lock alone (bookings share it), so no booking is being
-- assigned while a table changes, and the list of bookings a change would strand is whole. Every change is
-- written to event_log with its actor. Bad input raises 22023 with a message that says what to fix.

CREATE FUNCTION fd_table_json(t dining_tables) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', t.id, 'name', t.name, 'area', t.area, 'min_seats', t.min_seats,
                              'max_seats', t.max_seats, 'agent_bookable', t.agent_bookable, 'active', t.active)
$$;

CREATE FUNCTION fd_combination_json(c table_combinations) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', c.id, 'name', c.name, 'min_seats', c.min_seats, 'max_seats', c.max_seats,
                              'agent_bookable', c.agent_bookable,
                              'tables', (SELECT coalesce(jsonb_agg(t.name ORDER BY t.name), '[]'::jsonb)
                                           FROM table_combination_members m JOIN dining_tables t ON t.id = m.table_id
                                          WHERE m.combination_id = c.id),
                              'usable', (SELECT coalesce(bool_and(t.active), false)
                                           FROM table_combination_members m JOIN dining_tables t ON t.id = m.table_id
                                          WHERE m.combination_id = c.id))
$$;

CREATE FUNCTION fd_table_config_begin(p_restaurant uuid) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM fd_require_read_committed();
    IF NOT EXISTS (SELECT 1 FROM restaurants WHERE id = p_restaurant) THEN
        RAISE EXCEPTION 'no such restaurant' USING ERRCODE = 'FD001';
    END IF;
    PERFORM pg_advisory_xact_lock(fd_config_lock_key(p_restaurant));
END $$;

CREATE FUNCTION fd_check_seats(p_min integer, p_max integer) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF p_min IS NULL OR p_max IS NULL OR p_min < 1 OR p_max > 100 OR p_min > p_max THEN
        RAISE EXCEPTION 'seats must satisfy 1 <= min <= max <= 100 (got min %, max %)',
            coalesce(p_min::text, 'none'), coalesce(p_max::text, 'none') USING ERRCODE = '22023';
    END IF;
END $$;

-- After a change of the floor plan, under the configuration lock (so no booking is being written): give a
-- table to every future confirmed booking that has none, or whose table is out of service or now too small
-- for it — bookings made before the restaurant had tables included — in start order, any table (they are
-- booked already). Returns the bookings still without a table, for staff to seat by hand.
CREATE FUNCTION fd_rehome_bookings(p_restaurant uuid) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    r reservations;
    v_pick record;
    v_left jsonb := '[]'::jsonb;
BEGIN
    FOR r IN
        SELECT x.* FROM reservations x
         WHERE x.restaurant_id = p_restaurant AND x.status = 'confirmed' AND upper(x.during) > clock_timestamp()
           AND (NOT EXISTS (SELECT 1 FROM reservation_tables rt WHERE rt.reservation_id = x.id)
                OR EXISTS (SELECT 1 FROM reservation_tables rt JOIN dining_tables t ON t.id = rt.table_id
                            WHERE rt.reservation_id = x.id
                              AND (NOT t.active OR (rt.combination_id IS NULL AND x.party_size > t.max_seats))))
         ORDER BY lower(x.during), x.created_at
    LOOP
        DELETE FROM reservation_tables WHERE reservation_id = r.id;
        SELECT * INTO v_pick FROM fd_pick_tables_v1(p_restaurant, r.during, r.party_size, 'staff', r.id, NULL, NULL);
        IF v_pick.table_ids IS NULL THEN
            v_left := v_left || jsonb_build_array(fd_reservation_json(r, false));
            CONTINUE;
        END IF;
        BEGIN
            INSERT INTO reservation_tables (reservation_id, table_id, restaurant_id, combination_id, during, live)
            SELECT r.id, t, p_restaurant, v_pick.combination_id, r.during, true FROM unnest(v_pick.table_ids) AS t;
        EXCEPTION
            WHEN exclusion_violation THEN  -- a finished booking brought back meanwhile took it
                v_left := v_left || jsonb_build_array(fd_reservation_json(r, false));
        END;
    END LOOP;
    RETURN v_left;
END $$;

CREATE FUNCTION add_dining_table_v1(p_restaurant uuid, p_name text, p_area text, p_min integer, p_max integer,
                                    p_agent_bookable boolean, p_actor text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_row dining_tables;
    v_left jsonb;
BEGIN
    PERFORM fd_table_config_begin(p_restaurant);
    PERFORM fd_check_seats(p_min, p_max);
    IF EXISTS (SELECT 1 FROM dining_tables WHERE restaurant_id = p_restaurant AND name = p_name) THEN
        RAISE EXCEPTION 'there is already a table named % (a removed table keeps its name: put it back in service instead)',
            p_name USING ERRCODE = '22023';
    END IF;
    INSERT INTO dining_tables (restaurant_id, name, area, min_seats, max_seats, agent_bookable)
    VALUES (p_restaurant, p_name, coalesce(p_area, ''), p_min, p_max, coalesce(p_agent_bookable, true))
    RETURNING * INTO v_row;
    v_left := fd_rehome_bookings(p_restaurant);
    INSERT INTO event_log (restaurant_id, kind, actor, payload)
    VALUES (p_restaurant, 'table.added', p_actor, fd_table_json(v_row) || jsonb_build_object('unassigned', v_left));
    RETURN jsonb_build_object('table', fd_table_json(v_row), 'affected', '[]'::jsonb, 'unassigned', v_left);
END $$;

-- Change a table; NULL leaves a field as it is. Deactivating it, or shrinking it below a future live
-- booking seated at it alone, strands those bookings: refused (FD031, the bookings as JSON in DETAIL)
-- unless p_force, in which case they move to another free table where one fits (else they are returned as
-- unassigned, for staff to seat by hand).
CREATE FUNCTION update_dining_table_v1(p_restaurant uuid, p_name text, p_new_name text, p_area text,
                                       p_min integer, p_max integer, p_agent_bookable boolean, p_active boolean,
                                       p_actor text, p_force boolean)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_old dining_tables;
    v_row dining_tables;
    v_min integer;
    v_max integer;
    v_active boolean;
    v_affected jsonb;
    v_left jsonb;
BEGIN
    PERFORM fd_table_config_begin(p_restaurant);
    SELECT * INTO v_old FROM dining_tables WHERE restaurant_id = p_restaurant AND name = p_name FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no table named %', p_name USING ERRCODE = 'FD003';
    END IF;
    v_min := coalesce(p_min, v_old.min_seats);
    v_max := coalesce(p_max, v_old.max_seats);
    v_active := coalesce(p_active, v_old.active);
    PERFORM fd_check_seats(v_min, v_max);
    IF p_new_name IS NOT NULL AND p_new_name <> v_old.name
       AND EXISTS (SELECT 1 FROM dining_tables WHERE restaurant_id = p_restaurant AND name = p_new_name) THEN
        RAISE EXCEPTION 'there is already a table named %', p_new_name USING ERRCODE = '22023';
    END IF;
    SELECT coalesce(jsonb_agg(fd_reservation_json(r, false) ORDER BY lower(r.during)), '[]'::jsonb)
      INTO v_affected
      FROM reservations r
     WHERE r.id IN (SELECT rt.reservation_id FROM reservation_tables rt
                     WHERE rt.table_id = v_old.id AND rt.live AND upper(rt.during) > clock_timestamp()
                       AND (NOT v_active OR (rt.combination_id IS NULL AND r.party_size > v_max)));
    IF jsonb_array_length(v_affected) > 0 AND NOT coalesce(p_force, false) THEN
        RAISE EXCEPTION 'the change would strand % booking(s) at table %; repeat with force to apply it anyway',
            jsonb_array_length(v_affected), v_old.name
            USING ERRCODE = 'FD031', DETAIL = v_affected::text;
    END IF;
    UPDATE dining_tables
       SET name = coalesce(p_new_name, name), area = coalesce(p_area, area), min_seats = v_min, max_seats = v_max,
           agent_bookable = coalesce(p_agent_bookable, agent_bookable), active = v_active, updated_at = now()
     WHERE id = v_old.id
    RETURNING * INTO v_row;
    v_left := fd_rehome_bookings(p_restaurant);
    INSERT INTO event_log (restaurant_id, kind, actor, payload)
    VALUES (p_restaurant, CASE WHEN v_old.active AND NOT v_row.active THEN 'table.removed' ELSE 'table.updated' END,
            p_actor, jsonb_build_object('from', fd_table_json(v_old), 'to', fd_table_json(v_row),
                                        'forced', coalesce(p_force, false), 'affected', v_affected,
                                        'unassigned', v_left));
    RETURN jsonb_build_object('table', fd_table_json(v_row), 'affected', v_affected, 'unassigned', v_left);
END $$;

-- A set of at least two active tables of the restaurant seated together, with its own seat range
-- (default: 1 up to the tables' seats added up).
CREATE FUNCTION add_table_combination_v1(p_restaurant uuid, p_name text, p_tables text[], p_min integer,
                                         p_max integer, p_agent_bookable boolean, p_actor text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_ids bigint[];
    v_missing text;
    v_row table_combinations;
    v_max integer;
    v_left jsonb;
BEGIN
    PERFORM fd_table_config_begin(p_restaurant);
    IF coalesce(cardinality(p_tables), 0) < 2
       OR (SELECT count(DISTINCT x) FROM unnest(p_tables) AS x) <> cardinality(p_tables) THEN
        RAISE EXCEPTION 'a combination joins at least two different tables' USING ERRCODE = '22023';
    END IF;
    SELECT string_agg(x, ', ') INTO v_missing FROM unnest(p_tables) AS x
     WHERE NOT EXISTS (SELECT 1 FROM dining_tables t WHERE t.restaurant_id = p_restaurant AND t.name = x AND t.active);
    IF v_missing IS NOT NULL THEN
        RAISE EXCEPTION 'no active table named %', v_missing USING ERRCODE = 'FD003';
    END IF;
    IF EXISTS (SELECT 1 FROM table_combinations WHERE restaurant_id = p_restaurant AND name = p_name) THEN
        RAISE EXCEPTION 'there is already a combination named %', p_name USING ERRCODE = '22023';
    END IF;
    SELECT array_agg(t.id ORDER BY t.id), least(sum(t.max_seats), 100) INTO v_ids, v_max
      FROM dining_tables t WHERE t.restaurant_id = p_restaurant AND t.name = ANY (p_tables);
    PERFORM fd_check_seats(coalesce(p_min, 1), coalesce(p_max, v_max));
    INSERT INTO table_combinations (restaurant_id, name, min_seats, max_seats, agent_bookable)
    VALUES (p_restaurant, p_name, coalesce(p_min, 1), coalesce(p_max, v_max), coalesce(p_agent_bookable, true))
    RETURNING * INTO v_row;
    INSERT INTO table_combination_members (combination_id, table_id, restaurant_id)
    SELECT v_row.id, x, p_restaurant FROM unnest(v_ids) AS x;
    v_left := fd_rehome_bookings(p_restaurant);
    INSERT INTO event_log (restaurant_id, kind, actor, payload)
    VALUES (p_restaurant, 'combination.added', p_actor,
            fd_combination_json(v_row) || jsonb_build_object('unassigned', v_left));
    RETURN jsonb_build_object('combination', fd_combination_json(v_row), 'affected', '[]'::jsonb,
                              'unassigned', v_left);
END $$;

-- Remove a combination. Future live bookings seated through it are reported, and refuse the change unless
-- p_force (then they are re-seated like after a table removal).
CREATE FUNCTION remove_table_combination_v1(p_restaurant uuid, p_name text, p_actor text, p_force boolean)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_row table_combinations;
    v_doc jsonb;
    v_affected jsonb;
    v_left jsonb;
BEGIN
    PERFORM fd_table_config_begin(p_restaurant);
    SELECT * INTO v_row FROM table_combinations WHERE restaurant_id = p_restaurant AND name = p_name FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no combination named %', p_name USING ERRCODE = 'FD003';
    END IF;
    SELECT coalesce(jsonb_agg(fd_reservation_json(r, false) ORDER BY lower(r.during)), '[]'::jsonb)
      INTO v_affected
      FROM reservations r
     WHERE r.id IN (SELECT rt.reservation_id FROM reservation_tables rt
                     WHERE rt.combination_id = v_row.id AND rt.live AND upper(rt.during) > clock_timestamp());
    IF jsonb_array_length(v_affected) > 0 AND NOT coalesce(p_force, false) THEN
        RAISE EXCEPTION 'the change would strand % booking(s) seated at combination %; repeat with force to apply it anyway',
            jsonb_array_length(v_affected), v_row.name
            USING ERRCODE = 'FD031', DETAIL = v_affected::text;
    END IF;
    v_doc := fd_combination_json(v_row);
    DELETE FROM table_combinations WHERE id = v_row.id;
    v_left := fd_rehome_bookings(p_restaurant);
    INSERT INTO event_log (restaurant_id, kind, actor, payload)
    VALUES (p_restaurant, 'combination.removed', p_actor,
            jsonb_build_object('combination', v_doc, 'forced', coalesce(p_force, false), 'affected', v_affected,
                               'unassigned', v_left));
    RETURN jsonb_build_object('combination', v_doc, 'affected', v_affected, 'unassigned', v_left);
END $$;

-- Least privilege: app_user reads the floor plan (0001's grant does not cover new tables) and changes it
-- only through the functions above; it never writes these tables directly.
GRANT SELECT ON dining_tables, table_combinations, table_combination_members, reservation_tables TO app_user;
REVOKE EXECUTE ON FUNCTION fd_assign_tables_v1, fd_sync_reservation_tables, add_dining_table_v1,
                           update_dining_table_v1, add_table_combination_v1, remove_table_combination_v1
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fd_assign_tables_v1, add_dining_table_v1, update_dining_table_v1,
                          add_table_combination_v1, remove_table_combination_v1 TO app_user;
