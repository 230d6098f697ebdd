"""Fill: the messages already sent in care-team threads become lines of their patient's timeline
(author and time only, as ``receivers.care_team_messages`` writes the new ones)."""

from django.db import migrations


def fill(apps, schema_editor):
    Message = apps.get_model("messaging", "Message")
    RecordItem = apps.get_model("documents", "RecordItem")
    Professional = apps.get_model("accounts", "Professional")
    filed = set(RecordItem.objects.filter(kind="message").values_list("target_id", flat=True))
    rpps = dict(Professional.objects.values_list("user_id", "rpps"))
    batch = []
    messages = Message.objects.filter(conversation__kind="care_team", conversation__patient__isnull=False)
    for message in messages.select_related("conversation", "sender").iterator(chunk_size=2000):
        if str(message.pk) in filed:
            continue
        sender = message.sender
        display = {}
        if sender is not None and sender.kind != "patient":
            display = {"name": f"{sender.first_name} {sender.last_name}".strip() or sender.email, "role": sender.kind}
            if sender.pk in rpps:
                display["rpps"] = rpps[sender.pk]
        elif sender is not None:
            display = {"role": "patient"}
        batch.append(
            RecordItem(
                patient_id=message.conversation.patient_id,
                kind="message",
                occurred_at=message.created_at,
                author_id=message.sender_id,
                author_display=display,
                target_type="messaging.message",
                target_id=str(message.pk),
                link_id=str(message.conversation_id),
            )
        )
        if len(batch) >= 2000:
            RecordItem.objects.bulk_create(batch)
            batch = []
    RecordItem.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [
        ("documents", "0001_patient_record"),
        ("messaging", "0002_conversation_closed_by_patient"),
        ("accounts", "0005_invitation_bound_to_a_patient"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
