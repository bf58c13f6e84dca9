"""Function packages streamed back to their owners: from the package store, or from
Swift as the caller for a Swift function's current code (as Qinling)."""

import os

import pecan
import webob
import webob.static

from qinling_lite import exceptions
from qinling_lite.storage import swift


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


def swift_object(objects, where, function_id):
    """The Swift object at ``where`` streamed as ``<function id>.zip``, read as the
    caller (``objects``, None without Keystone)."""
    if objects is None:
        raise exceptions.InputError("Swift object not supported: this deployment has no Keystone.")
    try:
        chunks, length = objects.stream(where)
    except swift.SwiftError as e:
        raise exceptions.NotFound(f"The function's Swift object: {e.message}") from None
    return webob.Response(
        app_iter=chunks,
        content_type="application/zip",
        content_length=length,
        content_disposition=f'attachment; filename="{function_id}.zip"',
    )
