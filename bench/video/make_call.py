"""Child process of the video benchmark: a call in progress in a direct conversation (for the
signalling measure, which needs two participants but no browser); with ``meeting ID…`` a group of
those users instead (the SFU's set-up measure)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    import django

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cordee.settings")
    django.setup()
    from cordee.video.models import Call

    if sys.argv[1] == "meeting":
        from cordee.accounts.models import User
        from cordee.messaging.services import do_create_group

        first, *others = (User.objects.get(pk=int(v)) for v in sys.argv[2:])
        meeting = do_create_group(first, "Réunion du banc d'essai", [u.pk for u in others])
        print(json.dumps({"meeting": meeting.pk}))
        return
    conversation, user = int(sys.argv[1]), int(sys.argv[2])
    Call.objects.filter(conversation_id=conversation, state=Call.State.ACTIVE).update(state=Call.State.ENDED)
    call = Call.objects.create(conversation_id=conversation, started_by_id=user)
    print(json.dumps({"call": call.pk}))


if __name__ == "__main__":
    main()
