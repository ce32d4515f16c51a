-- Configuration editing: restaurants, weekly hours, special days, capacity rules and turn times.
--
-- Every change goes through one SECURITY DEFINER function (app_user gets EXECUTE, not the tables), which
--   * takes the restaurant's configuration lock exclusively (every booking shares it from its first check to
--     its commit), so a booking either lands before the change and is judged by it, or is judged after it;
--   * compares which live bookings that have not ended yet are stranded before and after the change (outside
--     the hours of their service date, or in a 15-minute bucket over its caps) and, when the change strands
--     any new ones, refuses with SQLSTATE FD031 listing them as JSON in DETAIL unless p_force;
--   * writes event_log with the actor and the before/after values.
-- A refusal raises, so the statement's transaction rolls back whole: nothing half-written.
--
-- New SQLSTATEs: FD032 timezone change refused (future bookings listed in DETAIL; force does not apply),
-- FD040 special day or capacity rule not found. 22023 carries a message meant for the person who typed it.

-- Live bookings (confirmed or seated, not yet ended) whose start is outside the hours of their service date,
-- for service dates in [p_from, p_to]. The same coverage rule as slot_check_v1.
CREATE FUNCTION fd_uncovered_bookings_v1(p_restaurant uuid, p_from date, p_to date)
RETURNS SETOF uuid
LANGUAGE sql STABLE AS $$
    SELECT r.id
      FROM reservations r
      JOIN restaurants rt ON rt.id = r.restaurant_id
     WHERE r.restaurant_id = p_restaurant
       AND r.status IN ('confirmed', 'seated')
       AND upper(r.during) > clock_timestamp()
       AND r.service_date BETWEEN p_from AND p_to
       AND NOT EXISTS (
           SELECT 1 FROM service_windows_v1(p_restaurant, r.service_date) w
            WHERE w.closed_reason IS NULL
              AND fd_window_covers(w.opens, w.closes, (lower(r.during) AT TIME ZONE rt.timezone)::time,
                                   (lower(r.during) AT TIME ZONE rt.timezone)::date = r.service_date))
$$;

-- Live bookings (not yet ended) present in a future bucket whose load is over its caps (covers or parties
-- present), or starting in a bucket whose starting covers are over the cap. Loads come from the bucket_loads
-- counters and caps from the most specific capacity rule for each booking's own service date, the same rule
-- bucket_state_v1 applies to a commit (inlined here: called per bucket it made a 10,000-booking restaurant
-- take minutes).
CREATE FUNCTION fd_over_capacity_bookings_v1(p_restaurant uuid)
RETURNS SETOF uuid
LANGUAGE sql STABLE AS $$
    WITH present AS MATERIALIZED (
        SELECT r.id, r.service_date, g.b, g.b = fd_bucket_floor(lower(r.during)) AS starts_here
          FROM reservations r
         CROSS JOIN LATERAL generate_series(fd_bucket_floor(lower(r.during)),
                                            fd_bucket_ceil(upper(r.during)) - interval '15 minutes',
                                            interval '15 minutes') AS g(b)
         WHERE r.restaurant_id = p_restaurant
           AND r.status IN ('confirmed', 'seated')
           AND upper(r.during) > clock_timestamp()
           AND g.b + interval '15 minutes' > clock_timestamp()),
    judged AS MATERIALIZED (
        SELECT k.service_date, k.b,
               bl.covers_present > coalesce(c.max_covers_present, 0)
                   OR bl.parties_present > coalesce(c.max_parties_present, 0) AS over_present,
               bl.covers_starting > coalesce(c.max_covers_starting, 0) AS over_starting
          FROM (SELECT DISTINCT service_date, b FROM present) k
          JOIN restaurants rt ON rt.id = p_restaurant
          JOIN bucket_loads bl ON bl.restaurant_id = p_restaurant AND bl.bucket = k.b
          LEFT JOIN LATERAL (
                SELECT cr.max_covers_present, cr.max_parties_present, cr.max_covers_starting
                  FROM capacity_rules cr
                 WHERE cr.restaurant_id = p_restaurant
                   AND (cr.on_date IS NULL OR cr.on_date = k.service_date)
                   AND (cr.weekday IS NULL OR cr.weekday = extract(isodow FROM k.service_date))
                   AND (cr.local_from IS NULL
                        OR fd_time_in_window((k.b AT TIME ZONE rt.timezone)::time, cr.local_from, cr.local_until))
                 ORDER BY (cr.on_date IS NOT NULL) DESC, (cr.weekday IS NOT NULL) DESC,
                          (cr.local_from IS NOT NULL) DESC, cr.id DESC
                 LIMIT 1) c ON true)
    SELECT DISTINCT p.id
      FROM present p
      JOIN judged j ON j.service_date = p.service_date AND j.b = p.b
     WHERE j.over_present OR (p.starts_here AND j.over_starting)
$$;

-- The bookings among p_after that were not in p_before, as the JSON list FD031 and the results carry.
CREATE FUNCTION fd_newly_stranded_v1(p_before uuid[], p_after uuid[]) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_agg(fd_reservation_json(r, false) ORDER BY lower(r.during), r.id), '[]'::jsonb)
      FROM reservations r
     WHERE r.id = ANY (p_after) AND NOT (r.id = ANY (coalesce(p_before, '{}')))
$$;

CREATE FUNCTION fd_refuse_stranding(p_affected jsonb, p_force boolean) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF jsonb_array_length(p_affected) > 0 AND NOT p_force THEN
        RAISE EXCEPTION 'the change would strand % booking(s); repeat it with force to apply it anyway',
            jsonb_array_length(p_affected)
            USING ERRCODE = 'FD031', DETAIL = p_affected::text;
    END IF;
END $$;

-- READ COMMITTED, a real restaurant, an actor, and the exclusive configuration lock.
CREATE FUNCTION fd_begin_config_change(p_restaurant uuid, p_actor text) RETURNS restaurants
LANGUAGE plpgsql AS $$
DECLARE
    v_row restaurants;
BEGIN
    PERFORM fd_require_read_committed();
    IF p_actor IS NULL OR length(btrim(p_actor)) = 0 OR length(p_actor) > 200 THEN
        RAISE EXCEPTION 'every configuration change needs an actor (1 to 200 characters)' USING ERRCODE = '22023';
    END IF;
    PERFORM pg_advisory_xact_lock(fd_config_lock_key(p_restaurant));
    SELECT * INTO v_row FROM restaurants WHERE id = p_restaurant;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no such restaurant' USING ERRCODE = 'FD001';
    END IF;
    RETURN v_row;
END $$;

CREATE FUNCTION fd_log_config_change(p_restaurant uuid, p_kind text, p_actor text, p_payload jsonb) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO event_log (restaurant_id, reservation_id, kind, actor, payload)
    VALUES (p_restaurant, NULL, p_kind, p_actor, p_payload)
$$;

-- -- special days ----------------------------------------------------------------------------------------

CREATE FUNCTION fd_special_day_json(s special_days) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', s.id, 'starts_on', s.starts_on, 'ends_on', s.ends_on, 'closed', s.closed,
                              'opens', to_char(s.opens, 'HH24:MI'), 'closes', to_char(s.closes, 'HH24:MI'),
                              'reason', s.reason, 'created_at', s.created_at, 'created_by', s.created_by)
$$;

CREATE FUNCTION fd_special_day_overlap_message(p_restaurant uuid, p_id bigint, p_starts_on date, p_ends_on date)
RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT format('%s to %s overlaps special day %s (%s to %s); change or remove that one instead',
                  p_starts_on, p_ends_on, s.id, s.starts_on, s.ends_on)
      FROM special_days s
     WHERE s.restaurant_id = p_restaurant AND s.id IS DISTINCT FROM p_id
       AND daterange(s.starts_on, s.ends_on, '[]') && daterange(p_starts_on, p_ends_on, '[]')
     ORDER BY s.starts_on LIMIT 1
$$;

-- Same signature as in 0002; now SECURITY DEFINER (app_user loses INSERT on special_days), counting only
-- bookings that have not ended and that the closure newly strands, with a readable overlap message.
CREATE OR REPLACE FUNCTION add_special_day_v1(p_restaurant uuid, p_starts_on date, p_ends_on date,
                                              p_closed boolean, p_opens time, p_closes time, p_reason text,
                                              p_actor text, p_force boolean)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_row special_days;
    v_before uuid[];
    v_affected jsonb;
BEGIN
    PERFORM fd_begin_config_change(p_restaurant, p_actor);
    v_before := ARRAY(SELECT fd_uncovered_bookings_v1(p_restaurant, p_starts_on, p_ends_on));
    BEGIN
        INSERT INTO special_days (restaurant_id, starts_on, ends_on, closed, opens, closes, reason, created_by)
        VALUES (p_restaurant, p_starts_on, p_ends_on, p_closed, p_opens, p_closes, coalesce(p_reason, ''), p_actor)
        RETURNING * INTO v_row;
    EXCEPTION WHEN exclusion_violation THEN
        RAISE EXCEPTION '%', fd_special_day_overlap_message(p_restaurant, NULL, p_starts_on, p_ends_on)
            USING ERRCODE = '22023';
    END;
    v_affected := fd_newly_stranded_v1(v_before,
        ARRAY(SELECT fd_uncovered_bookings_v1(p_restaurant, p_starts_on, p_ends_on)));
    PERFORM fd_refuse_stranding(v_affected, p_force);
    PERFORM fd_log_config_change(p_restaurant, 'special_day.added', p_actor, jsonb_build_object(
        'special_day_id', v_row.id, 'before', NULL, 'after', fd_special_day_json(v_row),
        'forced', p_force AND jsonb_array_length(v_affected) > 0, 'affected', v_affected,
        -- the fields 0002 logged, kept for readers of the older entries
        'starts_on', p_starts_on, 'ends_on', p_ends_on, 'closed', p_closed, 'opens', p_opens,
        'closes', p_closes, 'reason', p_reason));
    RETURN jsonb_build_object('special_day_id', v_row.id, 'special_day', fd_special_day_json(v_row),
                              'affected', v_affected);
END $$;

-- Replace every field of a special day. Dates it no longer covers go back to the weekly hours, which may
-- strand bookings too, so the check spans the old and the new range.
CREATE FUNCTION update_special_day_v1(p_restaurant uuid, p_id bigint, p_starts_on date, p_ends_on date,
                                      p_closed boolean, p_opens time, p_closes time, p_reason text,
                                      p_actor text, p_force boolean)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_old special_days;
    v_row special_days;
    v_from date;
    v_to date;
    v_before uuid[];
    v_affected jsonb;
BEGIN
    PERFORM fd_begin_config_change(p_restaurant, p_actor);
    SELECT * INTO v_old FROM special_days WHERE id = p_id AND restaurant_id = p_restaurant FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no special day % at this restaurant', p_id USING ERRCODE = 'FD040';
    END IF;
    v_from := least(v_old.starts_on, p_starts_on);
    v_to := greatest(v_old.ends_on, p_ends_on);
    v_before := ARRAY(SELECT fd_uncovered_bookings_v1(p_restaurant, v_from, v_to));
    BEGIN
        UPDATE special_days
           SET starts_on = p_starts_on, ends_on = p_ends_on, closed = p_closed, opens = p_opens,
               closes = p_closes, reason = coalesce(p_reason, '')
         WHERE id = p_id
        RETURNING * INTO v_row;
    EXCEPTION WHEN exclusion_violation THEN
        RAISE EXCEPTION '%', fd_special_day_overlap_message(p_restaurant, p_id, p_starts_on, p_ends_on)
            USING ERRCODE = '22023';
    END;
    v_affected := fd_newly_stranded_v1(v_before, ARRAY(SELECT fd_uncovered_bookings_v1(p_restaurant, v_from, v_to)));
    PERFORM fd_refuse_stranding(v_affected, p_force);
    PERFORM fd_log_config_change(p_restaurant, 'special_day.changed', p_actor, jsonb_build_object(
        'special_day_id', p_id, 'before', fd_special_day_json(v_old), 'after', fd_special_day_json(v_row),
        'forced', p_force AND jsonb_array_length(v_affected) > 0, 'affected', v_affected));
    RETURN jsonb_build_object('special_day', fd_special_day_json(v_row), 'affected', v_affected);
END $$;

-- Remove a special day: its dates go back to the weekly hours (which may be closed on those weekdays, or
-- shorter than the changed hours were).
CREATE FUNCTION remove_special_day_v1(p_restaurant uuid, p_id bigint, p_actor text, p_force boolean)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_old special_days;
    v_before uuid[];
    v_affected jsonb;
BEGIN
    PERFORM fd_begin_config_change(p_restaurant, p_actor);
    SELECT * INTO v_old FROM special_days WHERE id = p_id AND restaurant_id = p_restaurant FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no special day % at this restaurant', p_id USING ERRCODE = 'FD040';
    END IF;
    v_before := ARRAY(SELECT fd_uncovered_bookings_v1(p_restaurant, v_old.starts_on, v_old.ends_on));
    DELETE FROM special_days WHERE id = p_id;
    v_affected := fd_newly_stranded_v1(v_before,
        ARRAY(SELECT fd_uncovered_bookings_v1(p_restaurant, v_old.starts_on, v_old.ends_on)));
    PERFORM fd_refuse_stranding(v_affected, p_force);
    PERFORM fd_log_config_change(p_restaurant, 'special_day.removed', p_actor, jsonb_build_object(
        'special_day_id', p_id, 'before', fd_special_day_json(v_old), 'after', NULL,
        'forced', p_force AND jsonb_array_length(v_affected) > 0, 'affected', v_affected));
    RETURN jsonb_build_object('special_day', fd_special_day_json(v_old), 'affected', v_affected);
END $$;

-- -- weekly hours ----------------------------------------------------------------------------------------

CREATE FUNCTION fd_weekly_hours_json(p_restaurant uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object('weekday', h.weekday, 'opens', to_char(h.opens, 'HH24:MI'),
                                                 'closes', to_char(h.closes, 'HH24:MI'))
                              ORDER BY h.weekday, h.opens), '[]'::jsonb)
      FROM operating_hours h WHERE h.restaurant_id = p_restaurant
$$;

-- Replace the windows of the weekdays named in p_hours ({"1": [["17:00", "22:00"]], "7": []}; ISO weekdays,
-- an empty list closes that weekday). The other weekdays keep theirs. Windows may run past midnight; no two
-- windows of the week may overlap, counting the hours a late window spills into the next morning.
CREATE FUNCTION set_weekly_hours_v1(p_restaurant uuid, p_hours jsonb, p_actor text, p_force boolean)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_before_hours jsonb;
    v_days integer[];
    v_before uuid[];
    v_affected jsonb;
    v_clash text;
BEGIN
    PERFORM fd_begin_config_change(p_restaurant, p_actor);
    IF jsonb_typeof(p_hours) IS DISTINCT FROM 'object' OR p_hours = '{}'::jsonb THEN
        RAISE EXCEPTION 'give the windows of at least one weekday' USING ERRCODE = '22023';
    END IF;
    SELECT array_agg(k::integer ORDER BY k::integer) INTO v_days FROM jsonb_object_keys(p_hours) AS k;
    IF EXISTS (SELECT 1 FROM unnest(v_days) d WHERE d NOT BETWEEN 1 AND 7) THEN
        RAISE EXCEPTION 'weekdays are 1 (Monday) to 7 (Sunday)' USING ERRCODE = '22023';
    END IF;
    v_before_hours := fd_weekly_hours_json(p_restaurant);
    -- Every service date that may still have a booking running: local dates trail UTC's by up to a day, and a
    -- late service runs into the next one. (Only bookings that have not ended count anyway.)
    v_before := ARRAY(SELECT fd_uncovered_bookings_v1(p_restaurant, current_date - 2, 'infinity'));
    DELETE FROM operating_hours WHERE restaurant_id = p_restaurant AND weekday = ANY (v_days);
    INSERT INTO operating_hours (restaurant_id, weekday, opens, closes)
    SELECT p_restaurant, d.key::smallint, (w.value ->> 0)::time, (w.value ->> 1)::time
      FROM jsonb_each(p_hours) AS d
     CROSS JOIN LATERAL jsonb_array_elements(d.value) AS w;
    -- Minutes since Monday 00:00; a window ending past Sunday midnight also meets Monday morning.
    WITH spans AS (
        SELECT h.id, h.weekday, h.opens, h.closes,
               int4range(((h.weekday - 1) * 1440 + extract(epoch FROM h.opens) / 60)::integer,
                         ((h.weekday - 1) * 1440 + extract(epoch FROM h.opens) / 60
                          + CASE WHEN h.closes > h.opens THEN extract(epoch FROM h.closes - h.opens) / 60
                                 ELSE 1440 - extract(epoch FROM h.opens - h.closes) / 60 END)::integer) AS r
          FROM operating_hours h WHERE h.restaurant_id = p_restaurant),
    wrapped AS (
        SELECT id, weekday, opens, closes, r FROM spans
        UNION ALL
        SELECT id, weekday, opens, closes, int4range(lower(r) - 10080, upper(r) - 10080) FROM spans
         WHERE upper(r) > 10080)
    SELECT format('the windows %s %s-%s and %s %s-%s overlap; give each weekday windows that do not overlap '
                  '(a window past midnight runs into the next morning)',
                  (ARRAY['Mon','Tue','Wed','Thu','Fri','Sat','Sun'])[a.weekday], to_char(a.opens, 'HH24:MI'),
                  to_char(a.closes, 'HH24:MI'), (ARRAY['Mon','Tue','Wed','Thu','Fri','Sat','Sun'])[b.weekday],
                  to_char(b.opens, 'HH24:MI'), to_char(b.closes, 'HH24:MI'))
      INTO v_clash
      FROM wrapped a JOIN wrapped b ON a.id < b.id AND a.r && b.r
     LIMIT 1;
    IF v_clash IS NOT NULL THEN
        RAISE EXCEPTION '%', v_clash USING ERRCODE = '22023';
    END IF;
    v_affected := fd_newly_stranded_v1(v_before,
        ARRAY(SELECT fd_uncovered_bookings_v1(p_restaurant, current_date - 2, 'infinity')));
    PERFORM fd_refuse_stranding(v_affected, p_force);
    PERFORM fd_log_config_change(p_restaurant, 'hours.changed', p_actor, jsonb_build_object(
        'weekdays', to_jsonb(v_days), 'before', v_before_hours, 'after', fd_weekly_hours_json(p_restaurant),
        'forced', p_force AND jsonb_array_length(v_affected) > 0, 'affected', v_affected));
    RETURN jsonb_build_object('hours', fd_weekly_hours_json(p_restaurant), 'affected', v_affected);
END $$;

-- -- capacity rules --------------------------------------------------------------------------------------

CREATE FUNCTION fd_capacity_rule_json(c capacity_rules) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', c.id, 'on_date', c.on_date, 'weekday', c.weekday,
                              'local_from', to_char(c.local_from, 'HH24:MI'),
                              'local_until', to_char(c.local_until, 'HH24:MI'),
                              'max_covers_present', c.max_covers_present,
                              'max_parties_present', c.max_parties_present,
                              'max_covers_starting', c.max_covers_starting, 'created_at', c.created_at)
$$;

-- One rule per scope (date or weekday or neither, and time window): a second one would make "which wins"
-- depend on insertion order.
CREATE FUNCTION fd_refuse_duplicate_rule(p_restaurant uuid, p_id bigint, p_on_date date, p_weekday integer,
                                         p_from time, p_until time) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_other bigint;
BEGIN
    SELECT id INTO v_other FROM capacity_rules
     WHERE restaurant_id = p_restaurant AND id IS DISTINCT FROM p_id
       AND on_date IS NOT DISTINCT FROM p_on_date AND weekday IS NOT DISTINCT FROM p_weekday
       AND local_from IS NOT DISTINCT FROM p_from AND local_until IS NOT DISTINCT FROM p_until
     LIMIT 1;
    IF v_other IS NOT NULL THEN
        RAISE EXCEPTION 'capacity rule % already covers exactly that date/weekday and time window; change it instead',
            v_other USING ERRCODE = '22023';
    END IF;
END $$;

CREATE FUNCTION add_capacity_rule_v1(p_restaurant uuid, p_on_date date, p_weekday integer, p_local_from time,
                                     p_local_until time, p_max_covers_present integer,
                                     p_max_parties_present integer, p_max_covers_starting integer,
                                     p_actor text, p_force boolean)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_row capacity_rules;
    v_before uuid[];
    v_affected jsonb;
BEGIN
    PERFORM fd_begin_config_change(p_restaurant, p_actor);
    PERFORM fd_refuse_duplicate_rule(p_restaurant, NULL, p_on_date, p_weekday, p_local_from, p_local_until);
    v_before := ARRAY(SELECT fd_over_capacity_bookings_v1(p_restaurant));
    INSERT INTO capacity_rules (restaurant_id, on_date, weekday, local_from, local_until, max_covers_present,
                                max_parties_present, max_covers_starting)
    VALUES (p_restaurant, p_on_date, p_weekday, p_local_from, p_local_until, p_max_covers_present,
            p_max_parties_present, p_max_covers_starting)
    RETURNING * INTO v_row;
    v_affected := fd_newly_stranded_v1(v_before, ARRAY(SELECT fd_over_capacity_bookings_v1(p_restaurant)));
    PERFORM fd_refuse_stranding(v_affected, p_force);
    PERFORM fd_log_config_change(p_restaurant, 'capacity_rule.added', p_actor, jsonb_build_object(
        'capacity_rule_id', v_row.id, 'before', NULL, 'after', fd_capacity_rule_json(v_row),
        'forced', p_force AND jsonb_array_length(v_affected) > 0, 'affected', v_affected));
    RETURN jsonb_build_object('capacity_rule', fd_capacity_rule_json(v_row), 'affected', v_affected);
END $$;

CREATE FUNCTION update_capacity_rule_v1(p_restaurant uuid, p_id bigint, p_on_date date, p_weekday integer,
                                        p_local_from time, p_local_until time, p_max_covers_present integer,
                                        p_max_parties_present integer, p_max_covers_starting integer,
                                        p_actor text, p_force boolean)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_old capacity_rules;
    v_row capacity_rules;
    v_before uuid[];
    v_affected jsonb;
BEGIN
    PERFORM fd_begin_config_change(p_restaurant, p_actor);
    SELECT * INTO v_old FROM capacity_rules WHERE id = p_id AND restaurant_id = p_restaurant FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no capacity rule % at this restaurant', p_id USING ERRCODE = 'FD040';
    END IF;
    PERFORM fd_refuse_duplicate_rule(p_restaurant, p_id, p_on_date, p_weekday, p_local_from, p_local_until);
    v_before := ARRAY(SELECT fd_over_capacity_bookings_v1(p_restaurant));
    UPDATE capacity_rules
       SET on_date = p_on_date, weekday = p_weekday, local_from = p_local_from, local_until = p_local_until,
           max_covers_present = p_max_covers_present, max_parties_present = p_max_parties_present,
           max_covers_starting = p_max_covers_starting
     WHERE id = p_id
    RETURNING * INTO v_row;
    v_affected := fd_newly_stranded_v1(v_before, ARRAY(SELECT fd_over_capacity_bookings_v1(p_restaurant)));
    PERFORM fd_refuse_stranding(v_affected, p_force);
    PERFORM fd_log_config_change(p_restaurant, 'capacity_rule.changed', p_actor, jsonb_build_object(
        'capacity_rule_id', p_id, 'before', fd_capacity_rule_json(v_old), 'after', fd_capacity_rule_json(v_row),
        'forced', p_force AND jsonb_array_length(v_affected) > 0, 'affected', v_affected));
    RETURN jsonb_build_object('capacity_rule', fd_capacity_rule_json(v_row), 'affected', v_affected);
END $$;

-- Removing a rule hands its buckets to the next most specific one, or to none (no capacity at all).
CREATE FUNCTION remove_capacity_rule_v1(p_restaurant uuid, p_id bigint, p_actor text, p_force boolean)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_old capacity_rules;
    v_before uuid[];
    v_affected jsonb;
BEGIN
    PERFORM fd_begin_config_change(p_restaurant, p_actor);
    SELECT * INTO v_old FROM capacity_rules WHERE id = p_id AND restaurant_id = p_restaurant FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no capacity rule % at this restaurant', p_id USING ERRCODE = 'FD040';
    END IF;
    v_before := ARRAY(SELECT fd_over_capacity_bookings_v1(p_restaurant));
    DELETE FROM capacity_rules WHERE id = p_id;
    v_affected := fd_newly_stranded_v1(v_before, ARRAY(SELECT fd_over_capacity_bookings_v1(p_restaurant)));
    PERFORM fd_refuse_stranding(v_affected, p_force);
    PERFORM fd_log_config_change(p_restaurant, 'capacity_rule.removed', p_actor, jsonb_build_object(
        'capacity_rule_id', p_id, 'before', fd_capacity_rule_json(v_old), 'after', NULL,
        'forced', p_force AND jsonb_array_length(v_affected) > 0, 'affected', v_affected));
    RETURN jsonb_build_object('capacity_rule', fd_capacity_rule_json(v_old), 'affected', v_affected);
END $$;

-- -- turn times ------------------------------------------------------------------------------------------

CREATE FUNCTION fd_turn_times_json(p_restaurant uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object('min_party', t.min_party, 'max_party', t.max_party,
                                                 'minutes', t.minutes) ORDER BY t.min_party), '[]'::jsonb)
      FROM turn_times t WHERE t.restaurant_id = p_restaurant
$$;

-- Replace every turn time ([{"min_party": 1, "max_party": 2, "minutes": 90}, ...]). Existing bookings keep
-- the length they were booked with, so nothing is stranded.
CREATE FUNCTION set_turn_times_v1(p_restaurant uuid, p_turn_times jsonb, p_actor text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_before jsonb;
BEGIN
    PERFORM fd_begin_config_change(p_restaurant, p_actor);
    IF jsonb_typeof(p_turn_times) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'turn times are a list of party-size ranges with minutes' USING ERRCODE = '22023';
    END IF;
    v_before := fd_turn_times_json(p_restaurant);
    DELETE FROM turn_times WHERE restaurant_id = p_restaurant;
    BEGIN
        INSERT INTO turn_times (restaurant_id, min_party, max_party, minutes)
        SELECT p_restaurant, (t ->> 'min_party')::integer, (t ->> 'max_party')::integer, (t ->> 'minutes')::integer
          FROM jsonb_array_elements(p_turn_times) AS t;
    EXCEPTION WHEN exclusion_violation THEN
        RAISE EXCEPTION 'two turn times cover the same party size; give ranges that do not overlap'
            USING ERRCODE = '22023';
    END;
    PERFORM fd_log_config_change(p_restaurant, 'turn_times.changed', p_actor, jsonb_build_object(
        'before', v_before, 'after', fd_turn_times_json(p_restaurant)));
    RETURN jsonb_build_object('turn_times', fd_turn_times_json(p_restaurant), 'affected', '[]'::jsonb);
END $$;

-- -- restaurants -----------------------------------------------------------------------------------------

CREATE FUNCTION fd_restaurant_settings_json(r restaurants) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', r.id, 'slug', r.slug, 'name', r.name, 'timezone', r.timezone, 'twilio_number', r.twilio_number,
        'failover_number', r.failover_number, 'address', r.address, 'policies', r.policies,
        'max_party_size', r.max_party_size, 'min_notice_minutes', r.min_notice_minutes,
        'booking_horizon_days', r.booking_horizon_days, 'default_turn_minutes', r.default_turn_minutes,
        'agent_enabled', r.agent_enabled, 'agent_opens', to_char(r.agent_opens, 'HH24:MI'),
        'agent_closes', to_char(r.agent_closes, 'HH24:MI'), 'created_at', r.created_at, 'updated_at', r.updated_at)
$$;

-- Unique slug and Twilio number, said in words.
CREATE FUNCTION fd_raise_restaurant_conflict(p_constraint text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF p_constraint LIKE '%twilio_number%' THEN
        RAISE EXCEPTION 'that Twilio number already answers for another restaurant' USING ERRCODE = '22023';
    END IF;
    RAISE EXCEPTION 'that slug is taken by another restaurant; choose another' USING ERRCODE = '22023';
END $$;

-- Apply the settings in p_changes (only the keys present) to a restaurants row.
CREATE FUNCTION fd_apply_restaurant_settings(r restaurants, p_changes jsonb) RETURNS restaurants
LANGUAGE plpgsql AS $$
BEGIN
    IF p_changes ? 'slug' THEN r.slug := p_changes ->> 'slug'; END IF;
    IF p_changes ? 'name' THEN r.name := p_changes ->> 'name'; END IF;
    IF p_changes ? 'timezone' THEN r.timezone := p_changes ->> 'timezone'; END IF;
    IF p_changes ? 'twilio_number' THEN r.twilio_number := p_changes ->> 'twilio_number'; END IF;
    IF p_changes ? 'failover_number' THEN r.failover_number := p_changes ->> 'failover_number'; END IF;
    IF p_changes ? 'address' THEN r.address := p_changes ->> 'address'; END IF;
    IF p_changes ? 'policies' THEN r.policies := p_changes ->> 'policies'; END IF;
    IF p_changes ? 'max_party_size' THEN r.max_party_size := (p_changes ->> 'max_party_size')::integer; END IF;
    IF p_changes ? 'min_notice_minutes' THEN
        r.min_notice_minutes := (p_changes ->> 'min_notice_minutes')::integer;
    END IF;
    IF p_changes ? 'booking_horizon_days' THEN
        r.booking_horizon_days := (p_changes ->> 'booking_horizon_days')::integer;
    END IF;
    IF p_changes ? 'default_turn_minutes' THEN
        r.default_turn_minutes := (p_changes ->> 'default_turn_minutes')::integer;
    END IF;
    IF p_changes ? 'agent_enabled' THEN r.agent_enabled := (p_changes ->> 'agent_enabled')::boolean; END IF;
    IF p_changes ? 'agent_opens' THEN r.agent_opens := (p_changes ->> 'agent_opens')::time; END IF;
    IF p_changes ? 'agent_closes' THEN r.agent_closes := (p_changes ->> 'agent_closes')::time; END IF;
    RETURN r;
END $$;

-- A new restaurant, and (when p_capacity is given: {"max_covers_present": .., "max_parties_present": ..,
-- "max_covers_starting": ..}) its default capacity rule: without one a restaurant has no capacity at all.
-- It has no hours until they are set, so it takes no booking before that.
CREATE FUNCTION create_restaurant_v1(p_settings jsonb, p_capacity jsonb, p_actor text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_row restaurants;
    v_rule capacity_rules;
BEGIN
    PERFORM fd_require_read_committed();
    IF p_actor IS NULL OR length(btrim(p_actor)) = 0 OR length(p_actor) > 200 THEN
        RAISE EXCEPTION 'every configuration change needs an actor (1 to 200 characters)' USING ERRCODE = '22023';
    END IF;
    IF NOT (p_settings ? 'slug' AND p_settings ? 'name' AND p_settings ? 'timezone') THEN
        RAISE EXCEPTION 'a new restaurant needs a slug, a name and a timezone' USING ERRCODE = '22023';
    END IF;
    v_row := jsonb_populate_record(NULL::restaurants, '{}'::jsonb);
    -- Column defaults for everything p_settings does not say.
    v_row.address := ''; v_row.policies := ''; v_row.max_party_size := 12; v_row.min_notice_minutes := 30;
    v_row.booking_horizon_days := 365; v_row.default_turn_minutes := 120; v_row.agent_enabled := true;
    v_row := fd_apply_restaurant_settings(v_row, p_settings);
    BEGIN
        INSERT INTO restaurants (slug, name, timezone, twilio_number, failover_number, address, policies,
                                 max_party_size, min_notice_minutes, booking_horizon_days, default_turn_minutes,
                                 agent_enabled, agent_opens, agent_closes)
        VALUES (v_row.slug, v_row.name, v_row.timezone, v_row.twilio_number, v_row.failover_number, v_row.address,
                v_row.policies, v_row.max_party_size, v_row.min_notice_minutes, v_row.booking_horizon_days,
                v_row.default_turn_minutes, v_row.agent_enabled, v_row.agent_opens, v_row.agent_closes)
        RETURNING * INTO v_row;
    EXCEPTION WHEN unique_violation THEN
        DECLARE
            v_constraint text;
        BEGIN
            GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
            PERFORM fd_raise_restaurant_conflict(v_constraint);
        END;
    END;
    IF p_capacity IS NOT NULL THEN
        INSERT INTO capacity_rules (restaurant_id, max_covers_present, max_parties_present, max_covers_starting)
        VALUES (v_row.id, (p_capacity ->> 'max_covers_present')::integer,
                (p_capacity ->> 'max_parties_present')::integer, (p_capacity ->> 'max_covers_starting')::integer)
        RETURNING * INTO v_rule;
    END IF;
    PERFORM fd_log_config_change(v_row.id, 'restaurant.created', p_actor, jsonb_build_object(
        'before', NULL, 'after', fd_restaurant_settings_json(v_row),
        'capacity_rule', CASE WHEN v_rule.id IS NOT NULL THEN fd_capacity_rule_json(v_rule) END));
    RETURN jsonb_build_object('restaurant', fd_restaurant_settings_json(v_row),
                              'capacity_rule', CASE WHEN v_rule.id IS NOT NULL THEN fd_capacity_rule_json(v_rule) END);
END $$;

-- Change settings (only the keys in p_changes). The timezone cannot change while live bookings that have not
-- ended exist: their local times would silently move (FD032 lists them; force does not apply). Party size,
-- notice and horizon only judge new bookings; existing ones stay as booked.
CREATE FUNCTION update_restaurant_v1(p_restaurant uuid, p_changes jsonb, p_actor text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_old restaurants;
    v_row restaurants;
    v_ahead bigint;
    v_blocking jsonb;
BEGIN
    v_old := fd_begin_config_change(p_restaurant, p_actor);
    IF jsonb_typeof(p_changes) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'give the settings to change' USING ERRCODE = '22023';
    END IF;
    v_row := fd_apply_restaurant_settings(v_old, p_changes);
    IF v_row.timezone IS DISTINCT FROM v_old.timezone THEN
        SELECT count(*) INTO v_ahead
          FROM reservations r
         WHERE r.restaurant_id = p_restaurant AND r.status IN ('confirmed', 'seated')
           AND upper(r.during) > clock_timestamp();
        IF v_ahead > 0 THEN
            -- The next 100 are listed (enough to see what is in the way; a busy book has thousands).
            SELECT coalesce(jsonb_agg(fd_reservation_json(r, false) ORDER BY lower(r.during), r.id), '[]'::jsonb)
              INTO v_blocking
              FROM reservations r
             WHERE r.id IN (SELECT n.id FROM reservations n
                             WHERE n.restaurant_id = p_restaurant AND n.status IN ('confirmed', 'seated')
                               AND upper(n.during) > clock_timestamp()
                             ORDER BY lower(n.during), n.id LIMIT 100);
            RAISE EXCEPTION 'the timezone cannot change while % booking(s) lie ahead; their local times would '
                            'move. Cancel or move them first', v_ahead
                USING ERRCODE = 'FD032', DETAIL = v_blocking::text;
        END IF;
    END IF;
    BEGIN
        UPDATE restaurants
           SET slug = v_row.slug, name = v_row.name, timezone = v_row.timezone, twilio_number = v_row.twilio_number,
               failover_number = v_row.failover_number, address = v_row.address, policies = v_row.policies,
               max_party_size = v_row.max_party_size, min_notice_minutes = v_row.min_notice_minutes,
               booking_horizon_days = v_row.booking_horizon_days, default_turn_minutes = v_row.default_turn_minutes,
               agent_enabled = v_row.agent_enabled, agent_opens = v_row.agent_opens,
               agent_closes = v_row.agent_closes, updated_at = now()
         WHERE id = p_restaurant
        RETURNING * INTO v_row;
    EXCEPTION WHEN unique_violation THEN
        DECLARE
            v_constraint text;
        BEGIN
            GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
            PERFORM fd_raise_restaurant_conflict(v_constraint);
        END;
    END;
    PERFORM fd_log_config_change(p_restaurant, 'restaurant.changed', p_actor, jsonb_build_object(
        'before', fd_restaurant_settings_json(v_old), 'after', fd_restaurant_settings_json(v_row),
        'changed', (SELECT jsonb_agg(k ORDER BY k) FROM jsonb_object_keys(p_changes) AS k)));
    RETURN jsonb_build_object('restaurant', fd_restaurant_settings_json(v_row));
END $$;

-- -- privileges ------------------------------------------------------------------------------------------

-- Special days are written only through the functions above now (0001 let app_user insert them).
REVOKE INSERT ON special_days FROM app_user;
REVOKE EXECUTE ON FUNCTION add_special_day_v1, update_special_day_v1, remove_special_day_v1, set_weekly_hours_v1,
                           add_capacity_rule_v1, update_capacity_rule_v1, remove_capacity_rule_v1,
                           set_turn_times_v1, create_restaurant_v1, update_restaurant_v1 FROM PUBLIC;
GRANT EXECUTE ON FUNCTION add_special_day_v1, update_special_day_v1, remove_special_day_v1, set_weekly_hours_v1,
                          add_capacity_rule_v1, update_capacity_rule_v1, remove_capacity_rule_v1,
                          set_turn_times_v1, create_restaurant_v1, update_restaurant_v1 TO app_user;
