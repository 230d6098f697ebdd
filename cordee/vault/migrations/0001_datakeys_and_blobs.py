# Data keys (wrapped by the key-encryption key of the keyset file) and encrypted file rows.

import uuid

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name='Blob',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('owner_type', models.CharField(max_length=64)),
                ('owner_id', models.CharField(max_length=64)),
                ('backend', models.CharField(max_length=8)),
                ('size', models.BigIntegerField()),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                'verbose_name': 'encrypted file',
                'indexes': [models.Index(fields=['owner_type', 'owner_id'], name='vault_blob_owner_idx')],
            },
        ),
        migrations.CreateModel(
            name='DataKey',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('owner_type', models.CharField(max_length=64)),
                ('owner_id', models.CharField(max_length=64)),
                ('wrapped_aead', models.BinaryField()),
                ('wrapped_streaming', models.BinaryField()),
                ('kek_key_id', models.BigIntegerField(blank=True, null=True)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('rotated_at', models.DateTimeField(blank=True, null=True)),
                ('destroyed_at', models.DateTimeField(blank=True, null=True)),
            ],
            options={
                'verbose_name': 'data key',
                'constraints': [models.UniqueConstraint(fields=('owner_type', 'owner_id'), name='vault_datakey_unique_owner')],
            },
        ),
    ]
