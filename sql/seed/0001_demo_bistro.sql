-- Demo Bistro: the restaurant `make dev` serves. Idempotent: re-running leaves the same configuration.
INSERT INTO restaurants (slug, name, timezone, twilio_number, failover_number, address, policies, max_party_size,
                         min_notice_minutes, booking_horizon_days, default_turn_minutes)
VALUES ('demo-bistro', 'Demo Bistro', 'America/New_York', '+15555550100', '+15555550199',
        '12 Example Street, New York, NY 10001',
        'We hold tables for 15 minutes. Parties of more than 12, please call the restaurant. '
        'We can seat high chairs and accommodate most allergies; tell us when you book. '
        'Cancellations are free up to 2 hours before your reservation.',
        12, 30, 90, 120)
ON CONFLICT (slug) DO UPDATE SET
    name = EXCLUDED.name, timezone = EXCLUDED.timezone, twilio_number = EXCLUDED.twilio_number,
    failover_number = EXCLUDED.failover_number, address = EXCLUDED.address, policies = EXCLUDED.policies,
    max_party_size = EXCLUDED.max_party_size, min_notice_minutes = EXCLUDED.min_notice_minutes,
    booking_horizon_days = EXCLUDED.booking_horizon_days, default_turn_minutes = EXCLUDED.default_turn_minutes,
    updated_at = now();

DELETE FROM operating_hours WHERE restaurant_id = (SELECT id FROM restaurants WHERE slug = 'demo-bistro');
INSERT INTO operating_hours (restaurant_id, weekday, opens, closes)
SELECT r.id, d.weekday, time '17:00', CASE WHEN d.weekday IN (5, 6) THEN time '23:30' ELSE time '22:00' END
  FROM restaurants r, generate_series(1, 7) AS d(weekday)
 WHERE r.slug = 'demo-bistro';

DELETE FROM capacity_rules WHERE restaurant_id = (SELECT id FROM restaurants WHERE slug = 'demo-bistro');
INSERT INTO capacity_rules (restaurant_id, max_covers_present, max_parties_present, max_covers_starting)
SELECT id, 40, 10, 16 FROM restaurants WHERE slug = 'demo-bistro';

DELETE FROM turn_times WHERE restaurant_id = (SELECT id FROM restaurants WHERE slug = 'demo-bistro');
INSERT INTO turn_times (restaurant_id, min_party, max_party, minutes)
SELECT r.id, t.min_party, t.max_party, t.minutes
  FROM restaurants r, (VALUES (1, 2, 90), (3, 6, 120), (7, 100, 150)) AS t(min_party, max_party, minutes)
 WHERE r.slug = 'demo-bistro';
