"""A keyed MAC on every audit entry (``cordee/audit/mac.py``), with the key in a file outside the database.

Entries written before this migration get their MAC here, computed with the installation's key
(``AUDIT_MAC_KEY_FILE``: the start-up check has already created it in DEBUG, or refused to start
without it). A MAC computed now vouches for the rows as they are now, so the chain is checked
first (every link and hash recomputed, as ``audit verify`` does) and the migration refuses to run
on a broken chain rather than seal a tampering. What it cannot see is what nothing could see
before the MAC existed: entries forged or re-hashed after the last signed checkpoint; run
``manage.py audit verify`` (the checkpoints) and look at the tail before migrating. The other
choice, a "legacy" range of entries without a MAC, would need that range's end to be kept
somewhere an attacker cannot move it; nothing had shipped, so the simple choice is taken.

The hashing code is frozen in this file, as a migration must not depend on the app's code of a
later day. On PostgreSQL the append-only trigger (migration 0003) is disabled for the fill (the
migrating role owns the table), and its purge door now also requires the MAC to stay unchanged.
"""

import datetime as dt
import hashlib
import hmac
import json
from pathlib import Path

from django.conf import settings
from django.db import migrations, models

CONTENT_FIELDS = (
    "action", "outcome", "actor_id", "actor_display", "target_type", "target_id", "target_display",
    "patient_id", "purpose", "ip", "user_agent", "details",
)


def _dumps(values):
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _content_hash(entry):
    content = {name: getattr(entry, name) for name in CONTENT_FIELDS}
    return hashlib.sha256(b"cordee-audit-content/2\n" + _dumps(content)).hexdigest()


def _entry_hash(prev_hash, entry):
    header = {
        "category": entry.category,
        "content_hash": entry.content_hash,
        "created_at": entry.created_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "seq": entry.seq,
    }
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + _dumps(header)).hexdigest()


def _key():
    key = bytes.fromhex(Path(settings.AUDIT_MAC_KEY_PATH).read_text(encoding="ascii").strip())
    if len(key) < 32:
        raise RuntimeError("the audit MAC key (AUDIT_MAC_KEY_FILE) is shorter than 32 bytes")
    return key


def _broken(entry, previous):
    """Why this entry does not verify after ``previous`` (None for the first entry kept), or ""."""
    if entry.purged_at is None and _content_hash(entry) != entry.content_hash:
        return "its content no longer matches its hash"
    if _entry_hash(entry.prev_hash, entry) != entry.entry_hash:
        return "its header no longer matches its hash"
    if previous is not None and (entry.seq != previous.seq + 1 or entry.prev_hash != previous.entry_hash):
        return "it does not follow the previous entry"
    return ""


def fill_macs(apps, schema_editor):
    AuditEntry = apps.get_model("audit", "AuditEntry")
    if not AuditEntry.objects.exists():
        return
    keyed = hmac.new(_key(), b"cordee-audit-mac/1\n", hashlib.sha256)
    postgres = schema_editor.connection.vendor == "postgresql"
    if postgres:
        schema_editor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_append_only")
    previous = None
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=1000):
        problem = _broken(entry, previous)
        if problem:
            raise RuntimeError(
                f"audit entry #{entry.seq} does not verify ({problem}): no MAC is computed over a broken "
                "chain. Run `manage.py audit verify` with the previous release to see the damage."
            )
        digest = keyed.copy()
        digest.update(b"%d\n%s" % (entry.seq, entry.entry_hash.encode("ascii")))
        AuditEntry.objects.filter(pk=entry.pk).update(mac=digest.hexdigest())
        previous = entry
    if postgres:
        schema_editor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_entry_append_only")


GUARD = """
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
            AND NEW.mac = OLD.mac
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
"""


def guard_the_mac(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GUARD, params=None)


def unguard_the_mac(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GUARD.replace("            AND NEW.mac = OLD.mac\n", ""), params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_postgresql_append_only_triggers")]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="mac",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(fill_macs, migrations.RunPython.noop),
        migrations.RunPython(guard_the_mac, unguard_the_mac),
    ]
