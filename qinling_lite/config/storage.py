"""Options of the function package store, [storage]."""

from oslo_config import cfg

group = cfg.OptGroup("storage", title="Function package storage")
opts = [
    cfg.StrOpt(
        "provider",
        default="file_system",
        help="Package store: the name of an entry point of qinling_lite.package_stores "
        "(file_system: a directory, file_system_dir).",
    ),
    cfg.StrOpt(
        "file_system_dir",
        default="$state_path/packages",
        help="Directory of the local package store.",
    ),
    cfg.IntOpt(
        "max_package_size",
        default=50 * 1024 * 1024,
        min=1,
        help="Largest accepted function package, in bytes (413 above it).",
    ),
    cfg.IntOpt(
        "max_package_uncompressed_size",
        default=256 * 1024 * 1024,
        min=1,
        max=1024 * 1024 * 1024,
        help="Largest total of the uncompressed sizes a function package declares for "
        "its files, in bytes (413 above it), checked on function create and update and "
        "on version create. The default holds a max_package_size package of code at a "
        "usual 5:1 compression. A worker extracts it for each function it loads: local "
        "workers into their work directory of [local_orchestrator] tmpfs_size. Runtime "
        "servers extract no more than 1 GiB, whatever this says.",
    ),
    cfg.IntOpt(
        "max_package_entries",
        default=10000,
        min=1,
        max=100000,
        help="Most entries (files and directories) in a function package (400 above "
        "it). Runtime servers extract no more than 100000, whatever this says.",
    ),
    cfg.IntOpt(
        "max_package_compression_ratio",
        default=100,
        min=1,
        help="Largest compression ratio (uncompressed to compressed size) of a function "
        "package's entries of 1 MiB or more (400 above it): such an entry is a ZIP bomb.",
    ),
]


def register_opts(conf):
    conf.register_opts(opts, group=group)
