"""``python -m talkex_widget`` is the ``talkex`` command."""

from .cli import main

raise SystemExit(main())
