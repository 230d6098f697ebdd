"""Chain format 2 (a content hash inside each entry hash), signed checkpoints and purge records.

Entries written before this migration (development databases only: nothing had shipped) are
re-chained in format 2 here, once, before any checkpoint can exist. The hashing code is frozen
in this file, as a migration must not depend on the app's code of a later day.
"""

import datetime as dt
import hashlib
import json

from django.db import migrations, models

CONTENT_FIELDS = (
    "action", "outcome", "actor_id", "actor_display", "target_type", "target_id", "target_display",
    "patient_id", "purpose", "ip", "user_agent", "details",
)


def _dumps(values):
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def rechain(apps, schema_editor):
    AuditEntry = apps.get_model("audit", "AuditEntry")
    prev_hash = "0" * 64
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=1000):
        content = {name: getattr(entry, name) for name in CONTENT_FIELDS}
        digest = hashlib.sha256(b"cordee-audit-content/2\n" + _dumps(content)).hexdigest()
        header = {
            "category": entry.category,
            "content_hash": digest,
            "created_at": entry.created_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "seq": entry.seq,
        }
        entry_hash = hashlib.sha256(prev_hash.encode("ascii") + b"\n" + _dumps(header)).hexdigest()
        AuditEntry.objects.filter(pk=entry.pk).update(prev_hash=prev_hash, content_hash=digest, entry_hash=entry_hash)
        prev_hash = entry_hash


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name="AuditCheckpoint",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("seq", models.BigIntegerField(unique=True)),
                ("entry_hash", models.CharField(max_length=64)),
                ("entry_count", models.BigIntegerField()),
                ("created_at", models.DateTimeField()),
                ("key_id", models.CharField(max_length=64)),
                ("signature", models.CharField(max_length=128)),
            ],
            options={
                "verbose_name": "audit checkpoint",
                "verbose_name_plural": "audit checkpoints",
                "ordering": ["seq"],
            },
        ),
        migrations.CreateModel(
            name="AuditPurge",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("purged_at", models.DateTimeField()),
                ("up_to_seq", models.BigIntegerField()),
                ("security_cutoff", models.DateTimeField()),
                ("access_cutoff", models.DateTimeField()),
                ("tombstoned", models.BigIntegerField()),
                ("deleted", models.BigIntegerField()),
                ("anchor_seq", models.BigIntegerField(blank=True, null=True)),
                ("anchor_hash", models.CharField(blank=True, max_length=64)),
                ("key_id", models.CharField(max_length=64)),
                ("signature", models.CharField(max_length=128)),
            ],
            options={
                "verbose_name": "audit purge",
                "verbose_name_plural": "audit purges",
                "ordering": ["up_to_seq", "pk"],
            },
        ),
        migrations.AddField(
            model_name="auditentry",
            name="content_hash",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditentry",
            name="purged_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(rechain, migrations.RunPython.noop),
    ]
