-- SMS delivery receipts and outbox retention.
--
-- Receipts: every message is sent with a status callback (POST /twilio/sms-status). Twilio reports each step
-- (queued, sent, delivered / undelivered / failed) and may deliver those reports late, out of order and more
-- than once, so a receipt only ever moves a message forward: queued < sent < a final state (delivered,
-- undelivered, failed). A final state is never replaced. A receipt for a sid we do not know is ignored.
--
-- Retention: settled rows (sent, suppressed, failed) carry the guest's phone number and name; they are deleted
-- once they are older than the retention period (SMS_RETENTION_DAYS, 90 by default), in bounded batches so no
-- sweep holds long locks. Rows still pending or sending are never deleted. app_user has no DELETE on the
-- outbox: both writes go through SECURITY DEFINER functions owned by app_owner.

ALTER TABLE notification_outbox
    ADD COLUMN delivery_status text
        CHECK (delivery_status IN ('queued', 'sent', 'delivered', 'undelivered', 'failed')),
    ADD COLUMN delivery_error  text CHECK (length(delivery_error) <= 200),
    ADD COLUMN delivered_at    timestamptz,
    -- When the last receipt that changed the row arrived.
    ADD COLUMN delivery_updated_at timestamptz;

-- What the pruner scans: settled rows by age. Unsettled rows are not in it, so they cannot be pruned by it.
CREATE INDEX notification_outbox_settled ON notification_outbox (created_at)
    WHERE status IN ('sent', 'suppressed', 'failed');

-- How far along a delivery status is; a receipt applies only when it goes further. Final states share a rank.
CREATE FUNCTION fd_sms_delivery_rank(p_status text) RETURNS integer
LANGUAGE sql IMMUTABLE SET search_path = public, pg_temp AS $$
    SELECT CASE p_status WHEN 'queued' THEN 1 WHEN 'sent' THEN 2
                         WHEN 'delivered' THEN 3 WHEN 'undelivered' THEN 3 WHEN 'failed' THEN 3
                         ELSE 0 END
$$;

-- Record a delivery receipt for the message Twilio knows as p_sid. Returns
--   'recorded'   the row moved forward
--   'unchanged'  the receipt was stale or repeated (the row was already as far or further)
--   'unknown'    no outbox row has this sid (pruned, or not ours): ignored
-- p_opted_out: Twilio's error code says the recipient unsubscribed or blocks us (decided in Python); the
-- opt-out is remembered for the restaurant exactly as the send path does, and audited.
CREATE FUNCTION record_sms_delivery_v1(p_sid text, p_status text, p_error text, p_opted_out boolean,
                                       p_actor text)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_row notification_outbox;
    v_inserted integer;
BEGIN
    IF p_status IS NULL OR fd_sms_delivery_rank(p_status) = 0 THEN
        RAISE EXCEPTION 'unknown delivery status %', p_status USING ERRCODE = '22023';
    END IF;
    IF p_sid IS NULL OR length(p_sid) > 64 THEN
        RETURN 'unknown';
    END IF;
    -- The row lock orders concurrent receipts for one message: each sees the other's result.
    SELECT * INTO v_row FROM notification_outbox WHERE provider_sid = p_sid FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'unknown';
    END IF;
    IF p_opted_out THEN
        INSERT INTO sms_opt_outs (restaurant_id, phone, source)
        VALUES (v_row.restaurant_id, v_row.to_phone, left(coalesce(p_actor, 'twilio'), 100))
        ON CONFLICT (restaurant_id, phone) DO NOTHING;
        GET DIAGNOSTICS v_inserted = ROW_COUNT;
        IF v_inserted > 0 THEN
            INSERT INTO event_log (restaurant_id, reservation_id, kind, actor, payload)
            VALUES (v_row.restaurant_id, v_row.reservation_id, 'sms.opted_out', left(coalesce(p_actor, 'twilio'), 100),
                    jsonb_build_object('phone', v_row.to_phone, 'error', left(p_error, 200)));
        END IF;
    END IF;
    IF fd_sms_delivery_rank(p_status) <= fd_sms_delivery_rank(v_row.delivery_status) THEN
        RETURN 'unchanged';
    END IF;
    UPDATE notification_outbox o
       SET delivery_status = p_status,
           delivery_error = CASE WHEN p_status IN ('undelivered', 'failed') THEN left(p_error, 200) END,
           delivered_at = CASE WHEN p_status = 'delivered' THEN now() END,
           delivery_updated_at = now()
     WHERE o.id = v_row.id;
    RETURN 'recorded';
END $$;

-- Delete up to p_batch settled messages untouched for more than p_older_than_days; returns how many. Callers
-- repeat until it returns fewer than p_batch. SKIP LOCKED: a row being read for a receipt is left for the next run.
CREATE FUNCTION prune_notification_outbox_v1(p_older_than_days integer, p_batch integer)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_deleted integer;
BEGIN
    IF p_older_than_days IS NULL OR p_older_than_days < 1 OR p_older_than_days > 3650 THEN
        RAISE EXCEPTION 'keep messages between 1 and 3650 days' USING ERRCODE = '22023';
    END IF;
    IF p_batch IS NULL OR p_batch < 1 OR p_batch > 10000 THEN
        RAISE EXCEPTION 'prune between 1 and 10000 messages at a time' USING ERRCODE = '22023';
    END IF;
    WITH old AS (
        SELECT o.id
          FROM notification_outbox o
         WHERE o.status IN ('sent', 'suppressed', 'failed')
           AND o.created_at < now() - make_interval(days => p_older_than_days)
           -- Age counts from the last thing that happened to the message (a long-pending row sent today, or
           -- a receipt that arrived today, is not old); created_at first so the index narrows the scan.
           AND greatest(o.created_at, o.sent_at, o.next_attempt_at, o.delivery_updated_at)
               < now() - make_interval(days => p_older_than_days)
         ORDER BY o.created_at
         LIMIT p_batch
           FOR UPDATE SKIP LOCKED
    )
    DELETE FROM notification_outbox o USING old
     WHERE o.id = old.id
       AND o.status IN ('sent', 'suppressed', 'failed');
    GET DIAGNOSTICS v_deleted = ROW_COUNT;
    RETURN v_deleted;
END $$;

REVOKE EXECUTE ON FUNCTION fd_sms_delivery_rank, record_sms_delivery_v1, prune_notification_outbox_v1 FROM PUBLIC;
GRANT EXECUTE ON FUNCTION record_sms_delivery_v1, prune_notification_outbox_v1 TO app_user;
