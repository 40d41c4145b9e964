"""Chat: conversations, messages with per-conversation seq, read pointers, recall, DING,
attachments and directory-driven department groups, over the user socket ``/ws/``.

``services`` (sends, read, recall, conversations), ``dings``, ``attachments`` and
``department_groups`` write; ``selectors`` read; ``apis``, ``views``, ``consumers`` and
``jobs`` are the entry points, each opening the transaction its service call runs in;
``payloads`` types every channel-layer event and socket frame.
"""
