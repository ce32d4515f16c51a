-- Front Desk schema. Instants are UTC timestamptz; opening hours are local wall-clock times on a service date.
-- Roles app_owner / app_user are created by the migration runner's bootstrap (they are cluster-wide).

CREATE EXTENSION IF NOT EXISTS btree_gist;

-- A timezone is valid when PostgreSQL knows it by its IANA name. Declared IMMUTABLE so CHECK may use it;
-- the tz database changes rarely and never removes a zone.
CREATE FUNCTION fd_is_valid_timezone(tz text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT tz IS NOT NULL AND EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = tz)
$$;

CREATE FUNCTION fd_is_e164(phone text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT phone ~ '^\+[1-9][0-9]{6,14}$' $$;

CREATE TABLE restaurants (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug                  text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    name                  text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    timezone              text NOT NULL CHECK (fd_is_valid_timezone(timezone)),
    twilio_number         text UNIQUE CHECK (fd_is_e164(twilio_number)),
    failover_number       text CHECK (fd_is_e164(failover_number)),
    address               text NOT NULL DEFAULT '' CHECK (length(address) <= 500),
    policies              text NOT NULL DEFAULT '' CHECK (length(policies) <= 4000),
    max_party_size        integer NOT NULL DEFAULT 12 CHECK (max_party_size BETWEEN 1 AND 100),
    -- How far ahead a booking must be made, and how far ahead it may be made.
    min_notice_minutes    integer NOT NULL DEFAULT 30 CHECK (min_notice_minutes BETWEEN 0 AND 10080),
    booking_horizon_days  integer NOT NULL DEFAULT 365 CHECK (booking_horizon_days BETWEEN 1 AND 730),
    -- Turn time used when no turn_times row covers a party size.
    default_turn_minutes  integer NOT NULL DEFAULT 120 CHECK (default_turn_minutes BETWEEN 15 AND 600),
    agent_enabled         boolean NOT NULL DEFAULT true,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);

-- Regular weekly hours. weekday is ISO (1 = Monday). closes <= opens means the service runs past
-- midnight; those early-morning minutes belong to the service date the window opened on.
CREATE TABLE operating_hours (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    restaurant_id  uuid NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    weekday        smallint NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    opens          time NOT NULL,
    closes         time NOT NULL,
    CHECK (opens <> closes),
    UNIQUE (restaurant_id, weekday, opens)
);

-- Closures (blackouts) and changed hours for a date or a range of service dates. They replace the
-- regular hours of those dates; ranges of one restaurant never overlap, so a date has one answer.
CREATE TABLE special_days (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    restaurant_id  uuid NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    starts_on      date NOT NULL,
    ends_on        date NOT NULL,
    closed         boolean NOT NULL,
    opens          time,
    closes         time,
    reason         text NOT NULL DEFAULT '' CHECK (length(reason) <= 200),
    created_at     timestamptz NOT NULL DEFAULT now(),
    created_by     text NOT NULL DEFAULT 'system',
    CHECK (ends_on >= starts_on),
    CHECK ((closed AND opens IS NULL AND closes IS NULL)
        OR (NOT closed AND opens IS NOT NULL AND closes IS NOT NULL AND opens <> closes)),
    CONSTRAINT special_days_do_not_overlap
        EXCLUDE USING gist (restaurant_id WITH =, daterange(starts_on, ends_on, '[]') WITH &&)
);

-- Pacing per 15-minute bucket. The most specific matching rule wins: a date beats a weekday beats the
-- default, and a rule with a local time window beats one without.
CREATE TABLE capacity_rules (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    restaurant_id        uuid NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    on_date              date,
    weekday              smallint CHECK (weekday BETWEEN 1 AND 7),
    local_from           time,
    local_until          time,
    max_covers_present   integer NOT NULL CHECK (max_covers_present >= 0),
    max_parties_present  integer NOT NULL CHECK (max_parties_present >= 0),
    max_covers_starting  integer NOT NULL CHECK (max_covers_starting >= 0),
    created_at           timestamptz NOT NULL DEFAULT now(),
    CHECK (on_date IS NULL OR weekday IS NULL),
    CHECK ((local_from IS NULL) = (local_until IS NULL)),
    CHECK (local_from IS NULL OR local_from <> local_until)
);
CREATE UNIQUE INDEX capacity_rules_one_default ON capacity_rules (restaurant_id)
    WHERE on_date IS NULL AND weekday IS NULL AND local_from IS NULL;

CREATE TABLE turn_times (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    restaurant_id  uuid NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    min_party      integer NOT NULL CHECK (min_party >= 1),
    max_party      integer NOT NULL,
    minutes        integer NOT NULL CHECK (minutes BETWEEN 15 AND 600),
    CHECK (max_party >= min_party),
    CONSTRAINT turn_times_do_not_overlap
        EXCLUDE USING gist (restaurant_id WITH =, int4range(min_party, max_party, '[]') WITH &&)
);

CREATE TABLE reservations (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    restaurant_id    uuid NOT NULL REFERENCES restaurants (id),
    -- The service date the booking counts in (a 00:30 start after a Friday service is Friday's).
    service_date     date NOT NULL,
    during           tstzrange NOT NULL CHECK (NOT isempty(during) AND lower_inc(during) AND NOT upper_inc(during)
                                              AND NOT lower_inf(during) AND NOT upper_inf(during)),
    party_size       integer NOT NULL CHECK (party_size BETWEEN 1 AND 100),
    guest_name       text NOT NULL CHECK (length(btrim(guest_name)) BETWEEN 1 AND 120),
    guest_phone      text NOT NULL CHECK (fd_is_e164(guest_phone)),
    notes            text NOT NULL DEFAULT '' CHECK (length(notes) <= 500),
    status           text NOT NULL DEFAULT 'confirmed'
                     CHECK (status IN ('confirmed', 'cancelled', 'seated', 'completed', 'no_show')),
    channel          text NOT NULL CHECK (channel IN ('phone_agent', 'staff', 'api')),
    hold_id          text CHECK (length(hold_id) <= 64),
    idempotency_key  text CHECK (length(idempotency_key) <= 128),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    cancelled_at     timestamptz,
    UNIQUE (restaurant_id, hold_id),
    UNIQUE (restaurant_id, idempotency_key),
    -- Duplicate guard: one phone cannot hold two overlapping live bookings at one restaurant.
    CONSTRAINT one_live_booking_per_phone_at_a_time
        EXCLUDE USING gist (restaurant_id WITH =, guest_phone WITH =, during WITH &&)
        WHERE (status IN ('confirmed', 'seated'))
);
CREATE INDEX reservations_live_by_time ON reservations USING gist (restaurant_id, during)
    WHERE status IN ('confirmed', 'seated');
CREATE INDEX reservations_by_phone ON reservations (restaurant_id, guest_phone, lower(during));
CREATE INDEX reservations_by_service_date ON reservations (restaurant_id, service_date);
CREATE INDEX reservations_by_hold ON reservations (hold_id) WHERE hold_id IS NOT NULL;

-- Live load per restaurant and UTC 15-minute bucket, kept by a trigger on reservations (0002), so a
-- capacity check reads a few counters instead of summing every booking in the bucket. (No CHECK >= 0:
-- PostgreSQL checks the proposed row of an upsert before resolving the conflict, and deltas are negative;
-- bucket_loads_drift_v1 proves the counters against the bookings instead.)
CREATE TABLE bucket_loads (
    restaurant_id    uuid NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    bucket           timestamptz NOT NULL,
    covers_present   integer NOT NULL DEFAULT 0,
    parties_present  integer NOT NULL DEFAULT 0,
    covers_starting  integer NOT NULL DEFAULT 0,
    PRIMARY KEY (restaurant_id, bucket)
);

-- Append-only audit of every reservation change.
CREATE TABLE event_log (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    restaurant_id   uuid NOT NULL REFERENCES restaurants (id),
    reservation_id  uuid REFERENCES reservations (id),
    kind            text NOT NULL,
    actor           text NOT NULL,
    payload         jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX event_log_by_reservation ON event_log (reservation_id, id);
CREATE INDEX event_log_by_restaurant ON event_log (restaurant_id, created_at);

CREATE FUNCTION fd_event_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'event_log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER event_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON event_log
    FOR EACH STATEMENT EXECUTE FUNCTION fd_event_log_is_append_only();

-- Least privilege: the API reads everything, writes reservations and appends events; no DDL, no DELETE.
GRANT USAGE ON SCHEMA public TO app_user;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO app_user;
GRANT INSERT, UPDATE ON reservations TO app_user;
GRANT INSERT ON event_log TO app_user;
GRANT INSERT ON special_days TO app_user;
GRANT INSERT, UPDATE ON bucket_loads TO app_user;
