"""The upload pipeline: untrusted bytes in, a checked object in storage out. No models,
no database, no tenant: each stage takes what it needs as arguments (the tenant's rules,
a key) and refuses with the codes of uploads/errors.py. The app around it
(services.py, presign.py) records Files, takes the quota lock and announces what happened.

    handlers         a multipart body streamed to a temporary file: size cut-off, SHA-256
    parsers          the multipart parser that keeps the file name as sent
    names            cleaning (or refusing) a client's file name
    sniffing         what a file is, from its first bytes
    validation       is it acceptable: type by extension and content, structure, PDF content
    scanning         malware scanning (clamd, or the built-in EICAR check)
    images           one untrusted image in, one small clean JPEG out
    image_strips     a large PNG reduced in strips (bounded memory)
    image_streaming  the JPEG made while the body still arrives
    storage          keys, and storing, reading, presigning and deleting objects
"""
