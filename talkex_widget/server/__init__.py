"""The server layer: the transport-free chat service and the Tornado shell around it.

Transport-free (plain text in and out, no Tornado): ``service`` (rooms, posting, history),
``session`` (per-socket routing), ``members``, ``presence_flush`` (batched presence, timed by
an injected scheduler) and ``cluster`` (the tracker and room frames over the pubsub).
The Tornado shell: ``app`` (``make_app``, ``TalkexServer``), ``config``, ``handlers``,
``websocket`` and ``framing`` (the only code that builds WebSocket frames or touches Tornado's
internals). Imports core and backends only.
"""
