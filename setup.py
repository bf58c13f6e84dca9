"""Metadata, requirements and entry points are in setup.cfg; the packages are here.

The alembic migrations keep their top-level ``migrations/`` directory and install as the
package ``qinling_lite.migrations`` (``qinling_lite.db.migration`` finds them with
``importlib.resources``), which setup.cfg's ``find:`` cannot express.
"""

import setuptools

MIGRATIONS = "qinling_lite.migrations"

setuptools.setup(
    packages=[
        *setuptools.find_packages(include=["qinling_lite", "qinling_lite.*"]),
        MIGRATIONS,
        *(f"{MIGRATIONS}.{name}" for name in setuptools.find_packages("migrations")),
    ],
    package_dir={MIGRATIONS: "migrations"},
)
