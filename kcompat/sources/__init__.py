"""Where artifacts live: local paths, object storage, HTTP and model registries.

Belongs here: turning a path or URL (``s3://``, ``gs://``, ``az://``, ``http(s)://``,
``models:/NAME/VERSION``) into one seekable, read-only binary file object with ranged reads
underneath, listing a folder or prefix, and downloading a whole object into a private temporary
folder only when the guarded load needs it. Readers take the file object and never know whether
the bytes are local. Optional backends (fsspec, s3fs, mlflow) are imported only here, and only
when such a path is given.
"""
