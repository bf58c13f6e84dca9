"""Function packages streamed back to their owners."""

import os

import pecan
import webob
import webob.static


def package(project_id, function_id, md5, version=0):
    """The package as a streamed ZIP named ``<function id>[_<version>].zip``, whatever
    the Accept header says."""
    stream = pecan.request.storage.open(project_id, function_id, md5, version)
    name = f"{function_id}_{version}" if version else function_id
    return webob.Response(
        app_iter=webob.static.FileIter(stream),
        content_type="application/zip",
        content_length=os.fstat(stream.fileno()).st_size,
        content_disposition=f'attachment; filename="{name}.zip"',
    )
