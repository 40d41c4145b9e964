"""Meetings: scheduling and invitations, the live room of a WebRTC mesh (seats, media,
host controls, signaling relay over ``/ws/meetings/<id>/``) and the 纪要 draft.

``services`` (scheduling and lifecycle, with the ``MEETING_FLOW`` table), ``room`` and
``minutes`` write; ``selectors`` read; ``apis``, ``views``, ``consumers`` and ``jobs`` are
the entry points; ``payloads`` types every channel-layer event and socket frame.
"""
