"""公文 as DOCX: the GB/T 9704-2012 layout (``render``), its low-level WordprocessingML
helpers (``oxml``) and the import of an uploaded DOCX's title and body (``importing``)."""
