"""``python -m talkex_widget`` is the ``talkex`` command."""

from talkex_widget.cli import main

raise SystemExit(main())
