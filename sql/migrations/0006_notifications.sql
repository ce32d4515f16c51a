-- SMS confirmations through a transactional outbox.
--
-- A trigger on reservations writes one notification_outbox row in the SAME transaction as the change that
-- calls for it (confirmed, modified, cancelled), so a committed change always has its message and a rolled-back
-- one never does. Senders (the notifier Lambda, the scheduled sweep, the local sweeper, `frontdesk sms sweep`)
-- claim due rows with FOR UPDATE SKIP LOCKED and a lease, send, and record the outcome by a conditional UPDATE
-- on their claim token: the database marks each message sent at most once. A sender that dies after Twilio
-- accepted a message but before recording it leaves the row leased; when the lease runs out it is sent again.
-- That window (one HTTP round trip plus one UPDATE) is the only way a guest gets a message twice.
--
-- app_user gets SELECT on the new tables and EXECUTE on the functions below; every write goes through them
-- (SECURITY DEFINER, owned by app_owner), so the API role cannot forge or erase outbox rows directly.

CREATE TABLE notification_outbox (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    restaurant_id    uuid NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    reservation_id   uuid NOT NULL REFERENCES reservations (id),
    kind             text NOT NULL CHECK (kind IN ('confirmed', 'modified', 'cancelled')),
    to_phone         text NOT NULL CHECK (fd_is_e164(to_phone)),
    -- What the message needs, as it was at the change (a later rename does not rewrite a sent text).
    payload          jsonb NOT NULL,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'suppressed')),
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    lease_until      timestamptz,
    -- Who holds the current claim: only that sender may record the outcome.
    claim_token      uuid,
    provider_sid     text UNIQUE CHECK (length(provider_sid) <= 64),
    last_error       text CHECK (length(last_error) <= 500),
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    sent_at          timestamptz,
    CHECK ((status = 'sending') = (claim_token IS NOT NULL AND lease_until IS NOT NULL)),
    CHECK ((status = 'sent') = (sent_at IS NOT NULL))
);
-- What a sender scans: unsettled rows by due time. Settled rows drop out of the index.
CREATE INDEX notification_outbox_due ON notification_outbox (next_attempt_at)
    WHERE status IN ('pending', 'sending');
CREATE INDEX notification_outbox_by_reservation ON notification_outbox (reservation_id, created_at);
CREATE INDEX notification_outbox_by_restaurant ON notification_outbox (restaurant_id, created_at DESC);

-- A restaurant's own wording per kind; without a row the default in code is used.
CREATE TABLE sms_templates (
    restaurant_id  uuid NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    kind           text NOT NULL CHECK (kind IN ('confirmed', 'modified', 'cancelled')),
    body           text NOT NULL CHECK (length(btrim(body)) BETWEEN 1 AND 480),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    updated_by     text NOT NULL,
    PRIMARY KEY (restaurant_id, kind)
);

-- Guests who replied STOP (or whom Twilio reports as unsubscribed) get no more texts from that restaurant.
CREATE TABLE sms_opt_outs (
    restaurant_id  uuid NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    phone          text NOT NULL CHECK (fd_is_e164(phone)),
    source         text NOT NULL CHECK (length(source) <= 100),
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (restaurant_id, phone)
);

-- The outbox row for a reservation change, if it calls for one. Runs inside the writer's transaction.
CREATE FUNCTION fd_enqueue_reservation_sms() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_kind text;
    v_rt restaurants;
    v_payload jsonb;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status = 'confirmed' THEN
            v_kind := 'confirmed';
        END IF;
    ELSIF OLD.status = 'confirmed' AND NEW.status = 'cancelled' THEN
        v_kind := 'cancelled';
    ELSIF OLD.status = 'confirmed' AND NEW.status = 'confirmed'
          AND (OLD.during IS DISTINCT FROM NEW.during OR OLD.party_size IS DISTINCT FROM NEW.party_size) THEN
        v_kind := 'modified';
    END IF;
    IF v_kind IS NULL THEN
        RETURN NULL;  -- seated, completed, no_show, or nothing a guest needs to hear about
    END IF;
    SELECT * INTO v_rt FROM restaurants WHERE id = NEW.restaurant_id;
    v_payload := jsonb_build_object(
        'restaurant', v_rt.name,
        'restaurant_phone', v_rt.twilio_number,
        'timezone', v_rt.timezone,
        'guest_name', NEW.guest_name,
        'party_size', NEW.party_size,
        'start_ts', lower(NEW.during),
        -- UTC -> local is PostgreSQL's to do; Python formats these for people.
        'local_date', to_char(lower(NEW.during) AT TIME ZONE v_rt.timezone, 'YYYY-MM-DD'),
        'local_time', to_char(lower(NEW.during) AT TIME ZONE v_rt.timezone, 'HH24:MI'));
    IF v_kind = 'modified' THEN
        v_payload := v_payload || jsonb_build_object(
            'previous_party_size', OLD.party_size,
            'previous_local_date', to_char(lower(OLD.during) AT TIME ZONE v_rt.timezone, 'YYYY-MM-DD'),
            'previous_local_time', to_char(lower(OLD.during) AT TIME ZONE v_rt.timezone, 'HH24:MI'));
    END IF;
    INSERT INTO notification_outbox (restaurant_id, reservation_id, kind, to_phone, payload)
    VALUES (NEW.restaurant_id, NEW.id, v_kind, NEW.guest_phone, v_payload);
    RETURN NULL;
END $$;

CREATE TRIGGER reservations_enqueue_sms
    AFTER INSERT OR UPDATE OF during, party_size, status ON reservations
    FOR EACH ROW EXECUTE FUNCTION fd_enqueue_reservation_sms();

-- Claim up to p_limit due messages (optionally of one reservation) for p_lease_seconds. Due: pending and
-- next_attempt_at has come, or sending with an expired lease (its sender died). A message waits while an
-- earlier message of the same reservation is unsettled, so a guest never reads "cancelled" before
-- "confirmed". Messages to opted-out numbers are settled as suppressed here and not returned.
CREATE FUNCTION claim_notifications_v1(p_limit integer, p_lease_seconds integer, p_reservation uuid DEFAULT NULL)
RETURNS TABLE (id uuid, claim_token uuid, restaurant_id uuid, reservation_id uuid, kind text, to_phone text,
               payload jsonb, attempts integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
#variable_conflict use_column
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 500 THEN
        RAISE EXCEPTION 'claim between 1 and 500 messages' USING ERRCODE = '22023';
    END IF;
    IF p_lease_seconds IS NULL OR p_lease_seconds < 5 OR p_lease_seconds > 3600 THEN
        RAISE EXCEPTION 'a lease lasts between 5 and 3600 seconds' USING ERRCODE = '22023';
    END IF;
    RETURN QUERY
    WITH due AS (
        SELECT o.id,
               EXISTS (SELECT 1 FROM sms_opt_outs x
                        WHERE x.restaurant_id = o.restaurant_id AND x.phone = o.to_phone) AS opted_out
          FROM notification_outbox o
         WHERE ((o.status = 'pending' AND o.next_attempt_at <= now())
                OR (o.status = 'sending' AND o.lease_until < now()))
           AND (p_reservation IS NULL OR o.reservation_id = p_reservation)
           AND NOT EXISTS (SELECT 1 FROM notification_outbox e
                            WHERE e.reservation_id = o.reservation_id
                              AND e.status IN ('pending', 'sending')
                              AND (e.created_at, e.id) < (o.created_at, o.id))
         ORDER BY o.next_attempt_at, o.created_at
         LIMIT p_limit
           FOR UPDATE OF o SKIP LOCKED
    ), claimed AS (
        UPDATE notification_outbox o
           SET status = CASE WHEN due.opted_out THEN 'suppressed' ELSE 'sending' END,
               claim_token = CASE WHEN due.opted_out THEN NULL ELSE gen_random_uuid() END,
               lease_until = CASE WHEN due.opted_out THEN NULL
                                  ELSE now() + make_interval(secs => p_lease_seconds) END,
               attempts = o.attempts + CASE WHEN due.opted_out THEN 0 ELSE 1 END,
               last_error = CASE WHEN due.opted_out THEN 'the guest opted out of texts' ELSE o.last_error END
          FROM due
         WHERE o.id = due.id
        RETURNING o.id, o.claim_token, o.restaurant_id, o.reservation_id, o.kind, o.to_phone, o.payload,
                  o.attempts, o.status
    )
    SELECT c.id, c.claim_token, c.restaurant_id, c.reservation_id, c.kind, c.to_phone, c.payload, c.attempts
      FROM claimed c
     WHERE c.status = 'sending';
END $$;

-- Record what happened to a claimed message. Applies only while the caller still holds the claim (same
-- token, still sending): a sender whose lease ran out and was re-claimed by another records nothing, and a
-- message is marked sent at most once. Returns whether the outcome was recorded.
--   sent        status sent, provider_sid kept
--   retry       back to pending, due again after p_retry_seconds
--   failed      given up (a permanent error, or too many attempts)
--   opted_out   Twilio says the number unsubscribed: suppressed, and the opt-out is remembered
CREATE FUNCTION finish_notification_v1(p_id uuid, p_claim uuid, p_outcome text, p_provider_sid text,
                                       p_error text, p_retry_seconds integer)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_row notification_outbox;
BEGIN
    IF p_outcome NOT IN ('sent', 'retry', 'failed', 'opted_out') OR p_outcome IS NULL THEN
        RAISE EXCEPTION 'unknown outcome %', p_outcome USING ERRCODE = '22023';
    END IF;
    UPDATE notification_outbox o
       SET status = CASE p_outcome WHEN 'sent' THEN 'sent' WHEN 'retry' THEN 'pending'
                                   WHEN 'failed' THEN 'failed' ELSE 'suppressed' END,
           provider_sid = CASE WHEN p_outcome = 'sent' THEN p_provider_sid ELSE o.provider_sid END,
           sent_at = CASE WHEN p_outcome = 'sent' THEN now() END,
           last_error = CASE WHEN p_outcome = 'sent' THEN o.last_error ELSE left(p_error, 500) END,
           next_attempt_at = CASE WHEN p_outcome = 'retry'
                                  THEN now() + make_interval(secs => greatest(coalesce(p_retry_seconds, 0), 0))
                                  ELSE o.next_attempt_at END,
           claim_token = NULL,
           lease_until = NULL
     WHERE o.id = p_id AND o.claim_token = p_claim AND o.status = 'sending'
    RETURNING * INTO v_row;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF p_outcome = 'opted_out' THEN
        INSERT INTO sms_opt_outs (restaurant_id, phone, source)
        VALUES (v_row.restaurant_id, v_row.to_phone, 'twilio:21610')
        ON CONFLICT (restaurant_id, phone) DO NOTHING;
    END IF;
    RETURN true;
END $$;

-- Save a restaurant's template for a kind (NULL or empty body: back to the default). The text is validated in
-- Python before it gets here (placeholders, worst-case length); the table keeps a hard bound.
CREATE FUNCTION set_sms_template_v1(p_restaurant uuid, p_kind text, p_body text, p_actor text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM restaurants WHERE id = p_restaurant) THEN
        RAISE EXCEPTION 'no such restaurant' USING ERRCODE = 'FD001';
    END IF;
    PERFORM pg_advisory_xact_lock(fd_config_lock_key(p_restaurant));
    IF coalesce(btrim(p_body), '') = '' THEN
        DELETE FROM sms_templates WHERE restaurant_id = p_restaurant AND kind = p_kind;
    ELSE
        INSERT INTO sms_templates (restaurant_id, kind, body, updated_by)
        VALUES (p_restaurant, p_kind, p_body, p_actor)
        ON CONFLICT (restaurant_id, kind) DO UPDATE
           SET body = EXCLUDED.body, updated_by = EXCLUDED.updated_by, updated_at = now();
    END IF;
    INSERT INTO event_log (restaurant_id, reservation_id, kind, actor, payload)
    VALUES (p_restaurant, NULL, 'sms_template.set', p_actor,
            jsonb_build_object('kind', p_kind, 'body', nullif(btrim(p_body), '')));
END $$;

-- Opt a phone out of (p_opted_out) or back into a restaurant's texts. Idempotent; returns whether it changed.
CREATE FUNCTION set_sms_opt_out_v1(p_restaurant uuid, p_phone text, p_opted_out boolean, p_actor text)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_changed boolean;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM restaurants WHERE id = p_restaurant) THEN
        RAISE EXCEPTION 'no such restaurant' USING ERRCODE = 'FD001';
    END IF;
    IF p_opted_out THEN
        INSERT INTO sms_opt_outs (restaurant_id, phone, source) VALUES (p_restaurant, p_phone, left(p_actor, 100))
        ON CONFLICT (restaurant_id, phone) DO NOTHING;
    ELSE
        DELETE FROM sms_opt_outs WHERE restaurant_id = p_restaurant AND phone = p_phone;
    END IF;
    GET DIAGNOSTICS v_changed = ROW_COUNT;
    IF v_changed THEN
        INSERT INTO event_log (restaurant_id, reservation_id, kind, actor, payload)
        VALUES (p_restaurant, NULL, CASE WHEN p_opted_out THEN 'sms.opted_out' ELSE 'sms.opted_in' END, p_actor,
                jsonb_build_object('phone', p_phone));
    END IF;
    RETURN v_changed;
END $$;

GRANT SELECT ON notification_outbox, sms_templates, sms_opt_outs TO app_user;
REVOKE EXECUTE ON FUNCTION fd_enqueue_reservation_sms, claim_notifications_v1, finish_notification_v1,
                           set_sms_template_v1, set_sms_opt_out_v1 FROM PUBLIC;
GRANT EXECUTE ON FUNCTION claim_notifications_v1, finish_notification_v1, set_sms_template_v1,
                          set_sms_opt_out_v1 TO app_user;
