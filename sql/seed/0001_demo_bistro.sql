-- Demo Bistro: the restaurant `make dev` serves. Idempotent, and it only fills in what is missing, so the
-- numbers, hours or caps a developer changed survive the next `make dev`.
INSERT INTO restaurants (slug, name, timezone, twilio_number, failover_number, address, policies, max_party_size,
                         min_notice_minutes, booking_horizon_days, default_turn_minutes)
VALUES ('demo-bistro', 'Demo Bistro', 'America/New_York', '+15555550100', '+15555550199',
        '12 Example Street, New York, NY 10001',
        'We hold tables for 15 minutes. Parties of more than 12, please call the restaurant. '
        'We can seat high chairs and accommodate most allergies; tell us when you book. '
        'Cancellations are free up to 2 hours before your reservation.',
        12, 30, 90, 120)
ON CONFLICT (slug) DO NOTHING;

-- Open daily 17:00–22:00, Friday and Saturday until 23:30.
INSERT INTO operating_hours (restaurant_id, weekday, opens, closes)
SELECT r.id, d.weekday, time '17:00', CASE WHEN d.weekday IN (5, 6) THEN time '23:30' ELSE time '22:00' END
  FROM restaurants r, generate_series(1, 7) AS d(weekday)
 WHERE r.slug = 'demo-bistro'
   AND NOT EXISTS (SELECT 1 FROM operating_hours h WHERE h.restaurant_id = r.id);

-- 40 covers and 10 parties present per 15 minutes, 16 covers starting.
INSERT INTO capacity_rules (restaurant_id, max_covers_present, max_parties_present, max_covers_starting)
SELECT r.id, 40, 10, 16 FROM restaurants r
 WHERE r.slug = 'demo-bistro'
   AND NOT EXISTS (SELECT 1 FROM capacity_rules c WHERE c.restaurant_id = r.id);

-- Turn times: 90 minutes for 1–2 guests, 120 for 3–6, 150 for 7 and more.
INSERT INTO turn_times (restaurant_id, min_party, max_party, minutes)
SELECT r.id, t.min_party, t.max_party, t.minutes
  FROM restaurants r, (VALUES (1, 2, 90), (3, 6, 120), (7, 100, 150)) AS t(min_party, max_party, minutes)
 WHERE r.slug = 'demo-bistro'
   AND NOT EXISTS (SELECT 1 FROM turn_times x WHERE x.restaurant_id = r.id);
