"""Console entry points."""

import warnings

# oslo.messaging pulls in futurist, which imports eventlet when it is installed;
# qinling-lite uses threads only.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
