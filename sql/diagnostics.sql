-- On-call queries. Run with: psql "$DATABASE_URL" -v slug=demo-bistro -v day=2026-12-05 -f sql/diagnostics.sql
-- (or copy the one you need). Read-only; safe on production.

\echo '== 1. Load per 15-minute bucket for one service date (local times), with the caps in force'
SELECT to_char(b.bucket AT TIME ZONE r.timezone, 'HH24:MI') AS local_time,
       b.covers_present || '/' || b.max_covers_present   AS covers,
       b.parties_present || '/' || b.max_parties_present AS parties,
       b.covers_starting || '/' || b.max_covers_starting AS starting
  FROM restaurants r
 CROSS JOIN LATERAL (
        SELECT min(w.opens) AS opens FROM service_windows_v1(r.id, :'day'::date) w) o
 CROSS JOIN LATERAL bucket_state_v1(
        r.id, :'day'::date,
        fd_bucket_floor((:'day'::date + coalesce(o.opens, '00:00')) AT TIME ZONE r.timezone),
        fd_bucket_floor((:'day'::date + coalesce(o.opens, '00:00')) AT TIME ZONE r.timezone) + interval '12 hours',
        NULL) b
 WHERE r.slug = :'slug'
 ORDER BY b.bucket;

\echo '== 2. Buckets over any cap (must be empty; anything here is an overbooking)'
SELECT r0.restaurant_id, b.bucket, b.covers_present, b.max_covers_present, b.parties_present,
       b.max_parties_present, b.covers_starting, b.max_covers_starting
  FROM reservations r0
 CROSS JOIN LATERAL bucket_state_v1(r0.restaurant_id, r0.service_date, fd_bucket_floor(lower(r0.during)),
                                    fd_bucket_ceil(upper(r0.during)), NULL) b
 WHERE r0.status IN ('confirmed', 'seated') AND upper(r0.during) > now() - interval '1 day'
   AND (b.covers_present > b.max_covers_present OR b.parties_present > b.max_parties_present
        OR b.covers_starting > b.max_covers_starting)
 GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

\echo '== 2b. Load counters that disagree with the bookings they summarise (must be empty)'
SELECT rt.slug, d.* FROM restaurants rt CROSS JOIN LATERAL bucket_loads_drift_v1(rt.id) d;
\echo '== 2c. Guest visit / no-show counters that disagree with the bookings (must be empty)'
SELECT rt.slug, d.* FROM restaurants rt CROSS JOIN LATERAL guest_counters_drift_v1(rt.id) d;

\echo '== 3. Overlapping live bookings for one phone (the exclusion constraint forbids these; must be empty)'
SELECT a.restaurant_id, a.guest_phone, a.id, b.id, a.during, b.during
  FROM reservations a JOIN reservations b
    ON a.restaurant_id = b.restaurant_id AND a.guest_phone = b.guest_phone AND a.id < b.id
   AND a.during && b.during
 WHERE a.status IN ('confirmed', 'seated') AND b.status IN ('confirmed', 'seated');

\echo '== 4. Live bookings outside their service date''s hours (stranded by a blackout or changed hours)'
SELECT r.id, rt.slug, r.service_date, lower(r.during) AT TIME ZONE rt.timezone AS local_start, r.guest_name,
       r.guest_phone
  FROM reservations r JOIN restaurants rt ON rt.id = r.restaurant_id
 WHERE r.status = 'confirmed' AND lower(r.during) > now()
   AND NOT EXISTS (
       SELECT 1 FROM service_windows_v1(r.restaurant_id, r.service_date) w
        WHERE w.closed_reason IS NULL
          AND fd_window_covers(w.opens, w.closes, (lower(r.during) AT TIME ZONE rt.timezone)::time,
                               (lower(r.during) AT TIME ZONE rt.timezone)::date = r.service_date))
 ORDER BY lower(r.during);

\echo '== 4b. Future bookings without a table at restaurants that have tables (seat them by hand)'
SELECT r.id, rt.slug, lower(r.during) AT TIME ZONE rt.timezone AS local_start, r.party_size, r.guest_name
  FROM reservations r JOIN restaurants rt ON rt.id = r.restaurant_id
 WHERE r.status IN ('confirmed', 'seated') AND upper(r.during) > now() AND fd_has_tables(r.restaurant_id)
   AND NOT EXISTS (SELECT 1 FROM reservation_tables x WHERE x.reservation_id = r.id AND x.live)
 ORDER BY lower(r.during);

\echo '== 5. Holds vs bookings: holds that became bookings in the last hour, by channel'
SELECT channel, count(*) FILTER (WHERE hold_id IS NOT NULL) AS from_holds,
       count(*) FILTER (WHERE hold_id IS NULL) AS direct, count(*) AS total
  FROM reservations WHERE created_at > now() - interval '1 hour' GROUP BY channel;
\echo '   live holds are in Redis: redis-cli --scan --pattern "fd:hold:*" | wc -l'

\echo '== 6. Recent changes (audit trail)'
SELECT e.created_at, rt.slug, e.kind, e.actor, e.reservation_id, e.payload
  FROM event_log e JOIN restaurants rt ON rt.id = e.restaurant_id
 ORDER BY e.id DESC LIMIT 30;

\echo '== 7. Who holds or waits for booking locks right now (advisory locks are the bucket locks)'
SELECT l.pid, l.granted, a.state, now() - a.xact_start AS in_transaction, left(a.query, 80) AS query
  FROM pg_locks l JOIN pg_stat_activity a USING (pid)
 WHERE l.locktype = 'advisory'
 ORDER BY l.granted, in_transaction DESC;

\echo '== 8. Slowest statements (needs pg_stat_statements)'
SELECT calls, round(mean_exec_time::numeric, 2) AS mean_ms, round(max_exec_time::numeric, 2) AS max_ms,
       left(query, 100) AS query
  FROM pg_stat_statements ORDER BY mean_exec_time DESC LIMIT 10;
