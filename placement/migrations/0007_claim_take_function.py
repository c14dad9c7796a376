"""The locked part of a claim as one statement on PostgreSQL (issue 15; placement/services/claims.py).

`placement_claim_take` does, in one round trip and in this order, what `place_claim` does in its transaction: lock
the parent's row, refuse when a cabinet block is in force, take the place by an UPDATE conditional on the state it
was judged in, take the application the same way, and write the referral, the place's `taken` event and the audit
record. Whoever judged the claim passes every value (the rules stay in Python); the function only makes the writes
that the judgement allows, under the same locks in the same order. It also writes the parent's SMS to the
notification outbox (issue 14), in the parent's language read here: the caller passes the text in each language. Its answers:

- `created` with the referral's id;
- `blocked`: a block is in force (nothing written);
- `place_changed`: the place is no longer as it was judged (nothing written but the parent's lock, which the
  caller keeps: it reads the place again under its lock and judges again, as on SQLite).

A child referred meanwhile (the application no longer queued) raises SQLSTATE `IN001` after the place was taken,
so the whole transaction rolls back. SQLite, the embedded default, takes the same steps through the ORM.
"""

from django.db import migrations

CREATE_FUNCTION = """
CREATE OR REPLACE FUNCTION placement_claim_take(
    p_parent bigint, p_place bigint, p_entered timestamptz, p_until timestamptz, p_application bigint,
    p_at timestamptz, p_number varchar, p_valid_until timestamptz, p_child bigint, p_kindergarten bigint,
    p_city bigint, p_day date, p_birth_year integer, p_language varchar, p_group_type varchar, p_access varchar,
    p_details jsonb, p_ip inet, p_recorded timestamptz, p_notice_kind varchar, p_notice_params jsonb,
    p_text_ru text, p_text_kk text
) RETURNS TABLE (outcome text, referral_id bigint) AS $$
DECLARE
    new_referral bigint;
BEGIN
    PERFORM 1 FROM accounts_user WHERE id = p_parent FOR NO KEY UPDATE;
    -- Read after the lock, by a statement of its own: a block committed while this claim waited is seen.
    IF EXISTS (
        SELECT 1 FROM accounts_cabinetblock
        WHERE user_id = p_parent AND lifted_at IS NULL AND starts_at <= p_at AND ends_at > p_at
    ) THEN
        RETURN QUERY SELECT 'blocked'::text, NULL::bigint;
        RETURN;
    END IF;
    UPDATE placement_place SET state = 'taken'
    WHERE id = p_place AND state IN ('scheduled', 'priority', 'general')
        AND entered_priority_at = p_entered AND priority_until = p_until;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'place_changed'::text, NULL::bigint;
        RETURN;
    END IF;
    UPDATE placement_application SET status = 'referred', status_changed_at = p_at
    WHERE id = p_application AND status = 'queued';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'has_live_referral' USING ERRCODE = 'IN001';
    END IF;
    INSERT INTO placement_referral
        (number, place_id, application_id, child_id, parent_id, kindergarten_id, issued_at, valid_until, status,
         closed_at, close_reason)
    VALUES
        (p_number, p_place, p_application, p_child, p_parent, p_kindergarten, p_at, p_valid_until, 'live',
         NULL, '')
    RETURNING id INTO new_referral;
    INSERT INTO placement_placeevent
        (place_id, city_id, kindergarten_id, kind, at, protocol_day, recorded_at, by_id, reason, birth_year,
         language, group_type, access)
    VALUES
        (p_place, p_city, p_kindergarten, 'taken', p_at, p_day, p_recorded, NULL, '', p_birth_year,
         p_language, p_group_type, p_access);
    INSERT INTO accounts_auditentry (at, actor_id, action, target_type, target_id, ip, details)
    VALUES (p_at, p_parent, 'referral.issue', 'placement.referral', new_referral::text, p_ip, p_details);
    -- The outbox row as accounts.services.notifications.notification_build makes it; its key as event_key does.
    INSERT INTO accounts_notification
        (user_id, kind, key, language, phone, params, text, status, attempts, next_attempt_at, send_before,
         claimed_at, last_error, created_at, sent_at)
    SELECT u.id, p_notice_kind, p_notice_kind || ':' || new_referral::text, lang.code, COALESCE(u.phone, ''),
        p_notice_params, CASE WHEN lang.code = 'kk' THEN p_text_kk ELSE p_text_ru END, 'pending', 0, p_at, NULL,
        NULL, '', p_at, NULL
    FROM accounts_user u, LATERAL (SELECT CASE WHEN u.language = 'kk' THEN 'kk' ELSE 'ru' END AS code) lang
    WHERE u.id = p_parent
    ON CONFLICT (key) DO NOTHING;
    RETURN QUERY SELECT 'created'::text, new_referral;
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE_FUNCTION, None)  # no parameters: keep the function's text as is


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "DROP FUNCTION IF EXISTS placement_claim_take(bigint, bigint, timestamptz, timestamptz, bigint, "
            "timestamptz, varchar, timestamptz, bigint, bigint, bigint, date, integer, varchar, varchar, varchar, "
            "jsonb, inet, timestamptz, varchar, jsonb, text, text)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("placement", "0006_general_access_subscription"),
        ("accounts", "0006_user_language_notification_outbox"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
