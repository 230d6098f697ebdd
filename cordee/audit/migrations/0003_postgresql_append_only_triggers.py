"""PostgreSQL only: UPDATE and DELETE on the audit tables are refused by triggers.

The one door: a transaction that has set ``cordee.audit_purge = 'on'`` (``SET LOCAL``, done only by
``cordee.audit.retention.purge``) may blank the content of a live entry while keeping its chain
columns (a tombstone), and delete tombstones. Checkpoints and purge records are never changed.
A database superuser (or the table's owner) can still disable or drop these triggers: the signed
checkpoints kept by a third party are what catches that (docs/security.md).
"""

from django.db import migrations

ENTRY_GUARD = """
CREATE OR REPLACE FUNCTION cordee_audit_entry_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('cordee.audit_purge', true) = 'on' THEN
        IF TG_OP = 'DELETE' AND OLD.purged_at IS NOT NULL THEN
            RETURN OLD;
        END IF;
        IF TG_OP = 'UPDATE' AND OLD.purged_at IS NULL AND NEW.purged_at IS NOT NULL
            AND NEW.id = OLD.id AND NEW.seq = OLD.seq AND NEW.created_at = OLD.created_at
            AND NEW.category = OLD.category AND NEW.prev_hash = OLD.prev_hash
            AND NEW.content_hash = OLD.content_hash AND NEW.entry_hash = OLD.entry_hash
            AND NEW.action = '' AND NEW.outcome = '' AND NEW.actor_id IS NULL
            AND NEW.actor_display = '{}'::jsonb AND NEW.target_type = '' AND NEW.target_id = ''
            AND NEW.target_display = '' AND NEW.patient_id IS NULL AND NEW.purpose = ''
            AND NEW.ip IS NULL AND NEW.user_agent = '' AND NEW.details = '{}'::jsonb THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'the audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'only the retention purge may blank or delete expired entries';
END;
$$;
CREATE OR REPLACE FUNCTION cordee_audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_auditentry
    FOR EACH ROW EXECUTE FUNCTION cordee_audit_entry_guard();
CREATE TRIGGER audit_checkpoint_append_only BEFORE UPDATE OR DELETE ON audit_auditcheckpoint
    FOR EACH ROW EXECUTE FUNCTION cordee_audit_refuse_change();
CREATE TRIGGER audit_purge_append_only BEFORE UPDATE OR DELETE ON audit_auditpurge
    FOR EACH ROW EXECUTE FUNCTION cordee_audit_refuse_change();
"""

DROP = """
DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_auditentry;
DROP TRIGGER IF EXISTS audit_checkpoint_append_only ON audit_auditcheckpoint;
DROP TRIGGER IF EXISTS audit_purge_append_only ON audit_auditpurge;
DROP FUNCTION IF EXISTS cordee_audit_entry_guard();
DROP FUNCTION IF EXISTS cordee_audit_refuse_change();
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ENTRY_GUARD, params=None)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_checkpoints_purges_and_two_level_hashes")]

    operations = [migrations.RunPython(install, remove)]
