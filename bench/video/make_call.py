"""Child process of the video benchmark: a call in progress in a direct conversation (for the
signalling measure, which needs two participants but no browser)."""

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

    conversation, user = int(sys.argv[1]), int(sys.argv[2])
    Call.objects.filter(conversation_id=conversation, state=Call.State.ACTIVE).update(state=Call.State.ENDED)
    call = Call.objects.create(conversation_id=conversation, started_by_id=user)
    print(json.dumps({"call": call.pk}))


if __name__ == "__main__":
    main()
