"""Messaging's state changes, the only code that changes conversations, messages and files.

- ``conversations``: starting conversations, members, names, replies, patient threads closed;
- ``sending``: sending messages (group commit of a socket's sends), idempotent by client key;
- ``editing``: editing and deleting a message within the edit window;
- ``attachments``: uploading files (streamed into the vault), purging unsent uploads;
- ``read_state``: read marks.

Each ``do_*`` audits in the transaction of its act. The names most callers use are re-exported here.
"""

from cordee.messaging.services.attachments import do_upload_attachment
from cordee.messaging.services.conversations import (
    close_thread_after_opposition,
    do_add_member,
    do_close_patient_thread,
    do_create_group,
    do_follow_care_team,
    do_open_care_team_thread,
    do_remove_member,
    do_rename,
    do_set_admin,
    do_set_replies_closed,
    do_start_direct,
    do_start_patient_thread,
    do_sync_care_team,
)
from cordee.messaging.services.editing import do_delete_message, do_edit_message
from cordee.messaging.services.read_state import do_mark_read
from cordee.messaging.services.sending import do_send_message

__all__ = [
    "close_thread_after_opposition",
    "do_add_member",
    "do_close_patient_thread",
    "do_create_group",
    "do_delete_message",
    "do_edit_message",
    "do_follow_care_team",
    "do_mark_read",
    "do_open_care_team_thread",
    "do_remove_member",
    "do_rename",
    "do_send_message",
    "do_set_admin",
    "do_set_replies_closed",
    "do_start_direct",
    "do_start_patient_thread",
    "do_sync_care_team",
    "do_upload_attachment",
]
